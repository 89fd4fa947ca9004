# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Kubernetes client's errors: the common kinds, carrying the HTTP code and the Status reason."""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors


class KubeError(errors.ApiError):
    """A Kubernetes API call failed; ``status`` is its HTTP code, ``reason`` the Status reason (NotFound...)."""

    def __init__(self, message, status=None, reason=None, **kwargs):
        super().__init__(message, status=status, reason=reason, **kwargs)
        self.reason = reason

    @property
    def label(self):
        # The message already names the method, the path and the HTTP code.
        return None


class NotFound(KubeError, errors.NotFound):
    """404: the object (or its namespace) does not exist."""


class Conflict(KubeError, errors.Conflict):
    """409: the object exists already, or an update lost a race."""


class AuthError(KubeError, errors.AuthError):
    """401/403: bad or missing credentials, or not allowed."""


class Transient(KubeError, errors.Transient):
    """Throttling, 5xx or a dropped connection; raised once the client's retries ran out."""


class InvalidInput(KubeError, errors.InvalidInput):
    """The module's input cannot be turned into a valid request (raised before any write)."""

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The GCP client's errors: the common kinds, carrying Google's HTTP code, canonical status and message."""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors


class GCPError(errors.ApiError):
    """A Google API call failed; ``code`` is the HTTP code, ``status`` the canonical status (NOT_FOUND...)
    and ``reason`` the ErrorInfo reason, when Google gave one."""

    def __init__(self, message, code=None, status=None, reason=None, operation=None, **details):
        super().__init__(message, code=code, status=status, operation=operation, reason=reason, **details)
        self.reason = reason

    @property
    def label(self):
        return self.status


class NotFound(GCPError, errors.NotFound):
    """The resource (or its parent) does not exist."""


class Conflict(GCPError, errors.Conflict):
    """The resource exists already, or a read-modify-write lost a race (ALREADY_EXISTS, ABORTED)."""


class FailedPrecondition(GCPError):
    """The resource is not in a state that allows the call (a catalog that still holds databases)."""


class PermissionDenied(GCPError, errors.AuthError):
    """The caller may not make the call, or the project it names does not exist."""


class ServiceDisabled(PermissionDenied):
    """The API is not enabled in the project; ``service`` names the API to enable."""

    def __init__(self, message, service=None, consumer=None, **kwargs):
        super().__init__(message, service=service, consumer=consumer, **kwargs)
        self.service = service
        self.consumer = consumer

    def __str__(self):
        where = f"{self.operation}: " if self.operation else ""
        return (f"{where}the {self.service} API is disabled in {self.consumer or 'the project'}; enable "
                f"{self.service} (for example with mlplatform.selfhosted.gcp_service). Google said: {self.message}")


class AuthError(GCPError, errors.AuthError):
    """The credentials are missing, invalid or were refused (401, token endpoint errors)."""


class Transient(GCPError, errors.Transient):
    """Throttling or unavailability (429, 5xx) that outlasted the bounded retries."""


class InvalidInput(GCPError, errors.InvalidInput):
    """The module's input cannot be turned into a valid request (raised before any write)."""

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS client's errors: the common kinds, carrying AWS's error code and message."""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors


class AWSError(errors.ApiError):
    """An AWS call failed; ``code`` is AWS's error code (NoSuchEntity, Throttling...)."""


class NotFound(AWSError, errors.NotFound):
    """The resource does not exist."""


class Conflict(AWSError, errors.Conflict):
    """The resource exists already or is in use."""


class AuthError(AWSError, errors.AuthError):
    """The credentials are missing, invalid or not allowed to make the call."""


class Transient(AWSError, errors.Transient):
    """Throttling or unavailability that outlasted the bounded retries."""


class InvalidInput(AWSError, errors.InvalidInput):
    """The module's input cannot be turned into a valid request (raised before any write)."""

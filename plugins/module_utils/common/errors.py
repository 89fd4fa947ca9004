# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one error hierarchy every API client raises; the module runner turns it into one failure payload.

Each external system subclasses ``ApiError`` once (``AWSError``, ``GCPError``, ``KeycloakError``,
``KubeError``) and pairs that class with the kinds below, so ``except NotFound`` catches a missing
resource of any system and ``except AWSError`` any failure of one system.
"""

from __future__ import annotations


class ApiError(Exception):
    """A call to an external system failed.

    code: the system's own error code (AWS ``NoSuchEntity``, Google's HTTP code); status: the HTTP status
    or canonical status; operation: what was being done; details: further fields of ``as_dict()``.
    done: changes already made before the failure, so the task reports them (and ``changed``);
    result: fields the failed task returns next to ``msg`` and ``error`` (what was planned, checked...).
    """

    def __init__(self, message, code=None, status=None, operation=None, **details):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.operation = operation
        self.details = details
        self.done = []
        self.result = {}

    @property
    def label(self):
        """What stands between the operation and the message in str(): the error's code, by default."""
        return self.code

    def __str__(self):
        where = f"{self.operation}: " if self.operation else ""
        label = f"{self.label}: " if self.label else ""
        return f"{where}{label}{self.message}"

    def as_dict(self):
        """The ``error`` field of a failed task: the same keys for every system."""
        payload = {"type": type(self).__name__, "code": self.code, "status": self.status,
                   "operation": self.operation, "message": self.message}
        payload.update((key, value) for key, value in self.details.items() if key not in payload)
        return payload


class NotFound(ApiError):
    """The resource (or its parent) does not exist."""


class Conflict(ApiError):
    """The resource exists already, is in use, or a read-modify-write lost a race."""


class AuthError(ApiError):
    """The credentials are missing, invalid, or not allowed to make the call."""


class Transient(ApiError):
    """Throttling or unavailability; retried by ``retry.Retry``, raised once the retries run out.

    retry_after: the delay in seconds the server asked for, when it named one.
    """

    def __init__(self, message, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidInput(ApiError):
    """The module's input cannot be turned into a valid request (raised before any write)."""


class MissingDependency(ApiError):
    """A Python library the module needs is not installed on the host the module runs on.

    traceback: the import error's traceback, passed to fail_json as ``exception``.
    """

    def __init__(self, message, traceback=None):
        super().__init__(message)
        self.traceback = traceback

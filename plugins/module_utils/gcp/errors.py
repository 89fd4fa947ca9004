# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Typed errors the GCP client raises; modules turn them into fail_json with Google's status and message."""

from __future__ import annotations


class GCPError(Exception):
    """A Google API call failed; carries the HTTP code, the canonical status (NOT_FOUND...) and Google's message."""

    def __init__(self, message, code=None, status=None, reason=None, operation=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.reason = reason
        self.operation = operation

    def __str__(self):
        where = f"{self.operation}: " if self.operation else ""
        status = f"{self.status}: " if self.status else ""
        return f"{where}{status}{self.message}"

    def as_dict(self):
        return {"code": self.code, "status": self.status, "reason": self.reason, "message": self.message,
                "operation": self.operation}


class NotFound(GCPError):
    """The resource (or its parent) does not exist."""


class Conflict(GCPError):
    """The resource exists already, or a read-modify-write lost a race (ALREADY_EXISTS, ABORTED)."""


class FailedPrecondition(GCPError):
    """The resource is not in a state that allows the call (a catalog that still holds databases)."""


class PermissionDenied(GCPError):
    """The caller may not make the call, or the project it names does not exist."""


class ServiceDisabled(PermissionDenied):
    """The API is not enabled in the project; `service` names the API to enable."""

    def __init__(self, message, service=None, consumer=None, **kwargs):
        super().__init__(message, **kwargs)
        self.service = service
        self.consumer = consumer

    def __str__(self):
        where = f"{self.operation}: " if self.operation else ""
        return (f"{where}the {self.service} API is disabled in {self.consumer or 'the project'}; enable "
                f"{self.service} (for example with mlplatform.selfhosted.gcp_service). Google said: {self.message}")


class AuthError(GCPError):
    """The credentials are missing, invalid or were refused (401, token endpoint errors)."""


class Transient(GCPError):
    """Throttling or unavailability (429, 5xx) that outlasted the bounded retries."""


class InvalidInput(GCPError):
    """The module's input cannot be turned into a valid request (raised before any write)."""

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Typed errors the Keycloak client raises; modules turn them into fail_json with Keycloak's message."""

from __future__ import annotations


class KeycloakError(Exception):
    """A Keycloak call failed; carries the HTTP status and Keycloak's message."""

    def __init__(self, message, status=None, operation=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.operation = operation

    def __str__(self):
        where = f"{self.operation}: " if self.operation else ""
        status = f"HTTP {self.status}: " if self.status else ""
        return f"{where}{status}{self.message}"

    def as_dict(self):
        return {"type": type(self).__name__, "status": self.status, "operation": self.operation, "message": self.message}


class NotFound(KeycloakError):
    """The realm or entity does not exist."""


class Conflict(KeycloakError):
    """The entity exists already."""


class AuthError(KeycloakError):
    """The credentials are wrong, or not allowed to make the call."""


class Unreachable(KeycloakError):
    """Keycloak could not be reached at all (connection refused, DNS, TLS)."""


class Transient(KeycloakError):
    """Throttling or server errors that outlasted the bounded retries."""


class InvalidInput(KeycloakError):
    """The module's input cannot be turned into a valid request (raised before any write)."""

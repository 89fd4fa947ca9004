# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Typed errors the Keycloak client raises: common.errors' kinds, labelled with the HTTP status."""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors


class KeycloakError(errors.ApiError):
    """A Keycloak call failed; carries the HTTP status and Keycloak's message."""

    @property
    def label(self):
        return f"HTTP {self.status}" if self.status else None


class NotFound(KeycloakError, errors.NotFound):
    """The realm or entity does not exist."""


class Conflict(KeycloakError, errors.Conflict):
    """The entity exists already."""


class AuthError(KeycloakError, errors.AuthError):
    """The credentials are wrong, or not allowed to make the call."""


class Unreachable(KeycloakError):
    """Keycloak could not be reached at all (connection refused, DNS, TLS); not retried."""


class Transient(KeycloakError, errors.Transient):
    """Throttling or server errors that outlasted the bounded retries."""


class InvalidInput(KeycloakError, errors.InvalidInput):
    """The module's input cannot be turned into a valid request (raised before any write)."""

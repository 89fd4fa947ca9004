# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Typed errors the AWS client raises; modules turn them into fail_json with AWS's code and message."""

from __future__ import annotations


class AWSError(Exception):
    """An AWS call failed; carries AWS's error code and message."""

    def __init__(self, message, code=None, operation=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.operation = operation

    def __str__(self):
        where = f"{self.operation}: " if self.operation else ""
        code = f"{self.code}: " if self.code else ""
        return f"{where}{code}{self.message}"


class NotFound(AWSError):
    """The resource does not exist."""


class Conflict(AWSError):
    """The resource exists already or is in use."""


class AuthError(AWSError):
    """The credentials are missing, invalid or not allowed to make the call."""


class Transient(AWSError):
    """Throttling or unavailability that outlasted the bounded retries."""


class InvalidInput(AWSError):
    """The module's input cannot be turned into a valid request (raised before any write)."""

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A small Keycloak Admin REST client on ansible.module_utils.urls.open_url (no extra dependency).

It gets an admin token (password grant, client credentials or a given token), re-authenticates once
when a token expires mid-task (401), retries 429 and 5xx through common.retry (bounded), and raises
the typed errors of errors.py; it never fails a module itself. Credentials never reach a message.
"""

from __future__ import annotations

import json
import time
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

from ansible.module_utils.urls import open_url

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.retry import Retry
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.errors import (
    AuthError,
    Conflict,
    InvalidInput,
    KeycloakError,
    NotFound,
    Transient,
    Unreachable,
)

RETRIED_STATUSES = frozenset((429, 500, 502, 503, 504))
MAX_ATTEMPTS = 5
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


def _message(body, fallback):
    """Keycloak's own words from an error body ({"errorMessage"}, {"error_description"}, {"error"})."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body.strip()[:300] or fallback
    if isinstance(payload, dict):
        for key in ("errorMessage", "error_description", "error"):
            if payload.get(key):
                return str(payload[key])
    return fallback


def error_for_status(status, message, operation):
    if status in (401, 403):
        return AuthError(message, status=status, operation=operation)
    if status == 404:
        return NotFound(message, status=status, operation=operation)
    if status == 409:
        return Conflict(message, status=status, operation=operation)
    if status in RETRIED_STATUSES:
        return Transient(message, status=status, operation=operation)
    return KeycloakError(message, status=status, operation=operation)


def path(*segments):
    """An Admin API path from segments, each URL-quoted (realm, group and client names may hold anything)."""
    return "/".join(quote(str(segment), safe="") for segment in segments)


class KeycloakClient:
    """Admin REST calls against one Keycloak; `base_url` is what community.general calls auth_keycloak_url."""

    def __init__(self, base_url, auth_realm="master", client_id="admin-cli", client_secret=None, username=None,
                 password=None, token=None, validate_certs=True, timeout=10, http_agent="Ansible", sleep=time.sleep):
        if not base_url:
            raise InvalidInput("auth_keycloak_url is required")
        if not token and not (username and password) and not client_secret:
            raise InvalidInput("set token, auth_username and auth_password, or auth_client_secret")
        self.base_url = base_url.rstrip("/")
        self.auth_realm = auth_realm or "master"
        self._client_id = client_id or "admin-cli"
        self._client_secret = client_secret
        self._username = username
        self._password = password
        self._token = token
        self._can_reauthenticate = bool((username and password) or client_secret)
        self._validate_certs = validate_certs
        self._timeout = timeout
        self._http_agent = http_agent
        self._retry = Retry(MAX_ATTEMPTS, base=BACKOFF_BASE, cap=BACKOFF_CAP, sleep=sleep)
        self.request_count = 0

    @classmethod
    def from_module_params(cls, params):
        return cls(params["auth_keycloak_url"], auth_realm=params.get("auth_realm"),
                   client_id=params.get("auth_client_id"), client_secret=params.get("auth_client_secret"),
                   username=params.get("auth_username"), password=params.get("auth_password"),
                   token=params.get("token"), validate_certs=params.get("validate_certs", True),
                   timeout=params.get("connection_timeout") or 10, http_agent=params.get("http_agent") or "Ansible")

    # --- transport

    def _open(self, method, url, data=None, headers=None, operation=None):
        """(status, headers, body text) of one HTTP exchange; HTTP errors become typed errors."""
        self.request_count += 1
        try:
            response = open_url(url, data=data, headers=headers or {}, method=method, validate_certs=self._validate_certs,
                                timeout=self._timeout, http_agent=self._http_agent, follow_redirects="none")
            return response.status, response.headers, response.read().decode("utf-8")
        except HTTPError as error:
            body = error.read().decode("utf-8", "replace") if error.fp else ""
            raise error_for_status(error.code, _message(body, error.reason or f"HTTP {error.code}"), operation) from None
        except (URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise Unreachable(f"cannot reach Keycloak at {self.base_url}: {reason}", operation=operation) from None

    # --- authentication

    def token_url(self, realm):
        return f"{self.base_url}/realms/{path(realm)}/protocol/openid-connect/token"

    def authenticate(self):
        """Get a fresh admin access token; wrong credentials raise AuthError naming the user, never the password."""
        form = {"client_id": self._client_id}
        if self._client_secret:
            form["client_secret"] = self._client_secret
        if self._username and self._password:
            form.update(grant_type="password", username=self._username, password=self._password)
            who = f"user {self._username}"
        else:
            form["grant_type"] = "client_credentials"
            who = f"client {self._client_id}"
        operation = f"POST /realms/{self.auth_realm}/protocol/openid-connect/token"
        try:
            _status, _headers, body = self._retry.call(lambda: self._open(
                "POST", self.token_url(self.auth_realm), data=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"}, operation=operation))
        except (Unreachable, Transient):
            raise
        except KeycloakError as error:
            raise AuthError(f"Keycloak refused the credentials of {who} in realm {self.auth_realm}: {error.message}",
                            status=error.status, operation=operation) from None
        try:
            self._token = json.loads(body)["access_token"]
        except (ValueError, KeyError):
            raise AuthError("the token endpoint answered without an access token", operation=operation) from None
        return self._token

    # --- Admin API

    def request(self, method, api_path, body=None, query=None):
        """One Admin API call under /admin/realms; returns (decoded JSON or None, response headers)."""
        if not self._token:
            self.authenticate()
        url = f"{self.base_url}/admin/realms/{api_path}".rstrip("/")
        if query:
            url += "?" + urlencode(query)
        data = None if body is None else json.dumps(body)
        operation = f"{method} /admin/realms/{api_path}"

        def send():
            headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            return self._open(method, url, data=data, headers=headers, operation=operation)

        try:
            _status, headers, text = self._retry.call(send)
        except AuthError as error:
            # An expired token gets 401: authenticate again, once, and repeat the call.
            if error.status != 401 or not self._can_reauthenticate:
                raise
            self.authenticate()
            _status, headers, text = self._retry.call(send)
        return (json.loads(text) if text.strip() else None), headers

    def get(self, api_path, query=None):
        return self.request("GET", api_path, query=query)[0]

    def create(self, api_path, body):
        """POST a new entity; returns its id, from the Location header Keycloak answers 201 with."""
        _payload, headers = self.request("POST", api_path, body=body)
        location = headers.get("Location") or ""
        return location.rstrip("/").rsplit("/", 1)[-1] or None

    def put(self, api_path, body=None):
        return self.request("PUT", api_path, body=body)[0]

    def post(self, api_path, body=None):
        return self.request("POST", api_path, body=body)[0]

    def delete(self, api_path):
        return self.request("DELETE", api_path)[0]

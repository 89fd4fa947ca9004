# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""An HTTP client for Google's REST APIs on google-auth's AuthorizedSession.

It retries throttling and server errors (429, 5xx) with jittered backoff, bounded, and raises the
typed errors of errors.py; it never fails a module itself. One client talks to one API, rooted at
the API's endpoint (Google's, or an emulator's through `api_endpoint`), the way googleapiclient's
`client_options={"api_endpoint": ...}` roots it: request paths are relative to it (`v1/projects/...`).
"""

from __future__ import annotations

import json
import time
import traceback

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.errors import (
    AuthError,
    Conflict,
    FailedPrecondition,
    GCPError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceDisabled,
    Transient,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.retry import Retry

try:
    import google.auth
    import google.auth.exceptions
    import google.auth.impersonated_credentials
    import google.oauth2.credentials
    import google.oauth2.service_account
    import requests
    from google.auth.transport.requests import AuthorizedSession
except ImportError:
    HAS_GOOGLE_AUTH = False
    GOOGLE_AUTH_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_GOOGLE_AUTH = True
    GOOGLE_AUTH_IMPORT_ERROR = None

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
USER_AGENT = "mlplatform.selfhosted"
RETRIED_CODES = frozenset((429, 500, 502, 503, 504))
MAX_ATTEMPTS = 6
BACKOFF_BASE = 0.5
BACKOFF_CAP = 16.0
TIMEOUT = 60
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


# --- credentials


def _key_info(service_account_file, service_account_contents):
    if service_account_contents:
        if isinstance(service_account_contents, dict):
            return service_account_contents
        try:
            return json.loads(service_account_contents)
        except ValueError:
            raise InvalidInput("service_account_contents is not a JSON service-account key") from None
    if not service_account_file:
        raise InvalidInput("auth_kind=serviceaccount needs service_account_file or service_account_contents")
    try:
        with open(service_account_file, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise InvalidInput(f"cannot read the service-account key file {service_account_file}: {error}") from None


def build_credentials(auth_kind="application", service_account_file=None, service_account_contents=None,
                      access_token=None, impersonate_service_account=None, scopes=None):
    """(credentials, project the credentials name or None) for one of google.cloud's auth kinds."""
    scopes = list(scopes or [CLOUD_PLATFORM_SCOPE])
    project = None
    if auth_kind == "serviceaccount":
        info = _key_info(service_account_file, service_account_contents)
        try:
            credentials = google.oauth2.service_account.Credentials.from_service_account_info(info, scopes=scopes)
        except (ValueError, KeyError, google.auth.exceptions.DefaultCredentialsError) as error:
            raise InvalidInput(f"the service-account key is not usable: {error}") from None
        project = info.get("project_id")
    elif auth_kind == "accesstoken":
        if not access_token:
            raise InvalidInput("auth_kind=accesstoken needs access_token")
        credentials = google.oauth2.credentials.Credentials(access_token, scopes=scopes)
    elif auth_kind == "application":
        try:
            credentials, project = google.auth.default(scopes=scopes)
        except google.auth.exceptions.DefaultCredentialsError as error:
            raise AuthError(f"no application default credentials: {error}") from None
    else:
        raise InvalidInput(f"unknown auth_kind {auth_kind!r}")
    if impersonate_service_account:
        credentials = google.auth.impersonated_credentials.Credentials(
            source_credentials=credentials, target_principal=impersonate_service_account, target_scopes=scopes)
    return credentials, project


# --- errors


def error_from_response(response, operation):
    """The typed error for a non-2xx answer, from Google's google.rpc.Status body where there is one."""
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        # OAuth-style {"error": "invalid_grant", "error_description": ...} or no body at all.
        text = (payload.get("error_description") or error) if isinstance(payload, dict) else None
        error = {"message": text or response.text.strip() or response.reason or f"HTTP {response.status_code}"}
    code = response.status_code
    status = error.get("status")
    message = error.get("message") or f"HTTP {code}"
    info = next((detail for detail in error.get("details") or []
                 if isinstance(detail, dict) and detail.get("@type") == ERROR_INFO_TYPE), {})
    reason = info.get("reason") or next((item.get("reason") for item in error.get("errors") or []
                                         if isinstance(item, dict)), None)
    fields = {"code": code, "status": status, "reason": reason, "operation": operation}
    if code == 403 and reason in ("SERVICE_DISABLED", "accessNotConfigured"):
        metadata = info.get("metadata") or {}
        return ServiceDisabled(message, service=metadata.get("service"), consumer=metadata.get("consumer"), **fields)
    kind = GCPError
    if code == 401:
        kind = AuthError
    elif code == 403:
        kind = PermissionDenied
    elif code == 404:
        kind = NotFound
    elif code == 409:
        kind = Conflict
    elif code == 412 or status == "FAILED_PRECONDITION":
        kind = FailedPrecondition
    elif code in RETRIED_CODES:
        kind = Transient
    return kind(message, **fields)


# --- the client


class GCPClient:
    """Calls to one Google API through an authorised session; retries are explicit and bounded."""

    def __init__(self, credentials, endpoint, validate_certs=True, sleep=time.sleep, session=None, project=None):
        self.endpoint = endpoint.rstrip("/") + "/"
        self.project = project
        self._session = session or AuthorizedSession(credentials)
        self._session.verify = validate_certs
        self._session.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep

    @classmethod
    def from_module_params(cls, params, default_endpoint):
        """The client of a module's connection options; its project is the option's, or the one the key names."""
        credentials, key_project = build_credentials(
            auth_kind=params.get("auth_kind") or "application",
            service_account_file=params.get("service_account_file"),
            service_account_contents=params.get("service_account_contents"),
            access_token=params.get("access_token"),
            impersonate_service_account=params.get("impersonate_service_account"),
            scopes=params.get("scopes"))
        return cls(credentials, params.get("api_endpoint") or default_endpoint,
                   validate_certs=params.get("validate_certs", True), project=params.get("project") or key_project)

    def _send_once(self, method, path, params, body):
        operation = f"{method} {path}"
        try:
            response = self._session.request(method, self.endpoint + path, params=params, json=body, timeout=TIMEOUT)
        except google.auth.exceptions.RefreshError as error:
            # google-auth has already retried a throttled or failing token endpoint; a retryable failure is still
            # transient for the bounded retry around this call, a refusal of the credentials is not.
            kind = Transient if getattr(error, "retryable", False) else AuthError
            raise kind(f"could not get an access token: {error}", operation=operation) from None
        except google.auth.exceptions.TransportError as error:
            raise AuthError(f"could not reach the token endpoint: {error}", operation=operation) from None
        except requests.exceptions.RequestException as error:
            raise GCPError(f"cannot reach {self.endpoint}: {error}", operation=operation) from None
        if response.status_code >= 400:
            raise error_from_response(response, operation)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise GCPError(f"the answer is not JSON: {response.text[:200]}", code=response.status_code,
                           operation=operation) from None

    def request(self, method, path, params=None, body=None):
        """One REST call; 429 and 5xx are retried with full-jitter exponential backoff, MAX_ATTEMPTS in all."""
        retry = Retry(MAX_ATTEMPTS, base=BACKOFF_BASE, cap=BACKOFF_CAP, sleep=self._sleep)
        return retry.call(lambda: self._send_once(method, path, params, body))

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def get_or_none(self, path, params=None):
        """The resource, or None when it does not exist."""
        try:
            return self.get(path, params=params)
        except NotFound:
            return None

    def list_all(self, path, key, params=None):
        """Every item under `key` across the pages of a list call (pageToken / nextPageToken)."""
        items = []
        query = dict(params or {})
        while True:
            page = self.get(path, params=query)
            items.extend(page.get(key) or [])
            if not page.get("nextPageToken"):
                return items
            query["pageToken"] = page["nextPageToken"]

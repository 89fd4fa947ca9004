"""Browser login: the authorization code flow with a minimal Keycloak-like login page.

GET `.../protocol/openid-connect/auth` answers an HTML form `kc-form-login` (fields `username`,
`password`) posting to `.../login-actions/authenticate?session_code=...`, as Keycloak's login
page does, so a scripted browser (requests + an HTML form parser) can sign in. A good password
redirects (302) to `redirect_uri` with `code`, `state`, `session_state` and `iss`; the code is
exchanged at the token endpoint (`grant_type=authorization_code`, PKCE S256/plain checked).
Authorization sessions and codes live in memory only, as short-lived as Keycloak's.
"""

import base64
import hashlib
import hmac
import html
import secrets
import time
from urllib.parse import urlencode, urlsplit

from tests.sandbox.keycloak.oidc import OAuthError, issuer
from tests.sandbox.keycloak.store import check_password

AUTH_SESSION_SECONDS = 1800
CODE_SECONDS = 60


class LoginPageError(Exception):
    """An error Keycloak shows as a page rather than redirecting back to the client."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def redirect_allowed(client, redirect_uri):
    """Keycloak's redirect URI check: exact match, or a pattern ending in `*` matching a prefix."""
    if not redirect_uri:
        return False
    for allowed in client.get("redirectUris", []):
        if allowed == "*":
            return True
        if allowed.endswith("*") and redirect_uri.startswith(allowed[:-1]):
            return True
        if allowed == redirect_uri:
            return True
    return False


def _with_query(url, params):
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode(params)}"


def page(title, body):
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>"
            f"<body><div id=\"kc-content\">{body}</div></body></html>")


class LoginFlow:
    """Authorization requests, the login form, codes and their exchange."""

    def __init__(self, store, tokens):
        self.store = store
        self.tokens = tokens
        self.auth_sessions = {}
        self.codes = {}

    def _expire(self):
        now = time.time()
        self.auth_sessions = {k: v for k, v in self.auth_sessions.items() if v["expires"] > now}
        self.codes = {k: v for k, v in self.codes.items() if v["expires"] > now}

    def authorize(self, base, realm, query):
        """GET .../auth -> (status, html, headers)."""
        self._expire()
        client = self.store.find_client(realm, query.get("client_id") or "")
        if client is None or not client.get("enabled", True):
            raise LoginPageError(400, "Client not found.")
        redirect_uri = query.get("redirect_uri")
        if not redirect_allowed(client, redirect_uri):
            raise LoginPageError(400, "Invalid parameter: redirect_uri")
        state = query.get("state")
        if query.get("response_type") != "code":
            return self._redirect_error(redirect_uri, "unsupported_response_type", state, base, realm)
        if not client.get("standardFlowEnabled", True) or client.get("bearerOnly"):
            return self._redirect_error(redirect_uri, "unauthorized_client", state, base, realm)
        method = query.get("code_challenge_method") or ("plain" if query.get("code_challenge") else None)
        if method not in (None, "plain", "S256"):
            return self._redirect_error(redirect_uri, "invalid_request", state, base, realm)
        session_code = secrets.token_urlsafe(24)
        self.auth_sessions[session_code] = {
            "realm": realm["rep"]["realm"], "client": client["id"], "redirect_uri": redirect_uri, "state": state,
            "scope": query.get("scope") or "", "nonce": query.get("nonce"), "code_challenge": query.get("code_challenge"),
            "code_challenge_method": method, "expires": time.time() + AUTH_SESSION_SECONDS}
        return 200, self._form(base, realm, session_code, client, None), {}

    @staticmethod
    def _redirect_error(redirect_uri, error, state, base, realm):
        params = {"error": error}
        if state:
            params["state"] = state
        params["iss"] = issuer(base, realm["rep"]["realm"])
        return 302, None, {"Location": _with_query(redirect_uri, params)}

    @staticmethod
    def _form(base, realm, session_code, client, error):
        realm_name = realm["rep"]["realm"]
        action = f"{base}/realms/{realm_name}/login-actions/authenticate?" + urlencode(
            {"session_code": session_code, "client_id": client["clientId"]})
        alert = f"<span id=\"input-error\" class=\"kc-feedback-text\">{html.escape(error)}</span>" if error else ""
        return page(f"Sign in to {realm_name}", (
            f"<h1 id=\"kc-page-title\">Sign in to your account</h1>{alert}"
            f"<form id=\"kc-form-login\" action=\"{html.escape(action)}\" method=\"post\">"
            "<input id=\"username\" name=\"username\" type=\"text\" autofocus>"
            "<input id=\"password\" name=\"password\" type=\"password\">"
            "<input type=\"hidden\" id=\"id-hidden-input\" name=\"credentialId\">"
            "<input id=\"kc-login\" name=\"login\" type=\"submit\" value=\"Sign In\"></form>"))

    def authenticate(self, base, realm, query, form):
        """POST .../login-actions/authenticate -> (status, html, headers)."""
        self._expire()
        auth = self.auth_sessions.get(query.get("session_code") or "")
        if auth is None or auth["realm"] != realm["rep"]["realm"]:
            raise LoginPageError(400, "Your login attempt timed out. Login will start from the beginning.")
        client = realm["clients"].get(auth["client"])
        if client is None:
            raise LoginPageError(400, "Client not found.")
        username = (form.get("username") or "").lower()
        user = self.store.find_user(realm, username)
        if user is None and "@" in username:
            user = next((u for u in realm["users"].values() if u.get("email") == username), None)
        if user is None or user.get("_service_account_client") or not check_password(user.get("_password"), form.get("password") or ""):
            return 200, self._form(base, realm, query["session_code"], client, "Invalid username or password."), {}
        if not user.get("enabled"):
            return 200, self._form(base, realm, query["session_code"], client, "Account is disabled, contact your administrator."), {}
        if user.get("requiredActions"):
            return 200, self._form(base, realm, query["session_code"], client, "Account is not fully set up"), {}
        del self.auth_sessions[query["session_code"]]
        sid = self.store.open_session(realm["rep"]["realm"], user["id"], client["id"])
        code = secrets.token_urlsafe(32)
        self.codes[code] = dict(auth, user=user["id"], sid=sid, expires=time.time() + CODE_SECONDS)
        params = {"state": auth["state"]} if auth["state"] else {}
        params.update({"session_state": sid, "iss": issuer(base, realm["rep"]["realm"]), "code": code})
        return 302, None, {"Location": _with_query(auth["redirect_uri"], params)}

    def exchange(self, base, realm, client, form):
        """The authorization_code grant of the token endpoint."""
        self._expire()
        grant = self.codes.pop(form.get("code") or "", None)
        if grant is None or grant["realm"] != realm["rep"]["realm"]:
            raise OAuthError(400, "invalid_grant", "Code not valid")
        if grant["client"] != client["id"]:
            raise OAuthError(400, "invalid_grant", "Auth error")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            raise OAuthError(400, "invalid_grant", "Incorrect redirect_uri")
        if grant["code_challenge"]:
            verifier = form.get("code_verifier") or ""
            if not verifier:
                raise OAuthError(400, "invalid_grant", "PKCE code verifier not specified")
            if grant["code_challenge_method"] == "S256":
                computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")
            else:
                computed = verifier
            if not hmac.compare_digest(computed, grant["code_challenge"]):
                raise OAuthError(400, "invalid_grant", "PKCE verification failed: Code mismatch")
        user = realm["users"].get(grant["user"])
        if user is None or grant["sid"] not in self.store.sessions:
            raise OAuthError(400, "invalid_grant", "Session not active")
        return self.tokens.issue(base, realm, client, user, grant["sid"], grant["scope"], nonce=grant["nonce"])

    def end_session(self, base, realm, query):
        """GET .../logout (RP-initiated): end the session named by id_token_hint, then redirect or say so."""
        del base
        claims = None
        hint = query.get("id_token_hint")
        if hint:
            claims = self.tokens.verified(realm, hint)
            if claims and self.store.sessions.pop(claims.get("sid"), None) is not None:
                self.store.mark_dirty()
        target = query.get("post_logout_redirect_uri")
        if target:
            client = self.store.find_client(realm, query.get("client_id") or "") or (
                self.store.find_client(realm, claims.get("azp")) if hint and claims else None)
            allowed = client is not None and (redirect_allowed(client, target) or target in client.get("attributes", {}).get(
                "post.logout.redirect.uris", "").split("##"))
            if not allowed:
                raise LoginPageError(400, "Invalid redirect uri")
            params = {"state": query["state"]} if query.get("state") else {}
            return 302, None, {"Location": _with_query(target, params) if params else target}
        return 200, page("Logging out", "<h1 id=\"kc-page-title\">You are logged out</h1>"), {}

"""The OpenID Connect side of a realm: discovery, JWKS, token endpoint, userinfo, logout, introspection.

Tokens are RS256 JWTs signed with the realm's key. Claims come from the protocol mappers of the
client and of its client scopes (its default scopes plus the optional scopes requested in
`scope`), as in Keycloak, for the mapper types the sandbox needs.

Admin model (coarse, from roles as in Keycloak): the Admin API accepts access tokens of
- master-realm users or service accounts holding the master realm role `admin` (the bootstrap
  user from config `admin_username` has it), and master users named in config `admin_users`:
  every realm;
- users or service accounts of realm X holding any `realm-management` client role of X (in
  master: any role of the `<X>-realm` client): realm X;
- service accounts named in config `admin_service_accounts` (`clientId` = a master client, all
  realms; `realm/clientId` = that realm), a shortcut that needs no role mapping.
Any other valid token gets 403.
"""

import base64
import binascii
import hashlib
import time
import uuid
from urllib.parse import unquote

import jwt

from tests.sandbox.keycloak import keys
from tests.sandbox.keycloak.store import check_password

REFRESH_TYPE = "Refresh"


class OAuthError(Exception):
    """An OAuth error response: status, error code, description."""

    def __init__(self, status, error, description):
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.body = {"error": error, "error_description": description}


def issuer(base, realm_name):
    return f"{base}/realms/{realm_name}"


def well_known(base, realm_name):
    iss = issuer(base, realm_name)
    oidc = f"{iss}/protocol/openid-connect"
    return {
        "issuer": iss,
        "authorization_endpoint": f"{oidc}/auth",
        "token_endpoint": f"{oidc}/token",
        "introspection_endpoint": f"{oidc}/token/introspect",
        "userinfo_endpoint": f"{oidc}/userinfo",
        "end_session_endpoint": f"{oidc}/logout",
        "frontchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "jwks_uri": f"{oidc}/certs",
        "check_session_iframe": f"{oidc}/login-status-iframe.html",
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password", "client_credentials"],
        "acr_values_supported": ["0", "1"],
        "response_types_supported": ["code", "none", "id_token", "token", "id_token token", "code id_token", "code token",
                                     "code id_token token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_signing_alg_values_supported": ["RS256", "none"],
        "request_object_signing_alg_values_supported": ["RS256", "none"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "registration_endpoint": f"{iss}/clients-registrations/openid-connect",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name", "family_name", "preferred_username",
                             "email", "acr", "groups"],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "scopes_supported": ["openid", "profile", "email", "roles", "web-origins", "acr", "basic", "offline_access",
                             "address", "phone", "microprofile-jwt"],
        "request_parameter_supported": True,
        "request_uri_parameter_supported": True,
        "require_request_uri_registration": True,
        "code_challenge_methods_supported": ["plain", "S256"],
        "tls_client_certificate_bound_access_tokens": True,
        "revocation_endpoint": f"{oidc}/revoke",
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "authorization_response_iss_parameter_supported": True,
    }


def realm_info(base, realm):
    """GET /realms/{realm}: the realm's public key, as Keycloak publishes it."""
    name = realm["rep"]["realm"]
    pem = keys.public_key_pem(realm["key"])
    body = "".join(line for line in pem.splitlines() if "-----" not in line)
    return {"realm": name, "public_key": body, "token-service": f"{issuer(base, name)}/protocol/openid-connect",
            "account-service": f"{issuer(base, name)}/account", "tokens-not-before": 0}


def _truthy(config, key):
    return str(config.get(key, "false")).lower() == "true"


def _set_claim(claims, name, value):
    """Set a claim; dots in Keycloak claim names nest objects (`realm_access.roles`)."""
    parts = [p.replace("\\.", ".") for p in name.replace("\\.", "\0").split(".")]
    parts = [p.replace("\0", ".") for p in parts]
    target = claims
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _typed(value, json_type):
    if json_type == "boolean":
        return str(value).lower() == "true" if not isinstance(value, bool) else value
    if json_type in ("long", "int"):
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    return value


class TokenService:
    """Issues and checks tokens for all realms of a store."""

    def __init__(self, store, config):
        self.store = store
        self.config = config
        # The browser login flow (login.LoginFlow) redeems authorization codes; it registers itself here.
        self.code_exchange = None

    # ------------------------------------------------------------------ helpers
    @property
    def lifespan(self):
        return int(self.config.get("token_lifespan_seconds", 300))

    @property
    def refresh_lifespan(self):
        return int(self.config.get("refresh_token_lifespan_seconds", 1800))

    def _client_auth(self, realm, form, headers):
        """Authenticate the client of a token request (client_secret_post or client_secret_basic)."""
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        auth = headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as error:
                raise OAuthError(401, "invalid_client", "Invalid client or Invalid client credentials") from error
            basic_id, dummy, basic_secret = decoded.partition(":")
            client_id, secret = unquote(basic_id), unquote(basic_secret)
        if not client_id:
            raise OAuthError(401, "invalid_client", "Missing parameter: client_id")
        client = self.store.find_client(realm, client_id)
        if client is None:
            raise OAuthError(401, "invalid_client", "Invalid client or Invalid client credentials")
        if not client.get("enabled", True):
            raise OAuthError(401, "invalid_client", "Invalid client or Invalid client credentials")
        if client.get("bearerOnly"):
            raise OAuthError(400, "invalid_client", "Bearer-only not allowed")
        if not client.get("publicClient"):
            if not secret:
                raise OAuthError(401, "unauthorized_client", "Invalid client or Invalid client credentials")
            if secret != client.get("secret"):
                raise OAuthError(401, "unauthorized_client", "Invalid client or Invalid client credentials")
        return client

    def _scopes(self, realm, client, requested):
        """Client scopes in effect: the client's default scopes plus requested optional ones."""
        requested = set((requested or "").split())
        chosen = [realm["client_scopes"][s] for s in client.get("_default_scopes", []) if s in realm["client_scopes"]]
        chosen += [realm["client_scopes"][s] for s in client.get("_optional_scopes", [])
                   if s in realm["client_scopes"] and realm["client_scopes"][s]["name"] in requested]
        return chosen

    @staticmethod
    def _scope_string(scopes, requested):
        names = ["openid"] if "openid" in (requested or "").split() else []
        names += [s["name"] for s in scopes if s.get("attributes", {}).get("include.in.token.scope", "true") == "true"]
        return " ".join(names)

    def _user_value(self, realm, user, attribute):
        del realm
        if attribute in ("username", "email", "firstName", "lastName", "emailVerified", "enabled", "id"):
            return user.get(attribute)
        values = user.get("attributes", {}).get(attribute)
        if values:
            return values[0]
        return None

    def _group_names(self, realm, user, full_path):
        names = []
        for group_id in user.get("_groups", []):
            group = realm["groups"].get(group_id)
            if group:
                names.append(self.store.group_path(realm, group) if full_path else group["name"])
        return names

    def _apply_mappers(self, realm, client, user, scopes, token_kind, session):
        """Claims contributed by protocol mappers for one token kind: access, id or userinfo."""
        flag = {"access": "access.token.claim", "id": "id.token.claim", "userinfo": "userinfo.token.claim"}[token_kind]
        claims = {}
        audiences = []
        mappers = [m for s in scopes for m in s.get("protocolMappers", [])] + list(client.get("protocolMappers", []))
        for mapper in mappers:
            config = mapper.get("config", {})
            kind = mapper.get("protocolMapper")
            if kind == "oidc-audience-mapper":
                if token_kind == "access" and _truthy(config, "access.token.claim"):
                    audiences += [a for a in (config.get("included.client.audience"), config.get("included.custom.audience")) if a]
                continue
            if kind == "oidc-sub-mapper":
                if token_kind == "access" and _truthy(config, "access.token.claim"):
                    claims["sub"] = user["id"]
                continue
            if kind == "oidc-allowed-origins-mapper":
                if token_kind == "access" and client.get("webOrigins"):
                    claims["allowed-origins"] = list(client["webOrigins"])
                continue
            if not _truthy(config, flag):
                continue
            if kind in ("oidc-usermodel-property-mapper", "oidc-usermodel-attribute-mapper"):
                value = self._user_value(realm, user, config.get("user.attribute", ""))
                if value is not None and config.get("claim.name"):
                    _set_claim(claims, config["claim.name"], _typed(value, config.get("jsonType.label")))
            elif kind == "oidc-full-name-mapper":
                full = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
                if full:
                    claims["name"] = full
            elif kind == "oidc-group-membership-mapper":
                if config.get("claim.name"):
                    _set_claim(claims, config["claim.name"], self._group_names(realm, user, _truthy(config, "full.path")))
            elif kind == "oidc-hardcoded-claim-mapper":
                if config.get("claim.name"):
                    _set_claim(claims, config["claim.name"], _typed(config.get("claim.value"), config.get("jsonType.label")))
            elif kind == "oidc-usermodel-realm-role-mapper":
                if config.get("claim.name"):
                    roles = sorted(r["name"] for r in self.store.effective_roles(realm, user) if not r.get("_client"))
                    _set_claim(claims, config["claim.name"], roles)
            elif kind == "oidc-usermodel-client-role-mapper":
                access = {}
                for role in self.store.effective_roles(realm, user):
                    if role.get("_client") in realm["clients"]:
                        access.setdefault(realm["clients"][role["_client"]]["clientId"], {"roles": []})["roles"].append(role["name"])
                for entry in access.values():
                    entry["roles"].sort()
                if access:
                    claims["resource_access"] = access
            elif kind == "oidc-acr-mapper":
                claims["acr"] = "1"
            elif kind == "oidc-usersessionmodel-note-mapper":
                if config.get("user.session.note") == "AUTH_TIME" and config.get("claim.name"):
                    _set_claim(claims, config["claim.name"], session["started"])
        return claims, audiences

    # ------------------------------------------------------------------ token issuing
    def issue(self, base, realm, client, user, sid, requested_scope, include_refresh=True, nonce=None):
        """Token response for a user session: access token, ID token when `openid` is asked for, refresh token."""
        now = int(time.time())
        realm_name = realm["rep"]["realm"]
        session = self.store.sessions[sid]
        scopes = self._scopes(realm, client, requested_scope)
        scope_string = self._scope_string(scopes, requested_scope)
        iss = issuer(base, realm_name)
        access_claims, audiences = self._apply_mappers(realm, client, user, scopes, "access", session)
        audience = list(dict.fromkeys(audiences + ["account"]))
        access = {"exp": now + self.lifespan, "iat": now, "jti": str(uuid.uuid4()), "iss": iss,
                  "aud": audience[0] if len(audience) == 1 else audience, "sub": user["id"], "typ": "Bearer",
                  "azp": client["clientId"], "session_state": sid, "sid": sid, "scope": scope_string}
        access.update({k: v for k, v in access_claims.items() if k not in access or k == "sub"})
        access.setdefault("preferred_username", user["username"])
        if user.get("email"):
            access.setdefault("email", user["email"])
        if user.get("_service_account_client"):
            access["clientId"] = client["clientId"]
        body = {"access_token": keys.sign(realm["key"], access), "expires_in": self.lifespan,
                "refresh_expires_in": 0, "token_type": "Bearer", "not-before-policy": 0, "session_state": sid,
                "scope": scope_string}
        if "openid" in (requested_scope or "").split():
            id_claims = self._apply_mappers(realm, client, user, scopes, "id", session)[0]
            id_token = {"exp": now + self.lifespan, "iat": now, "auth_time": session["started"], "jti": str(uuid.uuid4()),
                        "iss": iss, "aud": client["clientId"], "sub": user["id"], "typ": "ID", "azp": client["clientId"],
                        "session_state": sid, "sid": sid, "at_hash": _at_hash(body["access_token"])}
            if nonce:
                id_token["nonce"] = nonce
            id_token.update({k: v for k, v in id_claims.items() if k not in id_token})
            id_token.setdefault("preferred_username", user["username"])
            body["id_token"] = keys.sign(realm["key"], id_token)
        if include_refresh:
            refresh = {"exp": now + self.refresh_lifespan, "iat": now, "jti": str(uuid.uuid4()), "iss": iss, "aud": iss,
                       "sub": user["id"], "typ": REFRESH_TYPE, "azp": client["clientId"], "session_state": sid, "sid": sid,
                       "scope": requested_scope or ""}
            body["refresh_token"] = keys.sign(realm["key"], refresh)
            body["refresh_expires_in"] = self.refresh_lifespan
        session["last_refresh"] = now
        return body

    def token(self, base, realm, form, headers):
        """POST /realms/{realm}/protocol/openid-connect/token -> (status, body)."""
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError(400, "invalid_request", "Missing form parameter: grant_type")
        if grant not in ("password", "client_credentials", "refresh_token", "authorization_code"):
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant_type")
        client = self._client_auth(realm, form, headers)
        realm_name = realm["rep"]["realm"]
        if grant == "authorization_code":
            if not client.get("standardFlowEnabled", True):
                raise OAuthError(400, "unauthorized_client", "Client not allowed to exchange code")
            return self.code_exchange(base, realm, client, form)
        if grant == "password":
            if not client.get("directAccessGrantsEnabled"):
                raise OAuthError(400, "unauthorized_client", "Client not allowed for direct access grants")
            user = self.store.find_user(realm, form.get("username") or "")
            if user is None and "@" in (form.get("username") or ""):
                user = next((u for u in realm["users"].values() if u.get("email") == form["username"].lower()), None)
            if user is None or user.get("_service_account_client") or not check_password(user.get("_password"), form.get("password") or ""):
                raise OAuthError(401, "invalid_grant", "Invalid user credentials")
            if not user.get("enabled"):
                raise OAuthError(400, "invalid_grant", "Account disabled")
            if user.get("requiredActions"):
                raise OAuthError(400, "invalid_grant", "Account is not fully set up")
            sid = self.store.open_session(realm_name, user["id"], client["id"])
            return self.issue(base, realm, client, user, sid, form.get("scope") or "")
        if grant == "client_credentials":
            if client.get("publicClient"):
                raise OAuthError(401, "unauthorized_client", "Public client not allowed to retrieve service account")
            if not client.get("serviceAccountsEnabled"):
                raise OAuthError(401, "unauthorized_client", "Client not enabled to retrieve service account")
            user = self.store.service_account_user(realm, client)
            sid = self.store.open_session(realm_name, user["id"], client["id"])
            # Keycloak issues no refresh token for client_credentials unless the client asks for it.
            wants_refresh = client.get("attributes", {}).get("use.refresh.tokens.for.client.credentials.grant") == "true"
            return self.issue(base, realm, client, user, sid, form.get("scope") or "", include_refresh=wants_refresh)
        return self._refresh(base, realm, client, form)

    @staticmethod
    def _refresh_claims(realm, form, expired="Invalid refresh token"):
        """The claims of the form's refresh_token, signed by the realm's key; `expired` is the error for a stale one."""
        token = form.get("refresh_token")
        if not token:
            raise OAuthError(400, "invalid_request", "Missing parameter: refresh_token")
        try:
            return keys.verify(realm["key"], token)
        except jwt.ExpiredSignatureError as error:
            raise OAuthError(400, "invalid_grant", expired) from error
        except jwt.PyJWTError as error:
            raise OAuthError(400, "invalid_grant", "Invalid refresh token") from error

    def _refresh(self, base, realm, client, form):
        claims = self._refresh_claims(realm, form, expired="Token is not active")
        if claims.get("typ") not in (REFRESH_TYPE, "Offline"):
            raise OAuthError(400, "invalid_grant", "Invalid refresh token")
        if claims.get("azp") != client["clientId"]:
            raise OAuthError(400, "invalid_grant", "Invalid refresh token. Token client and authorized client don't match")
        session = self.store.sessions.get(claims.get("sid"))
        user = realm["users"].get(claims.get("sub"))
        if session is None or user is None:
            raise OAuthError(400, "invalid_grant", "Session not active")
        if not user.get("enabled"):
            raise OAuthError(400, "invalid_grant", "User disabled")
        return self.issue(base, realm, client, user, claims["sid"], claims.get("scope", ""))

    # ------------------------------------------------------------------ bearer tokens
    @staticmethod
    def verified(realm, token):
        """Claims of any token signed by the realm's key and not expired, or None."""
        try:
            return keys.verify(realm["key"], token)
        except jwt.PyJWTError:
            return None

    def bearer(self, realm, auth_header):
        """Claims of a valid access token of `realm`, or None."""
        if not auth_header or not auth_header.lower().startswith("bearer "):
            return None
        token = auth_header[7:].strip()
        try:
            claims = keys.verify(realm["key"], token)
        except jwt.PyJWTError:
            return None
        if claims.get("typ") != "Bearer" or not str(claims.get("iss", "")).endswith(f"/realms/{realm['rep']['realm']}"):
            return None
        if claims.get("sid") not in self.store.sessions or claims.get("sub") not in realm["users"]:
            return None
        return claims

    def admin_scope(self, auth_header):
        """Realms an Admin API caller may manage: '*' for all, a set of realm names, or None when unauthenticated.

        Returns (scope, claims); scope is False when the token is valid but carries no admin rights.
        """
        if not auth_header or not auth_header.lower().startswith("bearer "):
            return None, None
        try:
            unverified = keys.unverified_claims(auth_header[7:].strip())
        except jwt.PyJWTError:
            return None, None
        realm_name = str(unverified.get("iss", "")).rsplit("/realms/", 1)[-1]
        realm = self.store.realms.get(realm_name)
        if realm is None:
            return None, None
        claims = self.bearer(realm, auth_header)
        if claims is None:
            return None, None
        user = realm["users"][claims["sub"]]
        if realm_name == "master" and (user.get("_admin") or user["username"] in self.config.get("admin_users", [])):
            return "*", claims
        client_uuid = user.get("_service_account_client")
        if client_uuid and client_uuid in realm["clients"]:
            client_id = realm["clients"][client_uuid]["clientId"]
            for entry in self.config.get("admin_service_accounts", []):
                if entry == client_id and realm_name == "master":
                    return "*", claims
                if entry == f"{realm_name}/{client_id}":
                    return ("*" if realm_name == "master" else {realm_name}), claims
        return self._role_scope(realm, user), claims

    def _role_scope(self, realm, user):
        """Admin rights from roles, as Keycloak grants them: master `admin`, a realm's `realm-management`
        client roles, or in master the `<realm>-realm` client roles."""
        realm_name = realm["rep"]["realm"]
        roles = self.store.effective_roles(realm, user)
        if realm_name == "master" and any(r["name"] == "admin" and not r.get("_client") for r in roles):
            return "*"
        managed = set()
        for role in roles:
            client = realm["clients"].get(role.get("_client") or "")
            if client is None:
                continue
            if realm_name != "master" and client["clientId"] == "realm-management":
                managed.add(realm_name)
            elif realm_name == "master" and client["clientId"].endswith("-realm"):
                managed.add(client["clientId"][:-len("-realm")])
        return managed or False

    def userinfo(self, realm, auth_header):
        claims = self.bearer(realm, auth_header)
        if claims is None:
            raise OAuthError(401, "invalid_token", "Token verification failed")
        user = realm["users"][claims["sub"]]
        client = self.store.find_client(realm, claims.get("azp"))
        if client is None:
            raise OAuthError(401, "invalid_token", "Client not found")
        session = self.store.sessions[claims["sid"]]
        scopes = self._scopes(realm, client, claims.get("scope", ""))
        info = self._apply_mappers(realm, client, user, scopes, "userinfo", session)[0]
        info["sub"] = user["id"]
        return info

    def logout(self, realm, form, headers):
        client = self._client_auth(realm, form, headers)
        claims = self._refresh_claims(realm, form)
        if claims.get("azp") != client["clientId"]:
            raise OAuthError(400, "invalid_grant", "Invalid refresh token")
        if self.store.sessions.pop(claims.get("sid"), None) is not None:
            self.store.mark_dirty()

    def introspect(self, realm, form, headers):
        self._client_auth(realm, form, headers)
        claims = self.bearer(realm, f"Bearer {form.get('token', '')}")
        if claims is None:
            return {"active": False}
        return dict(claims, active=True, client_id=claims.get("azp"), username=claims.get("preferred_username"),
                    token_type="Bearer")


def _at_hash(access_token):
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")

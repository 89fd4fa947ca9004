"""Admin REST API (`/admin/realms...`) and realm endpoints (`/realms/{realm}/...`): routing and handlers.

Route templates are the OpenAPI document's path strings, so every admin route is checked
against the document at start-up and its bodies are validated with the matching operation.
"""

import copy
import html
import json
import re
import time
from urllib.parse import parse_qs, unquote

from tests.sandbox.keycloak import keys, login, oidc
from tests.sandbox.keycloak.schema import SchemaViolation, template_regex
from tests.sandbox.keycloak.store import ApiError, bad_request, public

KEYCLOAK_VERSION = "23.0.7"
GROUP_ACCESS = {"view": True, "viewMembers": True, "manageMembers": True, "manage": True, "manageMembership": True}
USER_ACCESS = {"manageGroupMembership": True, "view": True, "mapRoles": True, "impersonate": True, "manage": True}
BRIEF_USER_KEYS = ("id", "username", "createdTimestamp", "firstName", "lastName", "email", "enabled", "emailVerified",
                   "federationLink", "totp", "serviceAccountClientId", "notBefore")
UNAUTHORIZED = ApiError(401, {"error": "HTTP 401 Unauthorized"})
FORBIDDEN = ApiError(403, {"error": "HTTP 403 Forbidden"})


def _without_nulls(value):
    """A body as Keycloak reads it: Jackson leaves a null field unset, and Keycloak treats unset as not given."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


class Request:
    """What a handler needs from an HTTP request."""

    def __init__(self, method, path, query_string, headers, body):
        self.method = method
        self.path = path
        self.query = {key: values[-1] for key, values in parse_qs(query_string, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body
        self.base = ""
        self.json = None
        # Realms the caller may manage: "*" or a set of realm names (set once the bearer token is checked).
        self.scope = None

    def form(self):
        return {key: values[-1] for key, values in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    def flag(self, name, default=False):
        value = self.query.get(name)
        if value is None or value == "":
            return default
        return value.lower() == "true"

    def number(self, name, default=None):
        value = self.query.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError as error:
            raise ApiError(400, {"error": f"Invalid value for query parameter {name}"}) from error


class Result:
    """A response plus what the request log and the response validator need to know."""

    def __init__(self, status, body=None, headers=None, template=None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.template = template
        self.schema_error = None
        self.validated = False
        # An HTML page (login flow) instead of a JSON body.
        self.html = None


def _page(items, request, default_max=None):
    first = max(request.number("first", 0) or 0, 0)
    limit = request.number("max", default_max)
    items = list(items)[first:]
    if limit is not None and limit >= 0:
        items = items[:limit]
    return items


def _specificity(template):
    """Sort key: literal segments before parameters (`/users/count` before `/users/{id}`)."""
    return [1 if segment.startswith("{") else 0 for segment in template.split("/")]


def _search_match(value, pattern):
    """Keycloak's user `search`: "exact", *infix*, prefix otherwise; case-insensitive."""
    value = (value or "").lower()
    pattern = pattern.strip().lower()
    if len(pattern) >= 2 and pattern.startswith('"') and pattern.endswith('"'):
        return value == pattern[1:-1]
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*"))
    if not pattern.endswith("*"):
        regex += ".*"
    return re.match(regex, value) is not None


# (method, path below a user or group, action) of the role-mapping routes
ROLE_MAPPING_ROUTES = (
    ("GET", "/role-mappings", "all"),
    ("GET", "/role-mappings/realm", "list"), ("POST", "/role-mappings/realm", "add"), ("DELETE", "/role-mappings/realm", "remove"),
    ("GET", "/role-mappings/realm/available", "available"), ("GET", "/role-mappings/realm/composite", "composite"),
    ("GET", "/role-mappings/clients/{client}", "list"), ("POST", "/role-mappings/clients/{client}", "add"),
    ("DELETE", "/role-mappings/clients/{client}", "remove"),
    ("GET", "/role-mappings/clients/{client}/available", "available"), ("GET", "/role-mappings/clients/{client}/composite", "composite"),
)
# (method, path below a client or client scope, action) of the protocol-mapper routes
PROTOCOL_MAPPER_ROUTES = (
    ("GET", "/protocol-mappers/models", "list"), ("POST", "/protocol-mappers/models", "create"),
    ("POST", "/protocol-mappers/add-models", "add_many"),
    ("GET", "/protocol-mappers/models/{id}", "get"), ("PUT", "/protocol-mappers/models/{id}", "update"),
    ("DELETE", "/protocol-mappers/models/{id}", "delete"),
    ("GET", "/protocol-mappers/protocol/{protocol}", "by_protocol"),
)


class AdminApi:
    """Dispatches admin and realm requests against a store."""

    def __init__(self, store, tokens, document, config):
        self.store = store
        self.tokens = tokens
        self.document = document
        self.config = config
        self.schema_violations = 0
        self.login = login.LoginFlow(store, tokens)
        tokens.code_exchange = self.login.exchange
        self.routes = []
        # Documented operations the emulator does not serve answer 501, so a gap is not mistaken for a 404.
        self.documented = [(template_regex(t), t) for t in sorted(document.paths, key=_specificity)]
        table = self._route_table()
        by_template = {}
        for method, template, handler in table:
            if not document.has_operation(method, template):
                raise RuntimeError(f"route {method} {template} is not in the Keycloak admin OpenAPI document")
            by_template.setdefault(template, {})[method] = handler
        # Literal segments win over parameters (`/users/count` before `/users/{id}`).
        for template in sorted(by_template, key=_specificity):
            self.routes.append((template_regex(template), template, by_template[template]))

    # ------------------------------------------------------------------ routing
    def _route_table(self):
        r = "/admin/realms/{realm}"
        c = f"{r}/clients/{{id}}"
        s = f"{r}/client-scopes/{{id}}"
        g = f"{r}/groups/{{id}}"
        u = f"{r}/users/{{id}}"
        table = [
            ("GET", "/admin/realms", self.list_realms), ("POST", "/admin/realms", self.create_realm),
            ("GET", r, self.get_realm), ("PUT", r, self.update_realm), ("DELETE", r, self.delete_realm),
            ("GET", f"{r}/keys", self.realm_keys),
            ("GET", f"{r}/clients", self.list_clients), ("POST", f"{r}/clients", self._created(self.store.create_client)),
            ("GET", c, self.get_client), ("PUT", c, self._updated(self.store.update_client)), ("DELETE", c, self._deleted(self.store.delete_client)),
            ("GET", f"{c}/client-secret", self.get_secret), ("POST", f"{c}/client-secret", self.new_secret),
            ("GET", f"{c}/service-account-user", self.service_account_user),
            ("GET", f"{r}/client-scopes", self.list_scopes), ("POST", f"{r}/client-scopes", self._created(self.store.create_client_scope)),
            ("GET", s, self.get_scope), ("PUT", s, self._updated(self.store.update_client_scope)),
            ("DELETE", s, self._deleted(self.store.delete_client_scope)),
            ("GET", f"{r}/groups", self.list_groups), ("POST", f"{r}/groups", self.create_group),
            ("GET", f"{r}/groups/count", self.count_groups),
            ("GET", g, self.get_group), ("PUT", g, self._updated(self.store.update_group)), ("DELETE", g, self._deleted(self.store.delete_group)),
            ("GET", f"{g}/children", self.group_children), ("POST", f"{g}/children", self.create_child_group),
            ("GET", f"{g}/members", self.group_members),
            ("GET", f"{r}/group-by-path/{{path}}", self.group_by_path),
            ("GET", f"{r}/users", self.list_users), ("POST", f"{r}/users", self._created(self.store.create_user)),
            ("GET", f"{r}/users/count", self.count_users),
            ("GET", u, self.get_user), ("PUT", u, self._updated(self.store.update_user)), ("DELETE", u, self._deleted(self.store.delete_user)),
            ("GET", f"{u}/groups", self.user_groups), ("GET", f"{u}/groups/count", self.count_user_groups),
            ("PUT", f"{u}/groups/{{groupId}}", self.join_group), ("DELETE", f"{u}/groups/{{groupId}}", self.leave_group),
            ("PUT", f"{u}/reset-password", self.reset_password),
            ("GET", f"{r}/roles", self.list_roles), ("POST", f"{r}/roles", self.create_role),
            ("GET", f"{r}/roles/{{role-name}}", self.get_role), ("PUT", f"{r}/roles/{{role-name}}", self.update_role),
            ("DELETE", f"{r}/roles/{{role-name}}", self.delete_role),
            ("GET", f"{c}/roles", self.list_roles), ("POST", f"{c}/roles", self.create_role),
            ("GET", f"{c}/roles/{{role-name}}", self.get_role), ("PUT", f"{c}/roles/{{role-name}}", self.update_role),
            ("DELETE", f"{c}/roles/{{role-name}}", self.delete_role),
        ]
        for which in ("default", "optional"):
            for path, handler in ((f"{c}/{which}-client-scopes", self._client_scopes), (f"{r}/default-{which}-client-scopes", self._realm_scopes)):
                table += [("GET", path, handler(which, "list")), ("PUT", path + "/{clientScopeId}", handler(which, "add")),
                          ("DELETE", path + "/{clientScopeId}", handler(which, "remove"))]
        for holder, kind in ((u, "user"), (g, "group")):
            table += [(method, holder + suffix, self._role_mappings(kind, action)) for method, suffix, action in ROLE_MAPPING_ROUTES]
        for owner, kind in ((c, "client"), (s, "scope")):
            table += [(method, owner + suffix, self._mappers(kind, action)) for method, suffix, action in PROTOCOL_MAPPER_ROUTES]
        return table

    def match(self, path):
        """(template, params, handlers) of the admin route for path, or None."""
        for regex, template, handlers in self.routes:
            found = regex.match(path)
            if found:
                return template, [unquote(p) for p in found.groups()], handlers
        return None

    def dispatch_admin(self, request):
        """Handle a request under /admin; always returns a Result."""
        try:
            return self._dispatch_admin(request)
        except ApiError as error:
            return Result(error.status, error.body)

    def _dispatch_admin(self, request):
        with self.store.lock:
            scope, _claims = self.tokens.admin_scope(request.headers.get("Authorization"))
        if scope is None:
            raise UNAUTHORIZED
        if scope is False:
            raise FORBIDDEN
        if request.path == "/admin/serverinfo" and request.method == "GET":
            # Not in the admin OpenAPI document; clients read the version from it to pick APIs (e.g. group children).
            return Result(200, {"systemInfo": {"version": KEYCLOAK_VERSION, "serverTime": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())},
                                "profileInfo": {"name": "community", "disabledFeatures": [], "previewFeatures": [], "experimentalFeatures": []}},
                          template="/admin/serverinfo")
        found = self.match(request.path)
        if found is None:
            self._unserved(request)
            raise ApiError(404, {"error": "HTTP 404 Not Found"})
        template, params, handlers = found
        handler = handlers.get(request.method)
        if handler is None:
            self._unserved(request)
            raise ApiError(405, {"error": "HTTP 405 Method Not Allowed"})
        request.scope = scope
        if template.startswith("/admin/realms/{realm}") and scope != "*" and params[0] not in scope:
            raise FORBIDDEN
        if template == "/admin/realms" and request.method == "POST" and scope != "*":
            raise FORBIDDEN
        self._parse_body(request, template)
        with self.store.lock:
            result = handler(request, *params)
        if not isinstance(result, Result):
            result = Result(200, result)
        result.template = template
        if result.body is not None and 200 <= result.status < 300:
            self._check_response(request, result)
        return result

    def _unserved(self, request):
        for regex, template in self.documented:
            if regex.match(request.path) and self.document.has_operation(request.method, template):
                raise ApiError(501, {"error": "not_implemented",
                                     "errorMessage": f"{request.method} {template} is not emulated by the sandbox"})

    def _parse_body(self, request, template):
        if request.method not in ("POST", "PUT", "DELETE") or self.document.request_schema(request.method, template) is None:
            return
        if not request.body.strip():
            raise ApiError(400, {"error": "unknown_error", "errorMessage": "Request body is empty"})
        try:
            request.json = _without_nulls(json.loads(request.body))
        except ValueError as error:
            raise ApiError(400, {"error": "unknown_error", "errorMessage": f"Request body is not JSON: {error}"}) from error
        try:
            self.document.validate_request(request.method, template, request.json)
        except SchemaViolation as violation:
            raise ApiError(400, {"error": "unknown_error", "errorMessage": str(violation)}) from violation

    def _check_response(self, request, result):
        if not self.config.get("validate_responses"):
            return
        result.validated = True
        try:
            self.document.validate_response(request.method, result.template, result.status, result.body)
        except SchemaViolation as violation:
            self.schema_violations += 1
            result.schema_error = str(violation)
            result.status = 500
            result.body = {"error": "sandbox_response_schema_violation", "errorMessage": str(violation)}

    # ------------------------------------------------------------------ representations
    def _realm_rep(self, realm, brief=False):
        rep = public(realm["rep"])
        if brief:
            return {"id": rep["id"], "realm": rep["realm"]}
        default_role = self.store.find_role(realm, f"default-roles-{rep['realm']}")
        if default_role:
            rep["defaultRole"] = self._role_rep(default_role, brief=True)
        return rep

    def _client_rep(self, realm, client):
        rep = public(client)
        scopes = realm["client_scopes"]
        rep["defaultClientScopes"] = [scopes[s]["name"] for s in client["_default_scopes"] if s in scopes]
        rep["optionalClientScopes"] = [scopes[s]["name"] for s in client["_optional_scopes"] if s in scopes]
        rep["access"] = {"view": True, "configure": True, "manage": True}
        return rep

    def _group_rep(self, realm, group, brief=False, sub_groups=None):
        rep = {"id": group["id"], "name": group["name"], "path": self.store.group_path(realm, group)}
        if group.get("parentId"):
            rep["parentId"] = group["parentId"]
        rep["subGroupCount"] = len(self.store.children(realm, group["id"]))
        rep["subGroups"] = sub_groups or []
        if not brief:
            realm_roles, client_roles = self._role_names(realm, group.get("_roles", []))
            rep.update({"attributes": copy.deepcopy(group.get("attributes", {})), "realmRoles": realm_roles,
                        "clientRoles": client_roles, "access": dict(GROUP_ACCESS)})
        return rep

    @staticmethod
    def _role_names(realm, role_ids):
        realm_roles, client_roles = [], {}
        for role_id in role_ids:
            role = realm["roles"].get(role_id)
            if role is None:
                continue
            if role.get("_client"):
                client_roles.setdefault(realm["clients"][role["_client"]]["clientId"], []).append(role["name"])
            else:
                realm_roles.append(role["name"])
        return realm_roles, client_roles

    @staticmethod
    def _user_rep(user, brief=False):
        rep = public(user)
        if brief:
            rep = {key: rep[key] for key in BRIEF_USER_KEYS if key in rep}
        rep["access"] = dict(USER_ACCESS)
        return rep

    @staticmethod
    def _scope_rep(scope):
        return public(scope)

    @staticmethod
    def _location(request, *parts):
        return {"Location": request.base + "/".join((request.path.rstrip("/"),) + parts)}

    # ------------------------------------------------------------------ create, update, delete of an entity in a realm
    def _created(self, create):
        """A POST handler: create(realm, representation) makes the entity; 201 with its Location."""
        def handler(request, realm_name):
            entity = create(self.store.realm(realm_name), request.json)
            return Result(201, None, self._location(request, entity["id"]))
        return handler

    def _updated(self, update):
        """A PUT handler: update(realm, entity id, representation); 204."""
        def handler(request, realm_name, entity_id):
            update(self.store.realm(realm_name), entity_id, request.json)
            return Result(204)
        return handler

    def _deleted(self, delete):
        """A DELETE handler: delete(realm, entity id); 204."""
        def handler(request, realm_name, entity_id):
            del request
            delete(self.store.realm(realm_name), entity_id)
            return Result(204)
        return handler

    # ------------------------------------------------------------------ realms
    def list_realms(self, request):
        brief = request.flag("briefRepresentation")
        realms = [r for name, r in self.store.realms.items() if request.scope == "*" or name in request.scope]
        return [self._realm_rep(r, brief) for r in realms]

    def create_realm(self, request):
        realm = self.store.create_realm(request.json)
        return Result(201, None, {"Location": f"{request.base}/admin/realms/{realm['rep']['realm']}"})

    def get_realm(self, request, realm_name):
        del request
        return self._realm_rep(self.store.realm(realm_name))

    def update_realm(self, request, realm_name):
        self.store.update_realm(realm_name, request.json)
        return Result(204)

    def delete_realm(self, request, realm_name):
        del request
        self.store.delete_realm(realm_name)
        return Result(204)

    def realm_keys(self, request, realm_name):
        del request
        key = self.store.realm(realm_name)["key"]
        public_pem = keys.public_key_pem(key)
        public_b64 = "".join(line for line in public_pem.splitlines() if "-----" not in line)
        cert_b64 = "".join(line for line in key["certificate_pem"].splitlines() if "-----" not in line)
        return {"active": {"RS256": key["kid"]},
                "keys": [{"providerId": "rsa-generated", "providerPriority": 100, "kid": key["kid"], "status": "ACTIVE",
                          "type": "RSA", "algorithm": "RS256", "publicKey": public_b64, "certificate": cert_b64, "use": "SIG"}]}

    # ------------------------------------------------------------------ clients
    def list_clients(self, request, realm_name):
        realm = self.store.realm(realm_name)
        wanted = request.query.get("clientId")
        search = request.flag("search")
        clients = sorted(realm["clients"].values(), key=lambda c: c["clientId"])
        if wanted:
            if search:
                clients = [c for c in clients if wanted.lower() in c["clientId"].lower()]
            else:
                clients = [c for c in clients if c["clientId"] == wanted]
        return [self._client_rep(realm, c) for c in _page(clients, request)]

    def get_client(self, request, realm_name, client_uuid):
        del request
        realm = self.store.realm(realm_name)
        return self._client_rep(realm, self.store.client(realm, client_uuid))

    def get_secret(self, request, realm_name, client_uuid):
        del request
        client = self.store.client(self.store.realm(realm_name), client_uuid)
        rep = {"type": "secret"}
        if client.get("secret"):
            rep["value"] = client["secret"]
        return rep

    def new_secret(self, request, realm_name, client_uuid):
        del request
        secret = self.store.regenerate_secret(self.store.realm(realm_name), client_uuid)
        return {"type": "secret", "value": secret}

    def service_account_user(self, request, realm_name, client_uuid):
        del request
        realm = self.store.realm(realm_name)
        client = self.store.client(realm, client_uuid)
        user = self.store.service_account_user(realm, client)
        if user is None:
            raise bad_request("Service account not enabled for the client")
        return self._user_rep(user)

    @staticmethod
    def _scope_names(realm, scope_ids):
        scopes = realm["client_scopes"]
        return [{"id": s, "name": scopes[s]["name"]} for s in scope_ids if s in scopes]

    def _client_scopes(self, which, action):
        """A handler that lists, adds or removes a client's default or optional (`which`) client scopes."""
        def handler(request, realm_name, client_uuid, scope_id=None):
            del request
            realm = self.store.realm(realm_name)
            if action == "list":
                return self._scope_names(realm, self.store.client(realm, client_uuid)[f"_{which}_scopes"])
            change = self.store.link_scope if action == "add" else self.store.unlink_scope
            change(realm, client_uuid, scope_id, which == "default")
            return Result(204)
        return handler

    # ------------------------------------------------------------------ protocol mappers
    def _mappers(self, kind, action):
        """A handler for one mapper action on a client (kind 'client') or client scope (kind 'scope')."""
        def owner(realm_name, owner_id):
            realm = self.store.realm(realm_name)
            if kind == "client":
                return self.store.client(realm, owner_id)
            return self.store.client_scope(realm, owner_id)

        def handler(request, realm_name, owner_id, *rest):
            target = owner(realm_name, owner_id)
            if action == "list":
                return [public(m) for m in target["protocolMappers"]]
            if action == "by_protocol":
                return [public(m) for m in target["protocolMappers"] if m.get("protocol") == rest[0]]
            if action == "create":
                mapper = self.store.add_mapper(target, request.json)
                return Result(201, None, self._location(request, mapper["id"]))
            if action == "add_many":
                for rep in request.json:
                    self.store.add_mapper(target, rep)
                return Result(204)
            if action == "get":
                return public(self.store.mapper(target, rest[0]))
            if action == "update":
                self.store.update_mapper(target, rest[0], request.json)
                return Result(204)
            self.store.delete_mapper(target, rest[0])
            return Result(204)
        handler.__name__ = f"{kind}_mappers_{action}"
        return handler

    # ------------------------------------------------------------------ roles
    @staticmethod
    def _role_rep(role, brief=False):
        rep = public(role)
        if brief:
            rep = {key: rep[key] for key in ("id", "name", "description", "composite", "clientRole", "containerId") if key in rep}
        return rep

    def _role_owner(self, realm_name, client_uuid=None):
        realm = self.store.realm(realm_name)
        return realm, (self.store.client(realm, client_uuid) if client_uuid else None)

    def list_roles(self, request, realm_name, client_uuid=None):
        realm, client = self._role_owner(realm_name, client_uuid)
        owner = client["id"] if client else None
        roles = sorted((r for r in realm["roles"].values() if r.get("_client") == owner), key=lambda r: r["name"])
        if request.query.get("search"):
            roles = [r for r in roles if request.query["search"].lower() in r["name"].lower()]
        brief = request.flag("briefRepresentation", True)
        return [self._role_rep(r, brief) for r in _page(roles, request)]

    def create_role(self, request, realm_name, client_uuid=None):
        realm, client = self._role_owner(realm_name, client_uuid)
        rep = {k: v for k, v in request.json.items() if k not in ("id", "composites")}
        role = self.store.create_role(realm, rep, client)
        return Result(201, None, self._location(request, role["name"]))

    def _named_role(self, realm_name, args):
        """(realm, role) from (role-name) or (client uuid, role-name) path parameters."""
        client_uuid, role_name = (args[0], args[1]) if len(args) == 2 else (None, args[0])
        realm, client = self._role_owner(realm_name, client_uuid)
        return realm, self.store.role(realm, role_name, client)

    def get_role(self, request, realm_name, *args):
        del request
        return self._role_rep(self._named_role(realm_name, args)[1])

    def update_role(self, request, realm_name, *args):
        realm, role = self._named_role(realm_name, args)
        self.store.update_role(realm, role, request.json)
        return Result(204)

    def delete_role(self, request, realm_name, *args):
        del request
        realm, role = self._named_role(realm_name, args)
        self.store.delete_role(realm, role)
        return Result(204)

    def _role_mappings(self, kind, action):
        """A handler for user or group role mappings, realm-level or of one client (`clients/{client}`)."""
        def handler(request, realm_name, holder_id, client_uuid=None):
            realm = self.store.realm(realm_name)
            holder = self.store.user(realm, holder_id) if kind == "user" else self.store.group(realm, holder_id)
            if action == "all":
                return self._all_mappings(realm, holder)
            client = self.store.client(realm, client_uuid) if client_uuid else None
            owner = client["id"] if client else None
            mine = [realm["roles"][r] for r in holder.get("_roles", []) if r in realm["roles"]]
            if action == "add":
                self.store.grant(realm, holder, [self.store.role_by_rep(realm, rep, client) for rep in request.json])
                return Result(204)
            if action == "remove":
                self.store.revoke(realm, holder, [self.store.role_by_rep(realm, rep, client) for rep in request.json])
                return Result(204)
            if action == "composite":
                ids = self.store.expand(realm, [r["id"] for r in mine])
                if kind == "user":
                    ids = {r["id"] for r in self.store.effective_roles(realm, holder)}
                roles = [realm["roles"][r] for r in ids]
            elif action == "available":
                if kind == "user":
                    held = {r["id"] for r in self.store.effective_roles(realm, holder)}
                else:
                    held = self.store.expand(realm, [r["id"] for r in mine])
                roles = [r for r in realm["roles"].values() if r["id"] not in held]
            else:
                roles = mine
            roles = sorted((r for r in roles if r.get("_client") == owner), key=lambda r: r["name"])
            return [self._role_rep(r, request.flag("briefRepresentation", False)) for r in roles]
        handler.__name__ = f"{kind}_role_mappings_{action}"
        return handler

    def _all_mappings(self, realm, holder):
        mine = [realm["roles"][r] for r in holder.get("_roles", []) if r in realm["roles"]]
        body = {}
        realm_roles = [self._role_rep(r) for r in mine if not r.get("_client")]
        if realm_roles:
            body["realmMappings"] = realm_roles
        clients = {}
        for role in mine:
            if role.get("_client"):
                client = realm["clients"][role["_client"]]
                entry = clients.setdefault(client["clientId"], {"id": client["id"], "client": client["clientId"], "mappings": []})
                entry["mappings"].append(self._role_rep(role))
        if clients:
            body["clientMappings"] = clients
        return body

    # ------------------------------------------------------------------ client scopes
    def list_scopes(self, request, realm_name):
        del request
        realm = self.store.realm(realm_name)
        return [self._scope_rep(s) for s in realm["client_scopes"].values()]

    def get_scope(self, request, realm_name, scope_id):
        del request
        return self._scope_rep(self.store.client_scope(self.store.realm(realm_name), scope_id))

    def _realm_scopes(self, which, action):
        """A handler that lists, adds or removes the client scopes a new client of the realm gets as default or optional (`which`)."""
        key = f"default_{which}_scopes"
        other = "default_optional_scopes" if which == "default" else "default_default_scopes"

        def handler(request, realm_name, scope_id=None):
            del request
            realm = self.store.realm(realm_name)
            if action == "list":
                return self._scope_names(realm, realm[key])
            self.store.client_scope(realm, scope_id)
            if action == "add":
                # Keycloak moves a scope between the realm's default and optional lists.
                realm[other] = [s for s in realm[other] if s != scope_id]
            realm[key] = [s for s in realm[key] if s != scope_id] + ([scope_id] if action == "add" else [])
            self.store.mark_dirty()
            return Result(204)
        return handler

    # ------------------------------------------------------------------ groups
    def _group_matches(self, group, request):
        wanted = request.query.get("search")
        if not wanted:
            return True
        if request.flag("exact"):
            return group["name"] == wanted
        return wanted.lower() in group["name"].lower()

    def _group_tree(self, realm, group, request, brief):
        """A group with the branches below it that hold matches; None when nothing matches."""
        branches = [t for t in (self._group_tree(realm, child, request, brief) for child in self.store.children(realm, group["id"])) if t]
        if branches or self._group_matches(group, request):
            return self._group_rep(realm, group, brief, branches)
        return None

    def list_groups(self, request, realm_name):
        realm = self.store.realm(realm_name)
        brief = request.flag("briefRepresentation", True)
        top = self.store.children(realm, None)
        if request.query.get("search"):
            if not request.flag("populateHierarchy", True):
                found = sorted((g for g in realm["groups"].values() if self._group_matches(g, request)), key=lambda g: g["name"])
                return [self._group_rep(realm, g, brief) for g in _page(found, request)]
            trees = [t for t in (self._group_tree(realm, g, request, brief) for g in top) if t]
            return _page(trees, request)
        if request.query.get("q"):
            wanted = dict(part.split(":", 1) for part in request.query["q"].split() if ":" in part)
            found = [g for g in realm["groups"].values()
                     if all(v in g.get("attributes", {}).get(k, []) for k, v in wanted.items())]
            return [self._group_rep(realm, g, brief) for g in _page(sorted(found, key=lambda g: g["name"]), request)]
        return [self._group_rep(realm, g, brief) for g in _page(top, request)]

    def create_group(self, request, realm_name):
        realm = self.store.realm(realm_name)
        rep = request.json
        if rep.get("id") and rep["id"] in realm["groups"]:
            self.store.move_group(realm, rep["id"], None)
            return Result(204)
        group = self.store.create_group(realm, rep)
        return Result(201, None, self._location(request, group["id"]))

    def count_groups(self, request, realm_name):
        realm = self.store.realm(realm_name)
        groups = self.store.children(realm, None) if request.flag("top") else list(realm["groups"].values())
        if request.query.get("search"):
            groups = [g for g in groups if request.query["search"].lower() in g["name"].lower()]
        return {"count": len(groups)}

    def get_group(self, request, realm_name, group_id):
        del request
        realm = self.store.realm(realm_name)
        return self._group_rep(realm, self.store.group(realm, group_id))

    def group_children(self, request, realm_name, group_id):
        realm = self.store.realm(realm_name)
        self.store.group(realm, group_id)
        brief = request.flag("briefRepresentation", False)
        children = self.store.children(realm, group_id)
        if request.query.get("search"):
            children = [g for g in children if self._group_matches(g, request)]
        return [self._group_rep(realm, g, brief) for g in _page(children, request, 10)]

    def create_child_group(self, request, realm_name, group_id):
        realm = self.store.realm(realm_name)
        self.store.group(realm, group_id)
        rep = request.json
        if rep.get("id") and rep["id"] in realm["groups"]:
            self.store.move_group(realm, rep["id"], group_id)
            return Result(204)
        group = self.store.create_group(realm, rep, group_id)
        location = {"Location": f"{request.base}/admin/realms/{realm_name}/groups/{group['id']}"}
        return Result(201, None, location)

    def group_members(self, request, realm_name, group_id):
        realm = self.store.realm(realm_name)
        self.store.group(realm, group_id)
        brief = request.flag("briefRepresentation", False)
        members = sorted((u for u in realm["users"].values() if group_id in u["_groups"]), key=lambda u: u["username"])
        return [self._user_rep(u, brief) for u in _page(members, request, 100)]

    def group_by_path(self, request, realm_name, path):
        del request
        realm = self.store.realm(realm_name)
        return self._group_rep(realm, self.store.group_by_path(realm, path))

    # ------------------------------------------------------------------ users
    def _find_users(self, request, realm):
        users = [u for u in realm["users"].values() if not u.get("_service_account_client")]
        query = request.query
        exact = request.flag("exact")
        search = query.get("search")
        if search and search.strip() != "*":
            users = [u for u in users if any(_search_match(u.get(f), search) for f in ("username", "email", "firstName", "lastName"))]
        elif not search:
            for field in ("username", "email", "firstName", "lastName"):
                wanted = query.get(field)
                if wanted:
                    if exact:
                        users = [u for u in users if (u.get(field) or "").lower() == wanted.lower()]
                    else:
                        users = [u for u in users if wanted.lower() in (u.get(field) or "").lower()]
        for field in ("enabled", "emailVerified"):
            if query.get(field):
                users = [u for u in users if bool(u.get(field)) == request.flag(field)]
        if query.get("q"):
            wanted = dict(part.split(":", 1) for part in query["q"].split() if ":" in part)
            users = [u for u in users if all(v in u.get("attributes", {}).get(k, []) for k, v in wanted.items())]
        return sorted(users, key=lambda u: u["username"])

    def list_users(self, request, realm_name):
        realm = self.store.realm(realm_name)
        brief = request.flag("briefRepresentation")
        return [self._user_rep(u, brief) for u in _page(self._find_users(request, realm), request, 100)]

    def count_users(self, request, realm_name):
        return len(self._find_users(request, self.store.realm(realm_name)))

    def get_user(self, request, realm_name, user_id):
        rep = self._user_rep(self.store.user(self.store.realm(realm_name), user_id))
        if request.flag("userProfileMetadata"):
            rep["userProfileMetadata"] = {"attributes": [
                {"name": "username", "displayName": "${username}", "required": True, "readOnly": False, "validators": {}},
                {"name": "email", "displayName": "${email}", "required": False, "readOnly": False, "validators": {}},
                {"name": "firstName", "displayName": "${firstName}", "required": False, "readOnly": False, "validators": {}},
                {"name": "lastName", "displayName": "${lastName}", "required": False, "readOnly": False, "validators": {}},
            ], "groups": []}
        return rep

    def _user_group_list(self, request, realm, user):
        groups = [realm["groups"][g] for g in user["_groups"] if g in realm["groups"]]
        groups = sorted(groups, key=lambda g: self.store.group_path(realm, g))
        if request.query.get("search"):
            groups = [g for g in groups if request.query["search"].lower() in g["name"].lower()]
        return groups

    def user_groups(self, request, realm_name, user_id):
        realm = self.store.realm(realm_name)
        user = self.store.user(realm, user_id)
        brief = request.flag("briefRepresentation", True)
        return [self._group_rep(realm, g, brief) for g in _page(self._user_group_list(request, realm, user), request)]

    def count_user_groups(self, request, realm_name, user_id):
        realm = self.store.realm(realm_name)
        return {"count": len(self._user_group_list(request, realm, self.store.user(realm, user_id)))}

    def join_group(self, request, realm_name, user_id, group_id):
        del request
        realm = self.store.realm(realm_name)
        self.store.join_group(realm, self.store.user(realm, user_id), self.store.group(realm, group_id))
        return Result(204)

    def leave_group(self, request, realm_name, user_id, group_id):
        del request
        realm = self.store.realm(realm_name)
        self.store.leave_group(realm, self.store.user(realm, user_id), self.store.group(realm, group_id))
        return Result(204)

    def reset_password(self, request, realm_name, user_id):
        user = self.store.user(self.store.realm(realm_name), user_id)
        credential = request.json
        if credential.get("type", "password") != "password":
            raise bad_request("Unsupported credential type")
        self.store.set_password(user, credential.get("value"), credential.get("temporary", False))
        return Result(204)

    # ------------------------------------------------------------------ /realms/{realm}/...
    @staticmethod
    def _page(status, text, headers):
        result = Result(status, None, headers)
        result.html = text
        return result

    def dispatch_realm(self, request):
        """OIDC endpoints; always returns a Result (template = an endpoint name for the request log)."""
        parts = request.path.split("/", 3)
        realm_name = unquote(parts[2]) if len(parts) > 2 else ""
        rest = parts[3] if len(parts) > 3 else ""
        endpoint = {"": "realm", ".well-known/openid-configuration": "well-known", "protocol/openid-connect/certs": "certs",
                    "protocol/openid-connect/token": "token", "protocol/openid-connect/userinfo": "userinfo",
                    "protocol/openid-connect/logout": "logout", "protocol/openid-connect/token/introspect": "introspect",
                    "protocol/openid-connect/auth": "auth", "login-actions/authenticate": "authenticate"}.get(rest)
        methods = {"token": ("POST",), "logout": ("GET", "POST"), "introspect": ("POST",), "userinfo": ("GET", "POST"),
                   "authenticate": ("POST",)}
        try:
            with self.store.lock:
                realm = self.store.realms.get(realm_name)
                if realm is None:
                    raise ApiError(404, {"error": "Realm does not exist"})
                if endpoint is None:
                    raise ApiError(404, {"error": "Unable to find matching target resource method"})
                if request.method not in methods.get(endpoint, ("GET",)):
                    raise ApiError(405, {"error": "HTTP 405 Method Not Allowed"})
                result = self._realm_endpoint(request, realm, endpoint)
        except ApiError as error:
            result = Result(error.status, error.body)
        except oidc.OAuthError as error:
            result = Result(error.status, error.body)
        except login.LoginPageError as error:
            result = Result(error.status)
            result.html = login.page("Error", f"<p id=\"kc-error-message\" class=\"instruction\">{html.escape(error.message)}</p>")
        result.template = f"oidc:{endpoint or 'unknown'}"
        return result

    def _realm_endpoint(self, request, realm, endpoint):
        realm_name = realm["rep"]["realm"]
        if endpoint == "realm":
            return Result(200, oidc.realm_info(request.base, realm))
        if endpoint == "well-known":
            return Result(200, oidc.well_known(request.base, realm_name))
        if endpoint == "certs":
            return Result(200, {"keys": [keys.jwk(realm["key"])]})
        if endpoint == "userinfo":
            return Result(200, self.tokens.userinfo(realm, request.headers.get("Authorization")))
        if endpoint == "auth" or (endpoint == "logout" and request.method == "GET"):
            action = self.login.authorize if endpoint == "auth" else self.login.end_session
            return self._page(*action(request.base, realm, request.query))
        form = request.form()
        if endpoint == "authenticate":
            return self._page(*self.login.authenticate(request.base, realm, request.query, form))
        if endpoint == "token":
            body = self.tokens.token(request.base, realm, form, request.headers)
            return Result(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})
        if endpoint == "logout":
            self.tokens.logout(realm, form, request.headers)
            return Result(204)
        return Result(200, self.tokens.introspect(realm, form, request.headers))

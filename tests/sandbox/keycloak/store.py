"""In-memory model of realms and what they hold, with a JSON snapshot on disk.

Entities are kept as Keycloak representations (plain dicts) plus a few private keys prefixed
with `_` (password hash, scope links, group membership) that never leave the emulator. The
whole store is guarded by one re-entrant lock: the emulator serves tests, not load.
"""

import copy
import hashlib
import hmac
import json
import os
import secrets
import string
import tempfile
import threading
import time
import uuid
from functools import partial
from pathlib import Path

from tests.sandbox.keycloak import builtins, keys

PBKDF2_ITERATIONS = 27500  # Keycloak's pbkdf2-sha256 default.
SECRET_ALPHABET = string.ascii_letters + string.digits


class ApiError(Exception):
    """An error answered to the client as Keycloak would: status plus JSON body."""

    def __init__(self, status, body):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def not_found(message):
    return ApiError(404, {"error": message})


def found(value, message):
    """value, unless it is None: then Keycloak's 404 with message."""
    if value is None:
        raise not_found(message)
    return value


def check_free(existing, own_id, message):
    """Keycloak's 409 with message when a unique name is taken: `existing`, found by it, is an entity other than own_id."""
    if existing is not None and existing["id"] != own_id:
        raise conflict(message)


def new_name(rep, field, find, missing, taken):
    """rep[field] for a new entity: given (else 400 `missing`) and free (find(name) is None, else 409 `taken` with {name} filled in)."""
    name = rep.get(field)
    if not name:
        raise bad_request(missing)
    check_free(find(name), None, taken.format(name=name))
    return name


def conflict(message):
    return ApiError(409, {"errorMessage": message})


def bad_request(message):
    return ApiError(400, {"errorMessage": message})


def new_id():
    return str(uuid.uuid4())


def now_ms():
    return int(time.time() * 1000)


def generate_secret():
    return "".join(secrets.choice(SECRET_ALPHABET) for dummy in range(32))


def hash_password(password, salt=None):
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, PBKDF2_ITERATIONS)
    return {"algorithm": "pbkdf2-sha256", "iterations": PBKDF2_ITERATIONS, "salt": salt.hex(), "hash": digest.hex(),
            "createdDate": now_ms(), "id": new_id()}


def check_password(stored, password):
    if not stored:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(stored["salt"]), stored["iterations"])
    return hmac.compare_digest(digest.hex(), stored["hash"])


def public(rep):
    """A representation without the emulator's private keys."""
    return {key: copy.deepcopy(value) for key, value in rep.items() if not key.startswith("_")}


class Store:
    """All realms, persisted to `state_path` (debounced) when given."""

    def __init__(self, state_path=None, admin_username="admin", admin_password="admin"):
        self.lock = threading.RLock()
        self.state_path = Path(state_path) if state_path else None
        self.realms = {}
        self.sessions = {}
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._saver = None
        if self.state_path and self.state_path.exists() and self.state_path.stat().st_size:
            self._load()
        if "master" not in self.realms:
            self.create_realm({"realm": "master", "displayName": "Keycloak",
                               "displayNameHtml": '<div class="kc-logo-text"><span>Keycloak</span></div>'})
            master = self.realms["master"]
            user = self.create_user(master, {"username": admin_username, "enabled": True,
                                             "credentials": [{"type": "password", "value": admin_password}]})
            user["_admin"] = True
            self.grant(master, user, [self.role(master, "admin"), self.role(master, "create-realm")])
            self.mark_dirty()

    # ------------------------------------------------------------------ persistence
    def _load(self):
        data = json.loads(self.state_path.read_text(encoding="utf-8"))
        self.realms = data.get("realms", {})
        self.sessions = data.get("sessions", {})

    def snapshot(self):
        with self.lock:
            return json.dumps({"version": 1, "realms": self.realms, "sessions": self.sessions}, indent=1, sort_keys=False)

    def save(self):
        if not self.state_path:
            return
        text = self.snapshot()
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".keycloak-state-", dir=str(self.state_path.parent))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        # The snapshot holds signing keys and password hashes.
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.state_path)

    def mark_dirty(self):
        self._dirty.set()

    def start_saver(self):
        """Write the snapshot at most about once a second after mutations."""
        def loop():
            while not self._stop.is_set():
                if self._dirty.wait(0.5):
                    self._stop.wait(1.0)
                    self._dirty.clear()
                    self.save()
        self._saver = threading.Thread(target=loop, name="keycloak-state-saver", daemon=True)
        self._saver.start()

    def close(self):
        self._stop.set()
        self._dirty.set()
        if self._saver:
            self._saver.join(timeout=5)
        self.save()

    # ------------------------------------------------------------------ realms
    def realm(self, name):
        return found(self.realms.get(name), "Realm not found.")

    def create_realm(self, rep):
        name = rep.get("realm")
        if not name or not isinstance(name, str):
            raise bad_request("Realm name cannot be empty")
        if name in self.realms:
            raise conflict("Conflict detected. See logs for details")
        realm_rep = builtins.realm_defaults(name)
        nested = {key: rep[key] for key in ("clients", "clientScopes", "groups", "users", "roles", "defaultDefaultClientScopes",
                                            "defaultOptionalClientScopes") if key in rep}
        for key, value in rep.items():
            if key not in builtins.REALM_NESTED_KEYS:
                realm_rep[key] = copy.deepcopy(value)
        realm_rep["id"] = rep.get("id") or (name if name == "master" else new_id())
        realm = {"rep": realm_rep, "key": keys.new_signing_key(name), "clients": {}, "client_scopes": {}, "groups": {},
                 "users": {}, "roles": {}, "default_default_scopes": [], "default_optional_scopes": []}
        self.realms[name] = realm
        self._seed_realm(realm, nested)
        if name != "master" and "master" in self.realms:
            self._add_realm_admin_client(name)
        self.mark_dirty()
        return realm

    def _seed_realm(self, realm, nested):
        by_name = {}
        for scope_rep in nested.get("clientScopes") or builtins.client_scopes():
            scope = self.create_client_scope(realm, scope_rep)
            by_name[scope["name"]] = scope["id"]
        default_names = nested.get("defaultDefaultClientScopes", builtins.DEFAULT_DEFAULT_SCOPES)
        optional_names = nested.get("defaultOptionalClientScopes", builtins.DEFAULT_OPTIONAL_SCOPES)
        realm["default_default_scopes"] = [by_name[n] for n in default_names if n in by_name]
        realm["default_optional_scopes"] = [by_name[n] for n in optional_names if n in by_name]
        name = realm["rep"]["realm"]
        self._seed_roles(realm, nested)
        given_clients = {c.get("clientId") for c in nested.get("clients", [])}
        for client_rep in builtins.clients(name):
            if client_rep["clientId"] not in given_clients:
                self.create_client(realm, client_rep)
        for client_rep in nested.get("clients", []):
            self.create_client(realm, client_rep)
        self._seed_client_roles(realm)
        for client_id, role_reps in ((nested.get("roles") or {}).get("client") or {}).items():
            client = self.find_client(realm, client_id)
            if client is None:
                raise bad_request(f"Realm import names roles of unknown client {client_id}")
            for role_rep in role_reps:
                if not self.find_role(realm, role_rep.get("name"), client):
                    self.create_role(realm, {k: v for k, v in role_rep.items() if k not in ("composites", "containerId")}, client)
        for group_rep in nested.get("groups", []):
            self._import_group(realm, group_rep, None)
        for user_rep in nested.get("users", []):
            groups = user_rep.get("groups", [])
            user = self.create_user(realm, {k: v for k, v in user_rep.items() if k != "groups"}, importing=True)
            for path in groups:
                self.join_group(realm, user, self.group_by_path(realm, path))

    def _seed_roles(self, realm, nested):
        name = realm["rep"]["realm"]
        for role_name in builtins.DEFAULT_ROLE_REALM:
            self.create_role(realm, {"name": role_name, "description": f"${{role_{role_name}}}"})
        if name == "master":
            self.create_role(realm, {"name": "create-realm", "description": "${role_create-realm}"})
            self.create_role(realm, {"name": "admin", "description": "${role_admin}"})
        for role_rep in (nested.get("roles") or {}).get("realm", []):
            if not self.find_role(realm, role_rep.get("name")):
                self.create_role(realm, {k: v for k, v in role_rep.items() if k not in ("composites", "containerId")})

    def _seed_client_roles(self, realm):
        """Built-in client roles and composites: account, realm-management (or master's admin clients), default roles."""
        name = realm["rep"]["realm"]
        account = self.find_client(realm, "account")
        for role_name in builtins.ACCOUNT_ROLES:
            self.create_role(realm, {"name": role_name, "description": f"${{role_{role_name}}}"}, account)
        default_role = self.create_role(realm, {"name": f"default-roles-{name}", "description": "${role_default-roles}"})
        default_role["_composites"] = [self.role(realm, r)["id"] for r in builtins.DEFAULT_ROLE_REALM] + [
            self.role(realm, r, account)["id"] for r in builtins.DEFAULT_ROLE_ACCOUNT]
        management = self.find_client(realm, "master-realm" if name == "master" else "realm-management")
        self._management_roles(realm, management, with_realm_admin=name != "master")
        if name == "master":
            admin = self.role(realm, "admin")
            admin["_composites"] = [r["id"] for r in realm["roles"].values() if r.get("_client") == management["id"]]
            admin["_composites"].append(self.role(realm, "create-realm")["id"])
            admin["composite"] = True
        default_role["composite"] = True

    def _management_roles(self, realm, client, with_realm_admin):
        made = [self.create_role(realm, {"name": r, "description": f"${{role_{r}}}"}, client) for r in builtins.MANAGEMENT_ROLES]
        if with_realm_admin:
            self.create_role(realm, {"name": "realm-admin", "description": "${role_realm-admin}", "composite": True,
                                     "_composites": [r["id"] for r in made]}, client)
        return made

    def _import_group(self, realm, rep, parent_id):
        group = self.create_group(realm, {k: v for k, v in rep.items() if k != "subGroups"}, parent_id, importing=True)
        for child in rep.get("subGroups", []):
            self._import_group(realm, child, group["id"])

    def _add_realm_admin_client(self, realm_name):
        master = self.realms["master"]
        client_id = f"{realm_name}-realm"
        if not self.find_client(master, client_id):
            client = self.create_client(master, {"clientId": client_id, "name": f"{realm_name} Realm", "bearerOnly": True,
                                                 "standardFlowEnabled": True, "attributes": {}})
            made = self._management_roles(master, client, with_realm_admin=False)
            # Master's admin role holds every realm's management roles.
            self.role(master, "admin")["_composites"].extend(r["id"] for r in made)

    def update_realm(self, name, rep):
        """Keycloak's realm PUT: top-level settings only (builtins.REALM_UPDATABLE_KEYS); nulls never reach here."""
        realm = self.realm(name)
        new_name = rep.get("realm") or name
        if new_name != name:
            if new_name in self.realms:
                raise conflict("Conflict detected. See logs for details")
            if name == "master":
                raise bad_request("Can't rename master realm")  # Keycloak 23's words
            self.realms = {(new_name if key == name else key): value for key, value in self.realms.items()}
            master = self.realms["master"]
            old_admin = self.find_client(master, f"{name}-realm")
            if old_admin:
                old_admin["clientId"] = f"{new_name}-realm"
                old_admin["name"] = f"{new_name} Realm"
        stored = realm["rep"]
        stored["realm"] = new_name
        if isinstance(rep.get("attributes"), dict):
            stored["attributes"] = dict(builtins.CIBA_ATTRIBUTE_DEFAULTS, **rep["attributes"])
        for key, value in rep.items():
            if key in builtins.REALM_UPDATABLE_KEYS:
                stored[key] = copy.deepcopy(value)
        self.mark_dirty()
        return realm

    def delete_realm(self, name):
        self.realm(name)
        if name == "master":
            raise bad_request("Cannot delete master realm")
        del self.realms[name]
        master = self.realms["master"]
        admin_client = self.find_client(master, f"{name}-realm")
        if admin_client:
            self.delete_client(master, admin_client["id"])
        self.sessions = {sid: s for sid, s in self.sessions.items() if s["realm"] != name}
        self.mark_dirty()

    # ------------------------------------------------------------------ client scopes
    def client_scope(self, realm, scope_id):
        return found(realm["client_scopes"].get(scope_id), "Could not find client scope")

    def find_client_scope(self, realm, name):
        return next((s for s in realm["client_scopes"].values() if s["name"] == name), None)

    def create_client_scope(self, realm, rep):
        name = new_name(rep, "name", partial(self.find_client_scope, realm), "Client scope name must not be empty", "Client Scope {name} already exists")
        scope = {"id": rep.get("id") or new_id(), "name": name, "protocol": rep.get("protocol", "openid-connect"),
                 "attributes": dict(rep.get("attributes", {}))}
        if "description" in rep:
            scope["description"] = rep["description"]
        scope["protocolMappers"] = []
        realm["client_scopes"][scope["id"]] = scope
        for mapper in rep.get("protocolMappers", []):
            self.add_mapper(scope, mapper)
        self.mark_dirty()
        return scope

    def update_client_scope(self, realm, scope_id, rep):
        scope = self.client_scope(realm, scope_id)
        name = rep.get("name", scope["name"])
        check_free(self.find_client_scope(realm, name), scope_id, f"Client Scope {name} already exists")
        for key in ("name", "description", "protocol"):
            if key in rep:
                scope[key] = rep[key]
        if "attributes" in rep:
            scope["attributes"] = dict(rep["attributes"])
        self.mark_dirty()

    def delete_client_scope(self, realm, scope_id):
        self.client_scope(realm, scope_id)
        for client in realm["clients"].values():
            if scope_id in client["_default_scopes"] or scope_id in client["_optional_scopes"]:
                raise bad_request("Cannot remove client scope, it is currently in use")
        realm["default_default_scopes"] = [s for s in realm["default_default_scopes"] if s != scope_id]
        realm["default_optional_scopes"] = [s for s in realm["default_optional_scopes"] if s != scope_id]
        del realm["client_scopes"][scope_id]
        self.mark_dirty()

    # ------------------------------------------------------------------ protocol mappers (clients and scopes)
    @staticmethod
    def mapper(owner, mapper_id):
        return found(next((m for m in owner["protocolMappers"] if m["id"] == mapper_id), None), "Model not found")

    def add_mapper(self, owner, rep):
        name = rep.get("name")
        if not name:
            raise bad_request("Protocol mapper name must not be empty")
        if not rep.get("protocolMapper"):
            raise bad_request("Protocol mapper type must not be empty")
        if any(m["name"] == name for m in owner["protocolMappers"]):
            raise conflict("Protocol mapper exists with same name")
        mapper = {"id": rep.get("id") or new_id(), "name": name, "protocol": rep.get("protocol", "openid-connect"),
                  "protocolMapper": rep["protocolMapper"], "consentRequired": bool(rep.get("consentRequired", False)),
                  "config": {k: str(v) for k, v in (rep.get("config") or {}).items()}}
        owner["protocolMappers"].append(mapper)
        self.mark_dirty()
        return mapper

    def update_mapper(self, owner, mapper_id, rep):
        mapper = self.mapper(owner, mapper_id)
        name = rep.get("name", mapper["name"])
        if any(m["name"] == name and m["id"] != mapper_id for m in owner["protocolMappers"]):
            raise conflict("Protocol mapper exists with same name")
        for key in ("name", "protocol", "protocolMapper", "consentRequired"):
            if key in rep:
                mapper[key] = rep[key]
        if "config" in rep:
            mapper["config"] = {k: str(v) for k, v in rep["config"].items()}
        self.mark_dirty()

    def delete_mapper(self, owner, mapper_id):
        mapper = self.mapper(owner, mapper_id)
        owner["protocolMappers"].remove(mapper)
        self.mark_dirty()

    # ------------------------------------------------------------------ clients
    def client(self, realm, client_uuid):
        return found(realm["clients"].get(client_uuid), "Could not find client")

    @staticmethod
    def find_client(realm, client_id):
        return next((c for c in realm["clients"].values() if c["clientId"] == client_id), None)

    def create_client(self, realm, rep):
        new_name(rep, "clientId", partial(self.find_client, realm), "clientId must not be empty", "Client {name} already exists")
        client = builtins.client_defaults()
        for key, value in rep.items():
            if key not in ("protocolMappers", "defaultClientScopes", "optionalClientScopes", "access"):
                client[key] = copy.deepcopy(value)
        client["id"] = rep.get("id") or new_id()
        client["protocolMappers"] = []
        if client["publicClient"] or client["bearerOnly"]:
            client.pop("secret", None)
        elif not client.get("secret"):
            client["secret"] = generate_secret()
        protocol = client.get("protocol", "openid-connect")
        realm["clients"][client["id"]] = client
        client["_default_scopes"] = self._scope_ids(realm, rep.get("defaultClientScopes"), realm["default_default_scopes"], protocol)
        client["_optional_scopes"] = self._scope_ids(realm, rep.get("optionalClientScopes"), realm["default_optional_scopes"], protocol)
        for mapper in rep.get("protocolMappers", []):
            self.add_mapper(client, mapper)
        self._sync_service_account(realm, client)
        self.mark_dirty()
        return client

    @staticmethod
    def _scope_ids(realm, names, fallback_ids, protocol):
        if names is None:
            ids = fallback_ids
        else:
            ids = [s["id"] for n in names for s in realm["client_scopes"].values() if s["name"] == n]
        return [i for i in ids if realm["client_scopes"][i].get("protocol", "openid-connect") == protocol]

    def update_client(self, realm, client_uuid, rep):
        client = self.client(realm, client_uuid)
        new_client_id = rep.get("clientId", client["clientId"])
        check_free(self.find_client(realm, new_client_id), client_uuid, f"Client {new_client_id} already exists")
        for key, value in rep.items():
            # Like Keycloak, an update ignores scope links, mappers and the id.
            if key not in ("id", "protocolMappers", "defaultClientScopes", "optionalClientScopes", "access"):
                client[key] = copy.deepcopy(value)
        if client.get("publicClient") or client.get("bearerOnly"):
            client.pop("secret", None)
        elif not client.get("secret"):
            client["secret"] = generate_secret()
        if rep.get("protocolMappers") is not None:
            self._sync_mappers(client, rep["protocolMappers"])
        self._sync_service_account(realm, client)
        self.mark_dirty()

    def _sync_mappers(self, owner, reps):
        """Keycloak's client update: mappers with a known id are updated, others added, the rest removed."""
        listed = {rep.get("id") for rep in reps}
        owner["protocolMappers"] = [m for m in owner["protocolMappers"] if m["id"] in listed]
        existing = {m["id"] for m in owner["protocolMappers"]}
        for rep in reps:
            if rep.get("id") in existing:
                self.update_mapper(owner, rep["id"], rep)
            else:
                self.add_mapper(owner, rep)

    def delete_client(self, realm, client_uuid):
        self.client(realm, client_uuid)
        del realm["clients"][client_uuid]
        for role in [r for r in realm["roles"].values() if r.get("_client") == client_uuid]:
            self.delete_role(realm, role)
        for user_id in [u["id"] for u in realm["users"].values() if u.get("_service_account_client") == client_uuid]:
            del realm["users"][user_id]
        self.mark_dirty()

    def regenerate_secret(self, realm, client_uuid):
        client = self.client(realm, client_uuid)
        if client.get("publicClient") or client.get("bearerOnly"):
            raise bad_request("Client is public or bearer-only and has no secret")
        client["secret"] = generate_secret()
        self.mark_dirty()
        return client["secret"]

    def _sync_service_account(self, realm, client):
        if not client.get("serviceAccountsEnabled"):
            return
        if self.service_account_user(realm, client):
            return
        user = self.create_user(realm, {"username": f"service-account-{client['clientId']}", "enabled": True,
                                        "serviceAccountClientId": client["clientId"]})
        user["_service_account_client"] = client["id"]

    @staticmethod
    def service_account_user(realm, client):
        return next((u for u in realm["users"].values() if u.get("_service_account_client") == client["id"]), None)

    def link_scope(self, realm, client_uuid, scope_id, default):
        client = self.client(realm, client_uuid)
        scope = self.client_scope(realm, scope_id)
        if scope.get("protocol", "openid-connect") != client.get("protocol", "openid-connect"):
            raise bad_request("Protocol mismatch between client and client scope")
        own, other = ("_default_scopes", "_optional_scopes") if default else ("_optional_scopes", "_default_scopes")
        if scope_id in client[other]:
            kind = "optional" if default else "default"
            raise conflict(f"Client scope {scope['name']} is already linked to the client as {kind} scope")
        if scope_id not in client[own]:
            client[own].append(scope_id)
            self.mark_dirty()

    def unlink_scope(self, realm, client_uuid, scope_id, default):
        client = self.client(realm, client_uuid)
        self.client_scope(realm, scope_id)
        key = "_default_scopes" if default else "_optional_scopes"
        if scope_id in client[key]:
            client[key].remove(scope_id)
            self.mark_dirty()

    # ------------------------------------------------------------------ groups
    def group(self, realm, group_id):
        return found(realm["groups"].get(group_id), "Could not find group by id")

    def group_path(self, realm, group):
        names = []
        while group is not None:
            names.append(group["name"])
            group = realm["groups"].get(group.get("parentId")) if group.get("parentId") else None
        return "/" + "/".join(reversed(names))

    @staticmethod
    def children(realm, parent_id):
        return sorted((g for g in realm["groups"].values() if g.get("parentId") == parent_id), key=lambda g: g["name"])

    def group_by_path(self, realm, path):
        path = "/" + path.strip("/")
        return found(next((g for g in realm["groups"].values() if self.group_path(realm, g) == path), None), "Group path does not exist")

    def _grant_imported_roles(self, realm, holder, rep):
        """The realmRoles and clientRoles a user or group representation names; like Keycloak, only a realm import maps them."""
        for role_name in rep.get("realmRoles", []):
            self.grant(realm, holder, [self.role(realm, role_name)])
        for client_id, role_names in (rep.get("clientRoles") or {}).items():
            client = found(self.find_client(realm, client_id), "Could not find client")
            self.grant(realm, holder, [self.role(realm, r, client) for r in role_names])

    def _check_sibling(self, realm, name, parent_id, own_id=None):
        for sibling in self.children(realm, parent_id):
            if sibling["name"] == name and sibling["id"] != own_id:
                if parent_id:
                    raise conflict(f"Sibling group named '{name}' already exists.")
                raise conflict(f"Top level group named '{name}' already exists.")

    def create_group(self, realm, rep, parent_id=None, importing=False):
        name = rep.get("name")
        if not name:
            raise bad_request("Group name is missing")
        if parent_id:
            self.group(realm, parent_id)
        self._check_sibling(realm, name, parent_id)
        group = {"id": rep.get("id") or new_id(), "name": name, "attributes": copy.deepcopy(rep.get("attributes", {})), "_roles": []}
        if importing:
            self._grant_imported_roles(realm, group, rep)
        if parent_id:
            group["parentId"] = parent_id
        realm["groups"][group["id"]] = group
        self.mark_dirty()
        return group

    def update_group(self, realm, group_id, rep):
        group = self.group(realm, group_id)
        if "name" in rep and rep["name"] != group["name"]:
            self._check_sibling(realm, rep["name"], group.get("parentId"), group_id)
            group["name"] = rep["name"]
        if "attributes" in rep:
            group["attributes"] = copy.deepcopy(rep["attributes"])
        self.mark_dirty()

    def move_group(self, realm, group_id, parent_id):
        group = self.group(realm, group_id)
        ancestor = parent_id
        while ancestor:
            if ancestor == group_id:
                raise bad_request("Cannot move group into itself or its subgroup")
            ancestor = self.group(realm, ancestor).get("parentId")
        self._check_sibling(realm, group["name"], parent_id, group_id)
        if parent_id:
            group["parentId"] = parent_id
        else:
            group.pop("parentId", None)
        self.mark_dirty()

    def delete_group(self, realm, group_id):
        self.group(realm, group_id)
        doomed = {group_id}
        changed = True
        while changed:
            changed = False
            for group in realm["groups"].values():
                if group.get("parentId") in doomed and group["id"] not in doomed:
                    doomed.add(group["id"])
                    changed = True
        for gid in doomed:
            del realm["groups"][gid]
        for user in realm["users"].values():
            user["_groups"] = [g for g in user["_groups"] if g not in doomed]
        self.mark_dirty()

    def join_group(self, realm, user, group):
        if group["id"] not in user["_groups"]:
            user["_groups"].append(group["id"])
            self.mark_dirty()

    def leave_group(self, realm, user, group):
        del realm  # membership lives on the user
        if group["id"] in user["_groups"]:
            user["_groups"].remove(group["id"])
            self.mark_dirty()

    # ------------------------------------------------------------------ users
    def user(self, realm, user_id):
        return found(realm["users"].get(user_id), "User not found")

    @staticmethod
    def find_user(realm, username):
        username = username.lower()
        return next((u for u in realm["users"].values() if u["username"] == username), None)

    def _check_unique(self, realm, username, email, own_id=None):
        check_free(self.find_user(realm, username), own_id, "User exists with same username")
        if email and not realm["rep"].get("duplicateEmailsAllowed"):
            for user in realm["users"].values():
                if user.get("email") == email.lower() and user["id"] != own_id:
                    raise conflict("User exists with same email")

    def create_user(self, realm, rep, importing=False):
        username = (rep.get("username") or "").strip().lower()
        if not username:
            raise bad_request("User name is missing")
        self._check_unique(realm, username, rep.get("email"))
        user = {"id": rep.get("id") or new_id(), "createdTimestamp": now_ms(), "username": username,
                "enabled": bool(rep.get("enabled", False)), "totp": False, "emailVerified": bool(rep.get("emailVerified", False)),
                "disableableCredentialTypes": [], "requiredActions": list(rep.get("requiredActions", [])), "notBefore": 0,
                "_groups": [], "_password": None}
        for key in ("firstName", "lastName", "serviceAccountClientId"):
            if rep.get(key) is not None:
                user[key] = rep[key]
        if rep.get("email"):
            user["email"] = rep["email"].lower()
        if rep.get("attributes"):
            user["attributes"] = copy.deepcopy(rep["attributes"])
        realm["users"][user["id"]] = user
        default_role = self.find_role(realm, f"default-roles-{realm['rep']['realm']}")
        user["_roles"] = [default_role["id"]] if default_role else []
        if importing:
            self._grant_imported_roles(realm, user, rep)
        for credential in rep.get("credentials", []):
            if credential.get("type", "password") == "password" and credential.get("value") is not None:
                self.set_password(user, credential["value"], credential.get("temporary", False))
        for path in rep.get("groups", []):
            self.join_group(realm, user, self.group_by_path(realm, path))
        self.mark_dirty()
        return user

    def update_user(self, realm, user_id, rep):
        user = self.user(realm, user_id)
        username = (rep.get("username") or user["username"]).lower()
        if username != user["username"] and not realm["rep"].get("editUsernameAllowed") and realm["rep"]["realm"] != "master":
            raise bad_request("error-user-attribute-read-only")
        self._check_unique(realm, username, rep.get("email"), user_id)
        user["username"] = username
        for key in ("enabled", "emailVerified", "firstName", "lastName", "requiredActions", "attributes"):
            if key in rep:
                user[key] = copy.deepcopy(rep[key])
        if "email" in rep:
            if rep["email"]:
                user["email"] = rep["email"].lower()
            else:
                user.pop("email", None)
        for credential in rep.get("credentials", []):
            if credential.get("type", "password") == "password" and credential.get("value") is not None:
                self.set_password(user, credential["value"], credential.get("temporary", False))
        self.mark_dirty()

    def delete_user(self, realm, user_id):
        self.user(realm, user_id)
        del realm["users"][user_id]
        self.sessions = {sid: s for sid, s in self.sessions.items() if s.get("user") != user_id}
        self.mark_dirty()

    def set_password(self, user, password, temporary=False):
        if not password:
            raise bad_request("Password cannot be empty")
        user["_password"] = hash_password(password)
        actions = [a for a in user.get("requiredActions", []) if a != "UPDATE_PASSWORD"]
        if temporary:
            actions.append("UPDATE_PASSWORD")
        user["requiredActions"] = actions
        self.mark_dirty()

    # ------------------------------------------------------------------ sessions (persisted, like Keycloak 25+)
    def open_session(self, realm_name, user_id, client_id):
        sid = new_id()
        self.sessions[sid] = {"realm": realm_name, "user": user_id, "client": client_id, "started": int(time.time()),
                              "last_refresh": int(time.time())}
        self.mark_dirty()
        return sid

    def prune_sessions(self, max_idle_seconds):
        limit = int(time.time()) - max_idle_seconds
        stale = [sid for sid, s in self.sessions.items() if s["last_refresh"] < limit]
        for sid in stale:
            del self.sessions[sid]
        if stale:
            self.mark_dirty()

    # ------------------------------------------------------------------ roles (realm roles and client roles)
    @staticmethod
    def find_role(realm, name, client=None):
        owner = client["id"] if client else None
        return next((r for r in realm["roles"].values() if r["name"] == name and r.get("_client") == owner), None)

    def role(self, realm, name, client=None):
        return found(self.find_role(realm, name, client), "Could not find role")

    def role_by_rep(self, realm, rep, client=None):
        """The role a mapping request names: by id like Keycloak, by name as a fallback."""
        found = realm["roles"].get(rep.get("id") or "")
        if found is None and rep.get("name"):
            found = self.find_role(realm, rep["name"], client)
        owner = client["id"] if client else None
        if found is None or found.get("_client") != owner:
            raise not_found("Role not found")
        return found

    def create_role(self, realm, rep, client=None):
        name = new_name(rep, "name", partial(self.find_role, realm, client=client), "Role name must not be empty", "Role with name {name} already exists")
        role = {"id": rep.get("id") or new_id(), "name": name, "composite": bool(rep.get("composite", False)),
                "clientRole": client is not None, "containerId": client["id"] if client else realm["rep"]["id"],
                "attributes": copy.deepcopy(rep.get("attributes", {})), "_composites": list(rep.get("_composites", []))}
        if rep.get("description") is not None:
            role["description"] = rep["description"]
        if client:
            role["_client"] = client["id"]
        realm["roles"][role["id"]] = role
        self.mark_dirty()
        return role

    def update_role(self, realm, role, rep):
        if "name" in rep and rep["name"] != role["name"]:
            client = realm["clients"].get(role.get("_client")) if role.get("_client") else None
            check_free(self.find_role(realm, rep["name"], client), role["id"], f"Role with name {rep['name']} already exists")
            role["name"] = rep["name"]
        for key in ("description", "attributes"):
            if key in rep:
                role[key] = copy.deepcopy(rep[key])
        self.mark_dirty()

    def delete_role(self, realm, role):
        del realm["roles"][role["id"]]
        for holder in list(realm["users"].values()) + list(realm["groups"].values()) + list(realm["roles"].values()):
            for key in ("_roles", "_composites"):
                if role["id"] in holder.get(key, []):
                    holder[key].remove(role["id"])
        self.mark_dirty()

    def grant(self, realm, holder, roles):
        """Map roles to a user or group (idempotent)."""
        del realm
        mapped = holder.setdefault("_roles", [])
        for role in roles:
            if role["id"] not in mapped:
                mapped.append(role["id"])
        self.mark_dirty()

    def revoke(self, realm, holder, roles):
        del realm
        ids = {role["id"] for role in roles}
        holder["_roles"] = [r for r in holder.get("_roles", []) if r not in ids]
        self.mark_dirty()

    def expand(self, realm, role_ids):
        """Role ids plus everything their composites contain."""
        seen = set()
        pending = list(role_ids)
        while pending:
            role_id = pending.pop()
            if role_id in seen or role_id not in realm["roles"]:
                continue
            seen.add(role_id)
            pending.extend(realm["roles"][role_id].get("_composites", []))
        return seen

    def effective_roles(self, realm, user):
        """Every role a user holds: direct, through its groups and their parents, and through composites."""
        direct = list(user.get("_roles", []))
        for group_id in user.get("_groups", []):
            group = realm["groups"].get(group_id)
            while group is not None:
                direct.extend(group.get("_roles", []))
                group = realm["groups"].get(group.get("parentId")) if group.get("parentId") else None
        return [realm["roles"][r] for r in self.expand(realm, direct)]

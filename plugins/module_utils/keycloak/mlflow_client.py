# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Keycloak side of MLflow single sign-on (mlflow-oidc-auth): client, groups scope, groups, memberships.

Everything is read and validated first, so a wrong realm, user or credential fails before the first
write. Then each part is one update_* step of UPDATES: compare; equal -> no change; check mode -> report
the change; otherwise write. Each step adds its part to the diff (the client secret masked) and names
each write it made, so a failure half-way says what exists now.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.masking import MASK
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.client import path
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.errors import (
    InvalidInput,
    KeycloakError,
    NotFound,
)

GROUP_MEMBERSHIP_MAPPER = "oidc-group-membership-mapper"
# Client attributes the module owns; the rest of the client (set by hand or by Keycloak) is left alone.
CLIENT_FIELDS = ("enabled", "protocol", "publicClient", "bearerOnly", "clientAuthenticatorType", "standardFlowEnabled",
                 "implicitFlowEnabled", "directAccessGrantsEnabled", "serviceAccountsEnabled", "rootUrl",
                 "redirectUris", "webOrigins", "name", "description")
SET_FIELDS = ("redirectUris", "webOrigins")


class Changes:
    """What was written so far, so that a failure half-way can say what exists now."""

    def __init__(self):
        self.done = []

    def record(self, what):
        self.done.append(what)


# --- desired state


def origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def redirect_uris(params):
    return sorted({params["mlflow_url"].rstrip("/") + "/callback", *(params.get("extra_redirect_uris") or [])})


def desired_client(params):
    client = {
        "clientId": params["client_id"],
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "bearerOnly": False,
        "clientAuthenticatorType": "client-secret",
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": params["direct_access_grants"],
        "serviceAccountsEnabled": False,
        "rootUrl": params["mlflow_url"].rstrip("/"),
        "redirectUris": redirect_uris(params),
        "webOrigins": sorted(set(params.get("web_origins") or [origin(params["mlflow_url"])])),
    }
    for option, field in (("client_name", "name"), ("description", "description")):
        if params.get(option) is not None:
            client[field] = params[option]
    return client


def desired_mapper(params):
    return {
        "name": params["groups_claim"],
        "protocol": "openid-connect",
        "protocolMapper": GROUP_MEMBERSHIP_MAPPER,
        "consentRequired": False,
        # Keycloak's own default is full.path=true ("/mlflow-admins"); mlflow-oidc-auth compares plain names.
        "config": {"claim.name": params["groups_claim"], "full.path": "false", "id.token.claim": "true",
                   "access.token.claim": "true", "userinfo.token.claim": "true",
                   "introspection.token.claim": "true"},
    }


def desired_scope(params):
    return {
        "name": params["groups_scope"],
        "description": "Group membership, for MLflow's mlflow-oidc-auth",
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "true", "display.on.consent.screen": "false"},
        "protocolMappers": [desired_mapper(params)],
    }


def default_scope_names(params):
    return sorted({"profile", "email", params["groups_scope"]})


def group_names(params):
    return [params["admin_group"], params["users_group"]]


# --- normalisation and comparison


def client_view(client):
    """The client as the module compares and diffs it: owned fields only, lists as sorted lists."""
    view = {}
    for field in ("clientId",) + CLIENT_FIELDS:
        if field in client:
            view[field] = sorted(client[field] or []) if field in SET_FIELDS else client[field]
    return view


def client_differences(current, desired):
    """The owned fields whose current value differs from the desired one."""
    view = client_view(current)
    return sorted(field for field, value in client_view(desired).items() if view.get(field) != value)


def mapper_is_current(mapper, desired):
    config = mapper.get("config") or {}
    return (mapper.get("protocolMapper") == desired["protocolMapper"]
            and all(str(config.get(key)).lower() == value for key, value in desired["config"].items()))


def validate(params):
    """Input errors, found before Keycloak is asked anything."""
    url = urlsplit(params.get("mlflow_url") or "")
    if params["state"] == "present":
        if url.scheme not in ("http", "https") or not url.netloc:
            raise InvalidInput(f"mlflow_url must be an http(s) URL, got {params.get('mlflow_url')!r}")
        if params["admin_group"] == params["users_group"]:
            raise InvalidInput("admin_group and users_group must differ")
        for uri in params.get("extra_redirect_uris") or []:
            if not urlsplit(uri).scheme:
                raise InvalidInput(f"redirect URI {uri!r} is not absolute")


# --- Keycloak reads


def find_oidc_client(client, realm, client_id):
    return next((item for item in client.get(path(realm, "clients"), {"clientId": client_id}) or []
                 if item.get("clientId") == client_id), None)


def find_group(client, realm, name):
    groups = client.get(path(realm, "groups"), {"search": name, "exact": "true", "briefRepresentation": "true"}) or []
    return next((group for group in groups if group.get("name") == name), None)


def find_user(client, realm, username):
    users = client.get(path(realm, "users"), {"username": username, "exact": "true"}) or []
    return next((user for user in users if user.get("username", "").lower() == username.lower()), None)


def require_realm(client, realm):
    """The realm, or NotFound with a plain message; the first call, so bad credentials also fail here."""
    try:
        return client.get(path(realm))
    except NotFound:
        raise NotFound(f"realm {realm!r} does not exist in Keycloak at {client.base_url}", status=404) from None


def endpoints(params):
    """(issuer, discovery URL) of the realm, as the module returns them; the one place that builds them."""
    base = (params.get("issuer_base_url") or params["auth_keycloak_url"]).rstrip("/")
    issuer = f"{base}/realms/{params['realm']}"
    return issuer, f"{issuer}/.well-known/openid-configuration"


# --- present: read everything, then the update_* steps


class Present:
    """What state=present read before its first write, and what its update_* steps share.

    oidc_client: MLflow's client in Keycloak (None until created); groups_scope: the groups client scope
    (None until created); scope_ids: client scope name -> id; groups: group name -> group (None until
    created), the module's groups and those the memberships name; memberships: username -> (user, group
    names). before/after: the diff, which each step adds its part to; secret: the client secret, once read.
    """

    def __init__(self, params, changes):
        self.params = params
        self.realm = params["realm"]
        self.changes = changes
        self.desired_client = desired_client(params)
        self.oidc_client = None
        self.groups_scope = None
        self.scope_ids = {}
        self.groups = {}
        self.memberships = {}
        self.secret = None
        self.before, self.after = {}, {}

    @property
    def client_uuid(self):
        return self.oidc_client["id"] if self.oidc_client else None


def read_present(client, params, changes):
    """The realm's current state for state=present; a missing default scope, user or group fails here."""
    present = Present(params, changes)
    realm = present.realm
    present.oidc_client = find_oidc_client(client, realm, params["client_id"])
    scopes = client.get(path(realm, "client-scopes")) or []
    present.groups_scope = next((item for item in scopes if item.get("name") == params["groups_scope"]), None)
    present.scope_ids = {item["name"]: item["id"] for item in scopes}
    for name in ("profile", "email"):
        if name not in present.scope_ids:
            raise InvalidInput(f"realm {realm!r} has no client scope {name!r}")
    present.groups = {name: find_group(client, realm, name) for name in group_names(params)}
    for entry in params.get("memberships") or []:
        user = find_user(client, realm, entry["username"])
        if user is None:
            raise InvalidInput(f"user {entry['username']!r} does not exist in realm {realm!r}")
        for name in entry["groups"]:
            if name not in present.groups:
                present.groups[name] = find_group(client, realm, name)
                if present.groups[name] is None:
                    raise InvalidInput(f"group {name!r} of user {entry['username']!r} does not exist in realm {realm!r}"
                                       f" and is not one the module creates ({', '.join(group_names(params))})")
        present.memberships[entry["username"]] = (user, sorted(set(entry["groups"])))
    return present


def update_client(client, present, check_mode):
    """The client's owned fields; an update keeps the fields the module does not own."""
    current, desired = present.oidc_client, present.desired_client
    present.before["client"] = dict(client_view(current), secret=MASK) if current else None
    present.after["client"] = dict(client_view(desired), secret=MASK)
    if current is None:
        if not check_mode:
            client_uuid = client.create(path(present.realm, "clients"), desired)
            present.changes.record(f"created client {desired['clientId']}")
            present.oidc_client = client.get(path(present.realm, "clients", client_uuid))
        return True
    differences = client_differences(current, desired)
    if not differences:
        return False
    if not check_mode:
        body = {key: value for key, value in current.items() if key != "protocolMappers"}
        body.update(desired)
        client.put(path(present.realm, "clients", current["id"]), body)
        present.changes.record(f"updated client {desired['clientId']} ({', '.join(differences)})")
    return True


def update_groups_scope(client, present, check_mode):
    """The groups client scope and its group-membership mapper."""
    params, scope = present.params, present.groups_scope
    mapper = desired_mapper(params)
    present.after["client_scope"] = {"name": params["groups_scope"],
                                     "mapper": {"protocolMapper": mapper["protocolMapper"], "config": mapper["config"]}}
    if scope is None:
        present.before["client_scope"] = None
        if not check_mode:
            present.scope_ids[params["groups_scope"]] = client.create(path(present.realm, "client-scopes"),
                                                                      desired_scope(params))
            present.changes.record(f"created client scope {params['groups_scope']}")
        return True
    models = path(present.realm, "client-scopes", scope["id"], "protocol-mappers", "models")
    current = next((item for item in client.get(models) or [] if item.get("name") == mapper["name"]), None)
    present.before["client_scope"] = {"name": scope["name"], "mapper": current and {
        "protocolMapper": current.get("protocolMapper"), "config": current.get("config")}}
    if current is not None and mapper_is_current(current, mapper):
        return False
    if not check_mode:
        if current is None:
            client.create(models, mapper)
        else:
            config = dict(current.get("config") or {}, **mapper["config"])
            body = dict(current, protocolMapper=mapper["protocolMapper"], config=config)
            client.put(f"{models}/{path(current['id'])}", body)
        present.changes.record(f"set the {mapper['name']} mapper of client scope {params['groups_scope']}")
    return True


def update_default_scopes(client, present, check_mode):
    """The client's default scopes: profile, email and groups added (openid is implicit in Keycloak)."""
    wanted = default_scope_names(present.params)
    current = []
    if present.client_uuid:
        scopes_path = path(present.realm, "clients", present.client_uuid, "default-client-scopes")
        current = sorted(item["name"] for item in client.get(scopes_path) or [])
    if present.before["client"]:
        present.before["client"]["defaultClientScopes"] = current
    present.after["client"]["defaultClientScopes"] = sorted(set(current) | set(wanted))
    missing = [name for name in wanted if name not in current]
    if not missing:
        return False
    if not check_mode:
        for name in missing:
            client.put(path(present.realm, "clients", present.client_uuid, "default-client-scopes",
                            present.scope_ids[name]))
        present.changes.record(f"added default scopes {', '.join(missing)} to client {present.params['client_id']}")
    return True


def update_groups(client, present, check_mode):
    """The admin and users groups, created when missing."""
    groups = present.groups
    present.before["groups"] = sorted(name for name, group in groups.items() if group)
    missing = [name for name in group_names(present.params) if groups[name] is None]
    if not check_mode:
        for name in missing:
            groups[name] = {"id": client.create(path(present.realm, "groups"), {"name": name}), "name": name}
            present.changes.record(f"created group {name}")
    present.after["groups"] = sorted(groups)
    return bool(missing)


def update_memberships(client, present, check_mode):
    """The memberships asked for, added; never removed, since other tools may manage more."""
    changed = False
    present.before["memberships"], present.after["memberships"] = {}, {}
    for username, (user, wanted) in sorted(present.memberships.items()):
        current = sorted(item["name"] for item in client.get(path(present.realm, "users", user["id"], "groups")) or [])
        present.before["memberships"][username] = current
        present.after["memberships"][username] = sorted(set(current) | set(wanted))
        for name in wanted:
            if name in current:
                continue
            changed = True
            if not check_mode:
                client.put(path(present.realm, "users", user["id"], "groups", present.groups[name]["id"]))
                present.changes.record(f"added user {username} to group {name}")
    return changed


def update_secret(client, present, check_mode):
    """The client secret: read, or rotated when regenerate_secret asks; unknown until the client exists."""
    if not present.client_uuid:
        return False
    secret_path = path(present.realm, "clients", present.client_uuid, "client-secret")
    if not present.params["regenerate_secret"]:
        present.secret = (client.get(secret_path) or {}).get("value")
        return False
    present.after["client"]["secret"] = MASK + " (regenerated)"
    if check_mode:
        present.secret = (client.get(secret_path) or {}).get("value")
    else:
        present.secret = (client.post(secret_path) or {}).get("value")
        present.changes.record(f"regenerated the secret of client {present.params['client_id']}")
    return True


# In this order: the default scopes need the client and the groups scope, the memberships the groups.
UPDATES = (update_client, update_groups_scope, update_default_scopes, update_groups, update_memberships,
           update_secret)


def ensure_present(client, params, check_mode, changes):
    """(changed, client UUID, client secret, diff) of bringing the realm to state=present."""
    present = read_present(client, params, changes)
    changed = False
    for update in UPDATES:
        changed |= update(client, present, check_mode)
    return changed, present.client_uuid, present.secret, {"before": present.before, "after": present.after}


def mlflow_env(params, secret, discovery_url):
    """The environment mlflow-oidc-auth reads."""
    return {
        "OIDC_DISCOVERY_URL": discovery_url,
        "OIDC_CLIENT_ID": params["client_id"],
        "OIDC_CLIENT_SECRET": secret or "",
        "OIDC_REDIRECT_URI": params["mlflow_url"].rstrip("/") + "/callback",
        "OIDC_SCOPE": ",".join(["openid", "profile", "email", params["groups_scope"]]),
        "OIDC_GROUPS_ATTRIBUTE": params["groups_claim"],
        "OIDC_ADMIN_GROUP_NAME": params["admin_group"],
        "OIDC_GROUP_NAME": params["users_group"],
    }


# --- absent


def ensure_absent(client, params, check_mode, changes):
    realm = params["realm"]
    oidc_client = find_oidc_client(client, realm, params["client_id"])
    groups = {name: find_group(client, realm, name) for name in group_names(params)} if params["remove_groups"] else {}
    before = {"client": dict(client_view(oidc_client), secret=MASK) if oidc_client else None,
              "groups": sorted(name for name, group in groups.items() if group)}
    after = {"client": None, "groups": []}
    changed = False
    if oidc_client is not None:
        changed = True
        if not check_mode:
            client.delete(path(realm, "clients", oidc_client["id"]))
            changes.record(f"deleted client {params['client_id']}")
    for name, group in sorted(groups.items()):
        if group is not None:
            changed = True
            if not check_mode:
                client.delete(path(realm, "groups", group["id"]))
                changes.record(f"deleted group {name}")
    return changed, {"before": before, "after": after}


def ensure_mlflow_client(client, params, check_mode):
    """The module's work: validate, read, then converge; returns the module result."""
    validate(params)
    require_realm(client, params["realm"])
    changes = Changes()
    issuer, discovery_url = endpoints(params)
    try:
        if params["state"] == "absent":
            changed, diff = ensure_absent(client, params, check_mode, changes)
            return {"changed": changed, "diff": diff, "client_id": params["client_id"]}
        changed, client_uuid, secret, diff = ensure_present(client, params, check_mode, changes)
    except KeycloakError as error:
        # The common module runner reports these, and `changed`, in the failed task's result.
        error.done = changes.done
        raise
    return {
        "changed": changed,
        "diff": diff,
        "client_id": params["client_id"],
        "id": client_uuid,
        "client_secret": secret,
        "issuer": issuer,
        "discovery_url": discovery_url,
        "redirect_uris": redirect_uris(params),
        "groups": {"admin": params["admin_group"], "users": params["users_group"]},
        "mlflow_env": mlflow_env(params, secret, discovery_url),
    }

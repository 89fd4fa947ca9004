# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Keycloak side of MLflow single sign-on (mlflow-oidc-auth): client, groups scope, groups, memberships.

Everything is read and validated first, so a wrong realm, user or credential fails before the first
write. Then each part follows compare -> check mode -> act, and the diff shows the client secret masked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.client import path
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.errors import (
    InvalidInput,
    KeycloakError,
    NotFound,
)

MASK = "********"
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


def find_client(api, realm, client_id):
    return next((client for client in api.get(path(realm, "clients"), {"clientId": client_id}) or []
                 if client.get("clientId") == client_id), None)


def find_group(api, realm, name):
    groups = api.get(path(realm, "groups"), {"search": name, "exact": "true", "briefRepresentation": "true"}) or []
    return next((group for group in groups if group.get("name") == name), None)


def find_user(api, realm, username):
    users = api.get(path(realm, "users"), {"username": username, "exact": "true"}) or []
    return next((user for user in users if user.get("username", "").lower() == username.lower()), None)


def require_realm(api, realm):
    """The realm, or NotFound with a plain message; the first call, so bad credentials also fail here."""
    try:
        return api.get(path(realm))
    except NotFound:
        raise NotFound(f"realm {realm!r} does not exist in Keycloak at {api.base_url}", status=404) from None


def endpoints(params):
    base = (params.get("issuer_base_url") or params["auth_keycloak_url"]).rstrip("/")
    issuer = f"{base}/realms/{params['realm']}"
    return issuer, f"{issuer}/.well-known/openid-configuration"


# --- present


def ensure_present(api, params, check_mode, changes):
    realm = params["realm"]
    desired = desired_client(params)
    client = find_client(api, realm, params["client_id"])
    scopes = api.get(path(realm, "client-scopes")) or []
    scope = next((item for item in scopes if item.get("name") == params["groups_scope"]), None)
    all_scopes = {item["name"]: item["id"] for item in scopes}
    for name in ("profile", "email"):
        if name not in all_scopes:
            raise InvalidInput(f"realm {realm!r} has no client scope {name!r}")
    groups = {name: find_group(api, realm, name) for name in group_names(params)}
    wanted_memberships = {}
    for entry in params.get("memberships") or []:
        user = find_user(api, realm, entry["username"])
        if user is None:
            raise InvalidInput(f"user {entry['username']!r} does not exist in realm {realm!r}")
        for name in entry["groups"]:
            if name not in groups:
                groups[name] = find_group(api, realm, name)
                if groups[name] is None:
                    raise InvalidInput(f"group {name!r} of user {entry['username']!r} does not exist in realm {realm!r}"
                                       f" and is not one the module creates ({', '.join(group_names(params))})")
        wanted_memberships[entry["username"]] = (user, sorted(set(entry["groups"])))

    before, after = {}, {}
    changed = False

    # The client.
    before["client"] = dict(client_view(client), secret=MASK) if client else None
    after["client"] = dict(client_view(desired), secret=MASK)
    if client is None:
        changed = True
        if not check_mode:
            client_uuid = api.create(path(realm, "clients"), desired)
            changes.record(f"created client {params['client_id']}")
            client = api.get(path(realm, "clients", client_uuid))
    else:
        differences = client_differences(client, desired)
        if differences:
            changed = True
            if not check_mode:
                body = {key: value for key, value in client.items() if key != "protocolMappers"}
                body.update(desired)
                api.put(path(realm, "clients", client["id"]), body)
                changes.record(f"updated client {params['client_id']} ({', '.join(differences)})")
    client_uuid = client["id"] if client else None

    # The groups client scope and its group-membership mapper.
    mapper = desired_mapper(params)
    if scope is None:
        changed = True
        before["client_scope"] = None
        if not check_mode:
            scope_id = api.create(path(realm, "client-scopes"), desired_scope(params))
            changes.record(f"created client scope {params['groups_scope']}")
            all_scopes[params["groups_scope"]] = scope_id
    else:
        mappers = api.get(path(realm, "client-scopes", scope["id"], "protocol-mappers", "models")) or []
        current = next((item for item in mappers if item.get("name") == mapper["name"]), None)
        before["client_scope"] = {"name": scope["name"], "mapper": current and {
            "protocolMapper": current.get("protocolMapper"), "config": current.get("config")}}
        if current is None or not mapper_is_current(current, mapper):
            changed = True
            if not check_mode:
                models = path(realm, "client-scopes", scope["id"], "protocol-mappers", "models")
                if current is None:
                    api.create(models, mapper)
                else:
                    config = dict(current.get("config") or {}, **mapper["config"])
                    api.put(f"{models}/{path(current['id'])}", dict(current, protocolMapper=mapper["protocolMapper"],
                                                                    config=config))
                changes.record(f"set the {mapper['name']} mapper of client scope {params['groups_scope']}")
    after["client_scope"] = {"name": params["groups_scope"], "mapper": {"protocolMapper": mapper["protocolMapper"],
                                                                        "config": mapper["config"]}}

    # The client's default scopes: profile, email and groups (openid is implicit in Keycloak).
    wanted_scopes = default_scope_names(params)
    current_scopes = []
    if client_uuid:
        current_scopes = sorted(item["name"] for item in api.get(path(realm, "clients", client_uuid,
                                                                      "default-client-scopes")) or [])
    missing_scopes = [name for name in wanted_scopes if name not in current_scopes]
    if before["client"]:
        before["client"]["defaultClientScopes"] = current_scopes
    after["client"]["defaultClientScopes"] = sorted(set(current_scopes) | set(wanted_scopes))
    if missing_scopes:
        changed = True
        if not check_mode:
            for name in missing_scopes:
                api.put(path(realm, "clients", client_uuid, "default-client-scopes", all_scopes[name]))
            changes.record(f"added default scopes {', '.join(missing_scopes)} to client {params['client_id']}")

    # Groups.
    before["groups"] = sorted(name for name, group in groups.items() if group)
    for name in group_names(params):
        if groups[name] is None:
            changed = True
            if not check_mode:
                groups[name] = {"id": api.create(path(realm, "groups"), {"name": name}), "name": name}
                changes.record(f"created group {name}")
    after["groups"] = sorted(groups)

    # Memberships (added, never removed: other tools may manage more).
    before["memberships"], after["memberships"] = {}, {}
    for username, (user, wanted) in sorted(wanted_memberships.items()):
        current = sorted(item["name"] for item in api.get(path(realm, "users", user["id"], "groups")) or [])
        before["memberships"][username] = current
        after["memberships"][username] = sorted(set(current) | set(wanted))
        for name in wanted:
            if name in current:
                continue
            changed = True
            if not check_mode:
                api.put(path(realm, "users", user["id"], "groups", groups[name]["id"]))
                changes.record(f"added user {username} to group {name}")

    # The secret: kept, unless asked to rotate it.
    secret = None
    if client_uuid:
        secret_path = path(realm, "clients", client_uuid, "client-secret")
        if params["regenerate_secret"]:
            changed = True
            after["client"]["secret"] = MASK + " (regenerated)"
            if not check_mode:
                secret = (api.post(secret_path) or {}).get("value")
                changes.record(f"regenerated the secret of client {params['client_id']}")
            else:
                secret = (api.get(secret_path) or {}).get("value")
        else:
            secret = (api.get(secret_path) or {}).get("value")
    return changed, client_uuid, secret, {"before": before, "after": after}


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


def ensure_absent(api, params, check_mode, changes):
    realm = params["realm"]
    client = find_client(api, realm, params["client_id"])
    groups = {name: find_group(api, realm, name) for name in group_names(params)} if params["remove_groups"] else {}
    before = {"client": dict(client_view(client), secret=MASK) if client else None,
              "groups": sorted(name for name, group in groups.items() if group)}
    after = {"client": None, "groups": []}
    changed = False
    if client is not None:
        changed = True
        if not check_mode:
            api.delete(path(realm, "clients", client["id"]))
            changes.record(f"deleted client {params['client_id']}")
    for name, group in sorted(groups.items()):
        if group is not None:
            changed = True
            if not check_mode:
                api.delete(path(realm, "groups", group["id"]))
                changes.record(f"deleted group {name}")
    return changed, {"before": before, "after": after}


def ensure_mlflow_client(api, params, check_mode):
    """The module's work: validate, read, then converge; returns the module result."""
    validate(params)
    require_realm(api, params["realm"])
    changes = Changes()
    issuer, discovery_url = endpoints(params)
    try:
        if params["state"] == "absent":
            changed, diff = ensure_absent(api, params, check_mode, changes)
            return {"changed": changed, "diff": diff, "client_id": params["client_id"]}
        changed, client_uuid, secret, diff = ensure_present(api, params, check_mode, changes)
    except KeycloakError as error:
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

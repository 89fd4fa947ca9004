# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A realm's top-level settings: created when missing, then only the settings that differ are written.

Keycloak 23's realm PUT (RealmAdminResource.updateRealm) copies only the fields a representation carries and
leaves a missing one as it is, so a PUT of the differing fields alone changes those and nothing else. The input
is checked and the realm read before the first write; each update_* step compares, reports in check mode, or
writes, and adds its part to the diff.
"""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.client import path
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.errors import (
    InvalidInput,
    KeycloakError,
    NotFound,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.mlflow_client import Changes

# Module option -> the RealmRepresentation field it owns; an option left unset (None) leaves its field alone.
SETTINGS = (("display_name", "displayName"), ("enabled", "enabled"))
# Characters a realm name cannot hold: it is one segment of every Admin API and OIDC URL.
PATH_SEPARATORS = ("/", "\\")
MAX_NAME_LENGTH = 255


def validate(params):
    """Input errors, found before Keycloak is asked anything."""
    name = params.get("realm")
    if (not name or name != name.strip() or len(name) > MAX_NAME_LENGTH
            or any(char in name for char in PATH_SEPARATORS)):
        raise InvalidInput(f"realm must be a realm name: 1 to {MAX_NAME_LENGTH} characters without '/', '\\' or"
                           f" surrounding spaces, got {name!r}")
    if params["state"] == "absent" and name == "master":
        raise InvalidInput("the master realm cannot be removed")


def desired_settings(params):
    return {field: params[option] for option, field in SETTINGS if params.get(option) is not None}


def realm_view(realm):
    """The realm as the module compares and diffs it: its name and the fields the module owns."""
    if realm is None:
        return None
    return dict({"realm": realm.get("realm")}, **{field: realm.get(field) for _option, field in SETTINGS})


def read_realm(client, name):
    """The realm's top-level representation, or None when it does not exist; bad credentials fail here."""
    try:
        return client.get(path(name))
    except NotFound:
        return None


class RealmState:
    """What the module read before its first write (current: the realm or None) and the diff its steps fill in."""

    def __init__(self, params, current, changes):
        self.name = params["realm"]
        self.desired = desired_settings(params)
        self.current = current
        self.changes = changes
        self.before = realm_view(current)


def update_existence(client, state, check_mode):
    """The realm, created with the desired settings when missing (POST /admin/realms)."""
    if state.current is not None:
        return False
    body = dict(state.desired, realm=state.name)
    if check_mode:
        state.current = body
    else:
        client.create("", body)
        state.changes.record(f"created realm {state.name}")
        state.current = client.get(path(state.name))
    return True


def update_settings(client, state, check_mode):
    """The owned settings that differ, and only those, in one partial PUT."""
    differences = {field: value for field, value in state.desired.items() if state.current.get(field) != value}
    if not differences:
        return False
    if not check_mode:
        client.put(path(state.name), differences)
        state.changes.record(f"updated realm {state.name} ({', '.join(sorted(differences))})")
    state.current = dict(state.current, **differences)
    return True


# In this order: the settings step compares against the realm the first step may have created.
UPDATES = (update_existence, update_settings)


def ensure_present(client, state, check_mode):
    changed = False
    for update in UPDATES:
        changed |= update(client, state, check_mode)
    return changed


def ensure_absent(client, state, check_mode):
    if state.current is None:
        return False
    if not check_mode:
        client.delete(path(state.name))
        state.changes.record(f"deleted realm {state.name}")
    state.current = None
    return True


def ensure_realm(client, params, check_mode):
    """The module's work: validate, read, then converge; returns the module result."""
    validate(params)
    changes = Changes()
    state = RealmState(params, read_realm(client, params["realm"]), changes)
    try:
        ensure = ensure_present if params["state"] == "present" else ensure_absent
        changed = ensure(client, state, check_mode)
    except KeycloakError as error:
        # The common module runner reports these, and `changed`, in the failed task's result.
        error.done = changes.done
        raise
    result = {"changed": changed, "diff": {"before": state.before, "after": realm_view(state.current)},
              "realm": state.name}
    if state.current is not None:
        result.update(id=state.current.get("id"), display_name=state.current.get("displayName"),
                      enabled=state.current.get("enabled"))
    return result

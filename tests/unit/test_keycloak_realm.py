"""keycloak/realm.py: input checks, the update_* steps (compare -> check mode -> act, a partial PUT of what
differs), absent, and the module result."""

import copy

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak import errors, realm

PARAMS = {"realm": "ml", "display_name": "ML platform", "enabled": True, "state": "present"}
# A realm as Keycloak 23 answers GET /admin/realms/ml, trimmed to a few of its settings.
STORED = {"id": "r-1", "realm": "ml", "displayName": "ML platform", "enabled": True, "sslRequired": "external",
          "accessTokenLifespan": 300, "attributes": {"frontendUrl": ""}}


class FakeClient:
    """KeycloakClient's get/create/put/delete on one stored realm (None: missing); writes are recorded."""

    def __init__(self, stored=None, fail_on=None):
        self.stored = copy.deepcopy(stored)
        self.fail_on = fail_on
        self.writes = []

    def get(self, api_path, query=None):
        if self.stored is None:
            raise errors.NotFound("Realm not found.", status=404, operation="GET /admin/realms/" + api_path)
        return copy.deepcopy(self.stored)

    def _write(self, method, api_path, body=None):
        if method == self.fail_on:
            raise errors.Transient("unknown_error", status=500, operation=f"{method} /admin/realms/{api_path}")
        self.writes.append((method, api_path, body))

    def create(self, api_path, body):
        self._write("POST", api_path, body)
        self.stored = dict(body, id="r-new")
        return body["realm"]

    def put(self, api_path, body=None):
        self._write("PUT", api_path, body)
        self.stored.update(body)

    def delete(self, api_path):
        self._write("DELETE", api_path)
        self.stored = None


def state_of(current, **params):
    return realm.RealmState(dict(PARAMS, **params), copy.deepcopy(current), realm.Changes())


# --- input


@pytest.mark.parametrize("name", ["", None, " ml", "ml ", "a/b", "a\\b", "r" * 256])
def test_a_bad_realm_name_is_refused_before_any_request(name):
    client = FakeClient(STORED)
    with pytest.raises(errors.InvalidInput, match="realm must be a realm name: 1 to 255 characters"):
        realm.ensure_realm(client, dict(PARAMS, realm=name), False)
    assert client.writes == []


def test_the_master_realm_cannot_be_removed():
    client = FakeClient(dict(STORED, realm="master"))
    with pytest.raises(errors.InvalidInput, match="the master realm cannot be removed"):
        realm.ensure_realm(client, dict(PARAMS, realm="master", state="absent"), False)
    assert client.writes == []


def test_unset_options_are_not_owned():
    assert realm.desired_settings(dict(PARAMS, display_name=None)) == {"enabled": True}


# --- update_existence


@pytest.mark.parametrize("check_mode", [True, False])
def test_update_existence_creates_a_missing_realm_with_the_desired_settings(check_mode):
    client, state = FakeClient(), state_of(None)
    assert realm.update_existence(client, state, check_mode)
    if check_mode:
        assert client.writes == [] and state.changes.done == []
    else:
        assert client.writes == [("POST", "", {"realm": "ml", "displayName": "ML platform", "enabled": True})]
        assert state.changes.done == ["created realm ml"] and state.current["id"] == "r-new"
    # The settings step then finds nothing to write.
    assert not realm.update_settings(client, state, check_mode)
    assert len(client.writes) == (0 if check_mode else 1)


def test_update_existence_leaves_an_existing_realm_alone():
    client, state = FakeClient(STORED), state_of(STORED)
    assert not realm.update_existence(client, state, False)
    assert client.writes == []


# --- update_settings


def test_update_settings_leaves_a_current_realm_alone():
    client, state = FakeClient(STORED), state_of(STORED)
    assert not realm.update_settings(client, state, False)
    assert client.writes == []


@pytest.mark.parametrize("check_mode", [True, False])
def test_update_settings_puts_only_the_fields_that_differ(check_mode):
    stored = dict(STORED, displayName="Old name")
    client, state = FakeClient(stored), state_of(stored)
    assert realm.update_settings(client, state, check_mode)
    if check_mode:
        assert client.writes == [] and client.stored == stored
    else:
        # Keycloak copies only the fields a PUT carries: the other settings stay as they are.
        assert client.writes == [("PUT", "ml", {"displayName": "ML platform"})]
        assert client.stored == dict(STORED)
        assert state.changes.done == ["updated realm ml (displayName)"]
    assert state.current["displayName"] == "ML platform"


def test_update_settings_sets_a_missing_display_name_and_the_enabled_flag():
    stored = {key: value for key, value in STORED.items() if key != "displayName"}
    stored["enabled"] = False
    client, state = FakeClient(stored), state_of(stored)
    assert realm.update_settings(client, state, False)
    assert client.writes == [("PUT", "ml", {"displayName": "ML platform", "enabled": True})]
    assert state.changes.done == ["updated realm ml (displayName, enabled)"]


def test_an_unset_display_name_is_left_alone():
    stored = dict(STORED, displayName="Set by hand")
    client, state = FakeClient(stored), state_of(stored, display_name=None)
    assert not realm.update_settings(client, state, False)
    assert client.writes == []


# --- ensure_realm: the module result


def test_a_converged_realm_is_only_read():
    client = FakeClient(STORED)
    result = realm.ensure_realm(client, PARAMS, False)
    assert client.writes == []
    assert result == {"changed": False, "realm": "ml", "id": "r-1", "display_name": "ML platform", "enabled": True,
                      "diff": {"before": {"realm": "ml", "displayName": "ML platform", "enabled": True},
                               "after": {"realm": "ml", "displayName": "ML platform", "enabled": True}}}


def test_check_mode_on_a_missing_realm_reports_the_creation_and_writes_nothing():
    client = FakeClient()
    result = realm.ensure_realm(client, PARAMS, True)
    assert result["changed"] and client.writes == [] and result["id"] is None
    assert result["diff"] == {"before": None, "after": {"realm": "ml", "displayName": "ML platform", "enabled": True}}


def test_the_diff_shows_the_changed_setting():
    client = FakeClient(dict(STORED, displayName="Old name"))
    diff = realm.ensure_realm(client, PARAMS, False)["diff"]
    assert diff["before"]["displayName"] == "Old name" and diff["after"]["displayName"] == "ML platform"


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_deletes_an_existing_realm_then_has_nothing_to_do(check_mode):
    client = FakeClient(STORED)
    result = realm.ensure_realm(client, dict(PARAMS, state="absent"), check_mode)
    assert result == {"changed": True, "realm": "ml",
                      "diff": {"before": {"realm": "ml", "displayName": "ML platform", "enabled": True},
                               "after": None}}
    assert client.writes == ([] if check_mode else [("DELETE", "ml", None)])
    if not check_mode:
        assert not realm.ensure_realm(client, dict(PARAMS, state="absent"), False)["changed"]


class IgnoringClient(FakeClient):
    """A Keycloak that stores another display name than the one created with, then fails the PUT that repairs it."""

    def create(self, api_path, body):
        super().create(api_path, body)
        self.stored["displayName"] = "Other"


def test_a_failed_write_after_the_creation_says_what_was_done():
    client = IgnoringClient(fail_on="PUT")
    with pytest.raises(errors.Transient) as raised:
        realm.ensure_realm(client, PARAMS, False)
    assert raised.value.done == ["created realm ml"]

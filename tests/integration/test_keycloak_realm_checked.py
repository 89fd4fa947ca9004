"""keycloak_realm_checked on the sandbox's Keycloak emulator; state checked with python-keycloak and the request log."""

import uuid

import pytest

from tests.integration.keycloak_support import (
    admin, admin_writes, faults_answered, requests_total, reset_requests, run_task, set_faults)

PLAYBOOK = "tests/integration/playbooks/keycloak_realm_checked/realm.yml"


@pytest.fixture()
def realm(sandbox):
    """A realm name no realm has yet; removed after the test if the test made it."""
    name = "realm-%s" % uuid.uuid4().hex[:8]
    yield name
    master = admin(sandbox)
    if name in {item["realm"] for item in master.get_realms()}:
        master.delete_realm(name)


@pytest.fixture()
def run_realm(sandbox, run_playbook, tmp_path, realm):
    """run(check=False, diff=False, **options) -> the task result (json callback), with _rc and _output."""
    creds = sandbox.credentials["keycloak"]

    def run(check=False, diff=False, **options):
        variables = {"kc_url": sandbox.endpoints["keycloak"]["url"], "kc_username": creds["admin_username"],
                     "kc_password": creds["admin_password"], "kc_realm": realm}
        variables.update(("kc_" + key, value) for key, value in options.items())
        return run_task(run_playbook, tmp_path, PLAYBOOK, variables, *(["--check"] if check else []),
                        *(["--diff"] if diff else []))

    return run


def stored(sandbox, realm):
    return next((item for item in admin(sandbox).get_realms() if item["realm"] == realm), None)


def test_four_steps_create_then_nothing_to_do(sandbox, realm, run_realm):
    reset_requests(sandbox)
    planned = run_realm(check=True, diff=True, display_name="ML platform")
    assert planned["_rc"] == 0 and planned["changed"], planned
    assert planned["diff"] == {"before": None, "after": {"realm": realm, "displayName": "ML platform", "enabled": True}}
    assert planned["api_requests"] == requests_total(sandbox)
    assert admin_writes(sandbox) == [] and stored(sandbox, realm) is None

    created = run_realm(display_name="ML platform")
    assert created["_rc"] == 0 and created["changed"], created
    rep = stored(sandbox, realm)
    assert rep["displayName"] == "ML platform" and rep["enabled"] is True
    assert created["id"] == rep["id"] and created["display_name"] == "ML platform" and created["enabled"] is True

    reset_requests(sandbox)
    assert not run_realm(check=True, display_name="ML platform")["changed"]
    again = run_realm(display_name="ML platform")
    assert again["_rc"] == 0 and not again["changed"], again
    assert admin_writes(sandbox) == []
    assert again["api_requests"] == 2  # the token and one GET of the realm


def test_a_changed_setting_is_one_partial_put_that_keeps_the_other_settings(sandbox, realm, run_realm):
    assert run_realm(display_name="Old name")["changed"]
    admin(sandbox, realm).update_realm(realm, {"accessTokenLifespan": 600, "loginTheme": "custom"})
    planned = run_realm(check=True, diff=True, display_name="ML platform")
    assert planned["changed"] and stored(sandbox, realm)["displayName"] == "Old name"
    reset_requests(sandbox)
    changed = run_realm(diff=True, display_name="ML platform", enabled=False)
    assert changed["_rc"] == 0 and changed["changed"], changed
    assert changed["diff"]["before"] == {"realm": realm, "displayName": "Old name", "enabled": True}
    assert changed["diff"]["after"] == {"realm": realm, "displayName": "ML platform", "enabled": False}
    writes = admin_writes(sandbox, realm)
    assert [(entry["method"], entry["path"]) for entry in writes] == [("PUT", "/admin/realms/%s" % realm)]
    rep = stored(sandbox, realm)
    assert (rep["displayName"], rep["enabled"]) == ("ML platform", False)
    assert (rep["accessTokenLifespan"], rep["loginTheme"]) == (600, "custom")
    assert not run_realm(display_name="ML platform", enabled=False)["changed"]


def test_an_unset_display_name_is_left_alone(sandbox, realm, run_realm):
    assert run_realm(display_name="Set by hand")["changed"]
    reset_requests(sandbox)
    result = run_realm()
    assert result["_rc"] == 0 and not result["changed"], result
    assert admin_writes(sandbox, realm) == [] and stored(sandbox, realm)["displayName"] == "Set by hand"


def test_absent_twice_is_changed_then_ok(sandbox, realm, run_realm):
    assert run_realm()["changed"]
    planned = run_realm(check=True, diff=True, state="absent")
    assert planned["changed"] and planned["diff"]["after"] is None and stored(sandbox, realm) is not None
    removed = run_realm(state="absent")
    assert removed["_rc"] == 0 and removed["changed"] and stored(sandbox, realm) is None
    reset_requests(sandbox)
    again = run_realm(state="absent")
    assert again["_rc"] == 0 and not again["changed"]
    assert admin_writes(sandbox, realm) == []


@pytest.mark.parametrize("name, message", [
    ("", "realm must be a realm name: 1 to 255 characters without '/', '\\' or surrounding spaces, got ''"),
    ("a/b", "realm must be a realm name"),
    (" padded", "realm must be a realm name"),
])
def test_a_bad_realm_name_fails_clearly_before_any_request(sandbox, run_realm, name, message):
    reset_requests(sandbox)
    result = run_realm(realm=name, display_name="x")
    assert result["_rc"] != 0
    assert message in result["msg"], result["msg"]
    assert requests_total(sandbox) == 0


def test_the_master_realm_is_never_removed(sandbox, run_realm):
    reset_requests(sandbox)
    result = run_realm(realm="master", state="absent")
    assert result["_rc"] != 0 and result["msg"] == "the master realm cannot be removed"
    assert requests_total(sandbox) == 0 and stored(sandbox, "master") is not None


def test_with_10_percent_keycloak_faults_the_realm_converges(sandbox, realm, run_realm):
    """Runs until the emulator has answered some faults (the token request included): every run succeeds."""
    reset_requests(sandbox)
    set_faults(sandbox, error_rate=0.1)
    results = []
    try:
        while len(results) < 4 or (faults_answered(sandbox) == 0 and len(results) < 20):
            results.append(run_realm(display_name="ML platform"))
    finally:
        set_faults(sandbox, error_rate=0.0)
    assert faults_answered(sandbox) > 0
    assert all(result["_rc"] == 0 for result in results), [result["_output"] for result in results]
    assert [result["changed"] for result in results] == [True] + [False] * (len(results) - 1)
    assert stored(sandbox, realm)["displayName"] == "ML platform"

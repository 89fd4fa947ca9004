"""mlflow_oidc_client on the sandbox's Keycloak emulator; state checked with python-keycloak and the request log."""

import json
import uuid

import jwt
import pytest
from keycloak import KeycloakOpenID

from tests.integration.keycloak_support import (
    admin, admin_writes, extra_vars, new_realm, requests_total, reset_requests, run_task)

PLAYBOOK = "tests/integration/playbooks/mlflow_oidc_client/client.yml"
MLFLOW_URL = "https://mlflow.example.com"


@pytest.fixture()
def realm(sandbox):
    name = new_realm(sandbox)
    yield name
    admin(sandbox).delete_realm(name)


@pytest.fixture(scope="module")
def operator(sandbox):
    """A master admin with a password of its own. Ansible masks a no_log password wherever it occurs in a result,
    so the sandbox's admin/admin would turn "mlflow-admins" into "mlflow-********s"."""
    username, password = "ops-%s" % uuid.uuid4().hex[:6], "Adm1n-%s" % uuid.uuid4().hex
    master = admin(sandbox)
    user_id = master.create_user({"username": username, "enabled": True,
                                  "credentials": [{"type": "password", "value": password, "temporary": False}]})
    master.assign_realm_roles(user_id, [master.get_realm_role("admin")])
    yield username, password
    master.delete_user(user_id)


@pytest.fixture()
def run_client(sandbox, run_playbook, tmp_path, realm, operator):
    """run(check=False, diff=False, verbosity=None, **options) -> the task result (json callback), with _rc and _output."""

    def run(check=False, diff=False, verbosity=None, **options):
        variables = {"kc_url": sandbox.endpoints["keycloak"]["url"], "kc_username": operator[0],
                     "kc_password": operator[1], "kc_realm": realm, "kc_mlflow_url": MLFLOW_URL}
        variables.update(("kc_" + key, value) for key, value in options.items())
        args = (["--check"] if check else []) + (["--diff"] if diff else [])
        if verbosity:
            result = run_playbook(PLAYBOOK, *extra_vars(tmp_path, variables), *args, verbosity)
            return {"_rc": result.rc, "_output": result.output}
        return run_task(run_playbook, tmp_path, PLAYBOOK, variables, *args)

    return run


def client_of(sandbox, realm, client_id="mlflow"):
    kc = admin(sandbox, realm)
    uuid_ = kc.get_client_id(client_id)
    return kc, (kc.get_client(uuid_) if uuid_ else None)


def test_four_steps_create_then_nothing_to_do(sandbox, realm, run_client):
    reset_requests(sandbox)
    planned = run_client(check=True)
    assert planned["_rc"] == 0 and planned["changed"], planned
    assert planned["api_requests"] == requests_total(sandbox)
    assert admin_writes(sandbox, realm) == []
    assert client_of(sandbox, realm)[1] is None

    created = run_client()
    assert created["_rc"] == 0 and created["changed"], created
    kc, client = client_of(sandbox, realm)
    assert client["publicClient"] is False and client["standardFlowEnabled"] is True
    assert client["directAccessGrantsEnabled"] is False
    assert client["redirectUris"] == [MLFLOW_URL + "/callback"] and client["webOrigins"] == [MLFLOW_URL]
    assert created["id"] == client["id"]
    assert created["client_secret"] == kc.get_client_secrets(client["id"])["value"]
    assert {"profile", "email", "groups"} <= {scope["name"] for scope in kc.get_client_default_client_scopes(client["id"])}
    scope = next(item for item in kc.get_client_scopes() if item["name"] == "groups")
    mapper = kc.get_mappers_from_client_scope(scope["id"])[0]
    assert mapper["protocolMapper"] == "oidc-group-membership-mapper"
    assert mapper["config"]["claim.name"] == "groups" and mapper["config"]["full.path"] == "false"
    assert {group["name"] for group in kc.get_groups()} >= {"mlflow-admins", "mlflow-users"}
    issuer = "%s/realms/%s" % (sandbox.endpoints["keycloak"]["url"], realm)
    assert created["issuer"] == issuer
    assert created["mlflow_env"] == {
        "OIDC_DISCOVERY_URL": issuer + "/.well-known/openid-configuration",
        "OIDC_CLIENT_ID": "mlflow",
        "OIDC_CLIENT_SECRET": created["client_secret"],
        "OIDC_REDIRECT_URI": MLFLOW_URL + "/callback",
        "OIDC_SCOPE": "openid,profile,email,groups",
        "OIDC_GROUPS_ATTRIBUTE": "groups",
        "OIDC_ADMIN_GROUP_NAME": "mlflow-admins",
        "OIDC_GROUP_NAME": "mlflow-users",
    }

    reset_requests(sandbox)
    assert not run_client(check=True)["changed"]
    again = run_client()
    assert again["_rc"] == 0 and not again["changed"], again
    assert again["client_secret"] == created["client_secret"]
    assert admin_writes(sandbox, realm) == []


def test_changed_redirect_uri_is_a_change_with_a_masked_diff(sandbox, realm, run_client):
    assert run_client()["_rc"] == 0
    kc, client = client_of(sandbox, realm)
    secret = kc.get_client_secrets(client["id"])["value"]
    planned = run_client(check=True, diff=True, extra_redirect_uris=["https://mlflow.example.com/oidc/*"])
    assert planned["changed"]
    assert client_of(sandbox, realm)[1]["redirectUris"] == [MLFLOW_URL + "/callback"]
    changed = run_client(diff=True, extra_redirect_uris=["https://mlflow.example.com/oidc/*"])
    assert changed["changed"]
    diff = changed["diff"]
    assert diff["before"]["client"]["redirectUris"] == [MLFLOW_URL + "/callback"]
    assert diff["after"]["client"]["redirectUris"] == [MLFLOW_URL + "/callback", "https://mlflow.example.com/oidc/*"]
    assert diff["before"]["client"]["secret"] == diff["after"]["client"]["secret"] == "********"
    assert secret not in json.dumps(diff) and secret not in json.dumps(planned["diff"])
    assert sorted(client_of(sandbox, realm)[1]["redirectUris"]) == [MLFLOW_URL + "/callback",
                                                                    "https://mlflow.example.com/oidc/*"]
    assert not run_client(extra_redirect_uris=["https://mlflow.example.com/oidc/*"])["changed"]


def test_regenerate_secret_rotates_it(sandbox, realm, run_client):
    first = run_client()
    reset_requests(sandbox)
    planned = run_client(check=True, diff=True, regenerate_secret=True)
    assert planned["changed"] and planned["diff"]["after"]["client"]["secret"] == "******** (regenerated)"
    assert admin_writes(sandbox, realm) == []
    rotated = run_client(regenerate_secret=True)
    assert rotated["changed"] and rotated["client_secret"] != first["client_secret"]
    kc, client = client_of(sandbox, realm)
    assert kc.get_client_secrets(client["id"])["value"] == rotated["client_secret"]
    assert run_client()["client_secret"] == rotated["client_secret"]


def test_absent_twice_is_changed_then_ok_and_keeps_the_groups(sandbox, realm, run_client):
    assert run_client()["_rc"] == 0
    assert run_client(state="absent", check=True)["changed"]
    assert client_of(sandbox, realm)[1] is not None
    removed = run_client(state="absent")
    assert removed["_rc"] == 0 and removed["changed"]
    assert client_of(sandbox, realm)[1] is None
    assert {group["name"] for group in admin(sandbox, realm).get_groups()} >= {"mlflow-admins", "mlflow-users"}
    again = run_client(state="absent")
    assert again["_rc"] == 0 and not again["changed"]
    assert run_client(state="absent", remove_groups=True)["changed"]
    assert admin(sandbox, realm).get_groups() == []


def test_group_membership_reaches_the_token_as_a_groups_claim(sandbox, realm, run_client):
    kc = admin(sandbox, realm)
    kc.create_user({"username": "alice", "enabled": True, "email": "alice@example.com", "emailVerified": True,
                    "firstName": "Alice", "lastName": "Admin",
                    "credentials": [{"type": "password", "value": "alice-pass", "temporary": False}]})
    result = run_client(direct_access_grants=True, memberships=[{"username": "alice", "groups": ["mlflow-admins"]}])
    assert result["_rc"] == 0 and result["changed"], result
    assert [group["name"] for group in kc.get_user_groups(kc.get_user_id("alice"))] == ["mlflow-admins"]
    assert not run_client(direct_access_grants=True,
                          memberships=[{"username": "alice", "groups": ["mlflow-admins"]}])["changed"]
    oidc = KeycloakOpenID(server_url=sandbox.endpoints["keycloak"]["url"], realm_name=realm, client_id="mlflow",
                          client_secret_key=result["client_secret"])
    tokens = oidc.token("alice", "alice-pass", scope="openid profile email groups")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["groups"] == ["mlflow-admins"]
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["groups"] == ["mlflow-admins"]
    assert oidc.userinfo(tokens["access_token"])["groups"] == ["mlflow-admins"]


def test_unknown_user_fails_before_any_write(sandbox, realm, run_client):
    reset_requests(sandbox)
    result = run_client(memberships=[{"username": "nobody", "groups": ["mlflow-admins"]}])
    assert result["_rc"] != 0
    assert result["api_requests"] == requests_total(sandbox) and result["changes_made"] == []
    assert result["msg"] == "user 'nobody' does not exist in realm '%s'" % realm
    assert admin_writes(sandbox, realm) == []
    assert client_of(sandbox, realm)[1] is None


def test_unknown_realm_fails_clearly(sandbox, run_client):
    result = run_client(realm="no-such-realm")
    assert result["_rc"] != 0
    assert "realm 'no-such-realm' does not exist in Keycloak at %s" % sandbox.endpoints["keycloak"]["url"] in result["msg"]


def test_unreachable_keycloak_fails_clearly(run_client):
    result = run_client(url="http://127.0.0.1:1")
    assert result["_rc"] != 0
    assert result["msg"].startswith("POST /realms/master/protocol/openid-connect/token: cannot reach Keycloak at "
                                    "http://127.0.0.1:1"), result["msg"]


def test_bad_password_fails_clearly_writes_nothing_and_never_prints_the_password(sandbox, realm, run_client, operator):
    password = "Wr0ng-%s" % uuid.uuid4().hex
    reset_requests(sandbox)
    result = run_client(verbosity="-vvv", password=password)
    assert result["_rc"] != 0
    assert "Keycloak refused the credentials of user %s in realm master: Invalid user credentials" % operator[0] \
        in result["_output"]
    assert password not in result["_output"]
    assert admin_writes(sandbox, realm) == []
    assert client_of(sandbox, realm)[1] is None


def test_normal_path_at_vvv_prints_neither_the_client_secret_nor_the_admin_password(
        sandbox, realm, run_client, operator):
    """The module hides its credentials; the task's no_log hides the returned secret (modules cannot mask results)."""
    created = run_client(verbosity="-vvv", hide_result=True)
    assert created["_rc"] == 0, created["_output"]
    kc, client = client_of(sandbox, realm)
    first_secret = kc.get_client_secrets(client["id"])["value"]
    rotated = run_client(verbosity="-vvv", hide_result=True, regenerate_secret=True, diff=True)
    assert rotated["_rc"] == 0, rotated["_output"]
    second_secret = kc.get_client_secrets(client["id"])["value"]
    assert first_secret != second_secret
    assert "<localhost> EXEC" in created["_output"]  # really -vvv
    for output in (created["_output"], rotated["_output"]):
        assert "changed=1" in output and operator[1] not in output
        assert first_secret not in output and second_secret not in output

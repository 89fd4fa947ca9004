"""Referee: the emulator fails the way Keycloak fails (status codes and error bodies)."""

import pytest
import requests
from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakGetError, KeycloakPostError


@pytest.fixture(scope="module", name="admin")
def fixture_admin(kc):
    return kc.admin_client({"realm": "errors", "enabled": True})


def _admin_token(kc):
    response = requests.post(f"{kc.url}/realms/master/protocol/openid-connect/token", timeout=10, data={
        "grant_type": "password", "client_id": "admin-cli", "username": kc.admin_username, "password": kc.admin_password})
    return response.json()["access_token"]


def test_duplicate_client_is_409(kc, admin):
    admin.create_client({"clientId": "dup"})
    with pytest.raises(KeycloakPostError) as failure:
        admin.create_client({"clientId": "dup"})
    assert failure.value.response_code == 409
    raw = requests.post(f"{kc.url}/admin/realms/errors/clients", json={"clientId": "dup"}, timeout=10,
                        headers={"Authorization": f"Bearer {_admin_token(kc)}"})
    assert raw.status_code == 409
    assert raw.json() == {"errorMessage": "Client dup already exists"}
    assert admin.create_client({"clientId": "dup"}, skip_exists=True) == admin.get_client_id("dup")


def test_duplicates_of_other_entities_are_409(admin):
    admin.create_group({"name": "twice"})
    with pytest.raises(KeycloakPostError) as failure:
        admin.create_group({"name": "twice"})
    assert failure.value.response_code == 409
    admin.create_user({"username": "twice"})
    with pytest.raises(KeycloakPostError) as failure:
        admin.create_user({"username": "TWICE"})
    assert failure.value.response_code == 409
    assert admin.create_user({"username": "twice"}, exist_ok=True) == admin.get_user_id("twice")
    with pytest.raises(KeycloakPostError) as failure:
        admin.create_client_scope({"name": "profile", "protocol": "openid-connect"})
    assert failure.value.response_code == 409
    with pytest.raises(KeycloakPostError) as failure:
        admin.create_realm({"realm": "errors"})
    assert failure.value.response_code == 409


def test_unknown_realm_is_404(kc, admin):
    raw = requests.get(f"{kc.url}/admin/realms/nope", timeout=10, headers={"Authorization": f"Bearer {_admin_token(kc)}"})
    assert raw.status_code == 404
    assert raw.json() == {"error": "Realm not found."}
    admin.change_current_realm("nope")
    try:
        with pytest.raises(KeycloakGetError) as failure:
            admin.get_clients()
        assert failure.value.response_code == 404
    finally:
        admin.change_current_realm("errors")
    assert requests.get(f"{kc.url}/realms/nope/.well-known/openid-configuration", timeout=10).status_code == 404


def test_unknown_entities_are_404(kc):
    headers = {"Authorization": f"Bearer {_admin_token(kc)}"}
    for path, message in (("clients/0000", "Could not find client"), ("users/0000", "User not found"),
                          ("groups/0000", "Could not find group by id"), ("client-scopes/0000", "Could not find client scope")):
        raw = requests.get(f"{kc.url}/admin/realms/errors/{path}", headers=headers, timeout=10)
        assert (raw.status_code, raw.json()) == (404, {"error": message})


def test_bad_admin_password_is_401(kc):
    raw = requests.post(f"{kc.url}/realms/master/protocol/openid-connect/token", timeout=10, data={
        "grant_type": "password", "client_id": "admin-cli", "username": kc.admin_username, "password": "wrong"})
    assert raw.status_code == 401
    assert raw.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}
    # python-keycloak logs in lazily, on the first Admin API call.
    wrong = KeycloakAdmin(connection=KeycloakOpenIDConnection(server_url=kc.url, username=kc.admin_username, password="wrong",
                                                              realm_name="master", client_id="admin-cli"))
    with pytest.raises(KeycloakAuthenticationError):
        wrong.get_realms()
    with pytest.raises(KeycloakAuthenticationError):
        KeycloakOpenID(server_url=kc.url, realm_name="master", client_id="admin-cli").token(kc.admin_username, "wrong")


def test_unknown_client_is_401_invalid_client(kc):
    raw = requests.post(f"{kc.url}/realms/master/protocol/openid-connect/token", timeout=10, data={
        "grant_type": "password", "client_id": "ghost", "username": kc.admin_username, "password": kc.admin_password})
    assert raw.status_code == 401
    assert raw.json()["error"] == "invalid_client"


def test_admin_api_without_or_with_bad_token_is_401(kc):
    assert requests.get(f"{kc.url}/admin/realms", timeout=10).status_code == 401
    bad = requests.get(f"{kc.url}/admin/realms", headers={"Authorization": "Bearer not.a.token"}, timeout=10)
    assert bad.status_code == 401
    token = _admin_token(kc)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert requests.get(f"{kc.url}/admin/realms", headers={"Authorization": f"Bearer {forged}"}, timeout=10).status_code == 401


def test_non_admin_token_is_403_and_service_account_admin_works(kc, admin):
    client_uuid = admin.create_client({"clientId": "robot", "serviceAccountsEnabled": True, "directAccessGrantsEnabled": True})
    secret = admin.get_client_secrets(client_uuid)["value"]
    token = KeycloakOpenID(server_url=kc.url, realm_name="errors", client_id="robot",
                           client_secret_key=secret).token(grant_type="client_credentials")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{kc.url}/admin/realms/errors/clients", headers=headers, timeout=10).status_code == 403
    kc.set_config({"admin_service_accounts": ["errors/robot"]})
    try:
        assert requests.get(f"{kc.url}/admin/realms/errors/clients", headers=headers, timeout=10).status_code == 200
        assert requests.get(f"{kc.url}/admin/realms/master/clients", headers=headers, timeout=10).status_code == 403
        robot = KeycloakAdmin(connection=KeycloakOpenIDConnection(server_url=kc.url, realm_name="errors", client_id="robot",
                                                                  client_secret_key=secret))
        assert robot.get_client_id("robot") == client_uuid
    finally:
        kc.set_config({"admin_service_accounts": []})


def test_grant_rules(kc, admin):
    client_uuid = admin.create_client({"clientId": "no-direct", "directAccessGrantsEnabled": False})
    secret = admin.get_client_secrets(client_uuid)["value"]
    admin.create_user({"username": "erin", "enabled": True, "credentials": [{"type": "password", "value": "pw"}]})
    openid = KeycloakOpenID(server_url=kc.url, realm_name="errors", client_id="no-direct", client_secret_key=secret)
    with pytest.raises(KeycloakPostError) as failure:
        openid.token("erin", "pw")
    assert failure.value.response_code == 400
    with pytest.raises(KeycloakAuthenticationError):
        openid.token(grant_type="client_credentials")
    wrong_secret = KeycloakOpenID(server_url=kc.url, realm_name="errors", client_id="no-direct", client_secret_key="nope")
    with pytest.raises(KeycloakAuthenticationError):
        wrong_secret.token(grant_type="client_credentials")

"""Referee: python-keycloak drives the Keycloak emulator through what the mlflow_oidc_client module will do."""

import jwt
import pytest
import requests
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakPutError

REALM = "mlflow"
CLIENT_ID = "mlflow"
REDIRECT = "https://mlflow.example.test/callback"


@pytest.fixture(scope="module", name="admin")
def fixture_admin(kc):
    return kc.admin_client({"realm": REALM, "enabled": True}, skip_exists=True)


@pytest.fixture(scope="module", name="setup")
def fixture_setup(admin):
    """Realm, confidential client, groups, user and a `groups` scope, as the module will make them."""
    client_uuid = admin.create_client({
        "clientId": CLIENT_ID, "enabled": True, "publicClient": False, "protocol": "openid-connect",
        "redirectUris": [REDIRECT], "webOrigins": ["https://mlflow.example.test"], "standardFlowEnabled": True,
        "directAccessGrantsEnabled": True, "serviceAccountsEnabled": True,
    })
    admins_id = admin.create_group({"name": "mlflow-admins"})
    users_id = admin.create_group({"name": "mlflow-users"})
    user_id = admin.create_user({"username": "alice", "email": "alice@example.test", "firstName": "Alice", "lastName": "Liddell",
                                 "enabled": True, "emailVerified": True,
                                 "credentials": [{"type": "password", "value": "wonderland", "temporary": False}]})
    admin.group_user_add(user_id, admins_id)
    scope_id = admin.create_client_scope({"name": "groups", "protocol": "openid-connect",
                                          "attributes": {"include.in.token.scope": "true"}})
    admin.add_mapper_to_client_scope(scope_id, {
        "name": "groups", "protocol": "openid-connect", "protocolMapper": "oidc-group-membership-mapper",
        "config": {"claim.name": "groups", "full.path": "false", "id.token.claim": "true", "access.token.claim": "true",
                   "userinfo.token.claim": "true"},
    })
    admin.add_client_default_client_scope(client_uuid, scope_id, {"realm": REALM, "client": client_uuid, "clientScopeId": scope_id})
    return {"client_uuid": client_uuid, "admins_id": admins_id, "users_id": users_id, "user_id": user_id, "scope_id": scope_id}


def _openid(kc, secret):
    return KeycloakOpenID(server_url=kc.url, realm_name=REALM, client_id=CLIENT_ID, client_secret_key=secret)


def test_realm_has_builtin_scopes_and_clients(admin, setup):
    del setup
    scope_names = {s["name"] for s in admin.get_client_scopes()}
    assert {"profile", "email", "roles", "web-origins", "acr", "offline_access", "basic", "groups"} <= scope_names
    client_ids = {c["clientId"] for c in admin.get_clients()}
    assert {"account", "admin-cli", "broker", "realm-management", "security-admin-console", CLIENT_ID} <= client_ids


def test_client_is_confidential_with_default_scopes(admin, setup):
    client = admin.get_client(setup["client_uuid"])
    assert client["publicClient"] is False
    assert client["redirectUris"] == [REDIRECT]
    assert client["directAccessGrantsEnabled"] is True
    assert admin.get_client_id(CLIENT_ID) == setup["client_uuid"]
    defaults = {s["name"] for s in admin.get_client_default_client_scopes(setup["client_uuid"])}
    assert {"profile", "email", "groups"} <= defaults


def test_secret_read_and_regenerate(kc, admin, setup):
    first = admin.get_client_secrets(setup["client_uuid"])
    assert first["type"] == "secret" and len(first["value"]) == 32
    second = admin.generate_client_secrets(setup["client_uuid"])
    assert second["value"] != first["value"]
    assert admin.get_client_secrets(setup["client_uuid"])["value"] == second["value"]
    with pytest.raises(Exception) as failure:
        _openid(kc, first["value"]).token("alice", "wonderland")
    assert failure.value.response_code == 401


def test_group_search_and_membership(admin, setup):
    found = admin.get_groups({"search": "mlflow-adm"})
    assert [g["name"] for g in found] == ["mlflow-admins"]
    assert admin.get_group_by_path("/mlflow-users")["id"] == setup["users_id"]
    members = admin.get_group_members(setup["admins_id"])
    assert [m["username"] for m in members] == ["alice"]
    assert [g["name"] for g in admin.get_user_groups(setup["user_id"])] == ["mlflow-admins"]
    assert admin.get_user_id("alice") == setup["user_id"]
    assert admin.get_users({"search": "ali"})[0]["id"] == setup["user_id"]


def test_subgroups_keycloak_23_style(admin, setup):
    child = admin.create_group({"name": "readers"}, parent=setup["users_id"])
    group = admin.get_group(setup["users_id"])
    assert group["subGroupCount"] == 1
    assert [g["id"] for g in group["subGroups"]] == [child]
    assert admin.get_group_by_path("/mlflow-users/readers")["id"] == child
    admin.delete_group(child)


def test_password_grant_token_carries_groups(kc, admin, setup):
    secret = admin.get_client_secrets(setup["client_uuid"])["value"]
    openid = _openid(kc, secret)
    token = openid.token("alice", "wonderland")
    claims = openid.decode_token(token["access_token"])
    assert claims["groups"] == ["mlflow-admins"]
    assert claims["iss"] == f"{kc.url}/realms/{REALM}"
    assert claims["azp"] == CLIENT_ID
    assert claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.test"
    assert claims["sub"] == setup["user_id"]
    assert set(claims["scope"].split()) >= {"openid", "profile", "email", "groups"}
    id_claims = openid.decode_token(token["id_token"])
    assert id_claims["aud"] == CLIENT_ID and id_claims["groups"] == ["mlflow-admins"]
    assert openid.userinfo(token["access_token"])["groups"] == ["mlflow-admins"]


def test_token_verifies_with_pyjwt_and_jwks(kc, admin, setup):
    secret = admin.get_client_secrets(setup["client_uuid"])["value"]
    token = _openid(kc, secret).token("alice", "wonderland")["access_token"]
    jwks = jwt.PyJWKClient(f"{kc.url}/realms/{REALM}/protocol/openid-connect/certs")
    claims = jwt.decode(token, jwks.get_signing_key_from_jwt(token).key, algorithms=["RS256"], audience="account",
                        issuer=f"{kc.url}/realms/{REALM}")
    assert claims["groups"] == ["mlflow-admins"]


def test_full_path_groups(kc, admin, setup):
    mapper = admin.get_mappers_from_client_scope(setup["scope_id"])[0]
    mapper["config"]["full.path"] = "true"
    admin.update_mapper_in_client_scope(setup["scope_id"], mapper["id"], mapper)
    try:
        secret = admin.get_client_secrets(setup["client_uuid"])["value"]
        openid = _openid(kc, secret)
        claims = openid.decode_token(openid.token("alice", "wonderland")["access_token"])
        assert claims["groups"] == ["/mlflow-admins"]
    finally:
        mapper["config"]["full.path"] = "false"
        admin.update_mapper_in_client_scope(setup["scope_id"], mapper["id"], mapper)


def test_client_credentials_grant(kc, admin, setup):
    secret = admin.get_client_secrets(setup["client_uuid"])["value"]
    openid = _openid(kc, secret)
    token = openid.token(grant_type="client_credentials")
    claims = openid.decode_token(token["access_token"])
    assert claims["azp"] == CLIENT_ID
    assert claims["preferred_username"] == f"service-account-{CLIENT_ID}"
    assert "refresh_token" not in token
    basic = requests.post(f"{kc.url}/realms/{REALM}/protocol/openid-connect/token", data={"grant_type": "client_credentials"},
                          auth=(CLIENT_ID, secret), timeout=10)
    assert basic.status_code == 200, basic.text


def test_well_known_discovery(kc, admin, setup):
    del admin, setup
    openid = KeycloakOpenID(server_url=kc.url, realm_name=REALM, client_id=CLIENT_ID)
    document = openid.well_known()
    assert document["issuer"] == f"{kc.url}/realms/{REALM}"
    assert document["token_endpoint"] == f"{kc.url}/realms/{REALM}/protocol/openid-connect/token"
    assert document["jwks_uri"] == f"{kc.url}/realms/{REALM}/protocol/openid-connect/certs"
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert openid.certs()["keys"][0]["kty"] == "RSA"


def test_update_and_delete_round_trip(admin, setup):
    admin.update_client(setup["client_uuid"], {"redirectUris": [REDIRECT, "http://localhost:5000/callback"]})
    assert len(admin.get_client(setup["client_uuid"])["redirectUris"]) == 2
    admin.update_user(setup["user_id"], {"firstName": "Alicia"})
    assert admin.get_user(setup["user_id"])["firstName"] == "Alicia"
    admin.set_user_password(setup["user_id"], "looking-glass", temporary=False)
    extra = admin.create_user({"username": "bob", "enabled": True})
    admin.group_user_add(extra, setup["users_id"])
    admin.group_user_remove(extra, setup["users_id"])
    assert admin.get_group_members(setup["users_id"]) == []
    admin.delete_user(extra)
    assert admin.get_user_id("bob") is None


def test_no_schema_violations_so_far(kc, setup):
    del setup
    report = kc.requests()
    assert report["schema_violations"] == 0
    admin_entries = [e for e in report["entries"] if e["path"].startswith("/admin/")]
    assert admin_entries and all(e["status"] != 500 for e in admin_entries)
    assert any(e["response_validated"] for e in admin_entries)


def test_a_realm_put_stores_only_what_keycloak_stores(kc):
    """Keycloak's realm PUT updates top-level settings given non-null; ids, derived fields and nested entities are ignored."""
    admin = kc.admin_client({"realm": "put-fidelity", "enabled": True, "displayName": "Before"})
    before = admin.get_realm("put-fidelity")
    admin.update_realm("put-fidelity", dict(before))
    assert admin.get_realm("put-fidelity") == before  # an unchanged PUT changes nothing
    admin.update_realm("put-fidelity", {
        "id": "another-id", "displayName": None, "enabled": None, "keycloakVersion": "99.0.0", "otpSupportedApplications": ["x"],
        "defaultRole": {"name": "elsewhere"}, "localizationTexts": {"en": {"hello": "Hi"}}, "realmCacheEnabled": False,
        "users": [{"username": "nested"}], "clients": [{"clientId": "nested"}], "accessTokenLifespan": 600,
        "attributes": {"custom": "1"}})
    after = admin.get_realm("put-fidelity")
    assert after["accessTokenLifespan"] == 600
    assert after["attributes"] == {"custom": "1", "cibaBackchannelTokenDeliveryMode": "poll"}
    assert {key: value for key, value in after.items() if key not in ("accessTokenLifespan", "attributes")} == {
        key: value for key, value in before.items() if key not in ("accessTokenLifespan", "attributes")}
    assert admin.get_users({"username": "nested"}) == [] and admin.get_client_id("nested") is None
    with pytest.raises(KeycloakPutError) as unknown:
        admin.update_realm("put-fidelity", {"displayNme": "typo"})
    assert unknown.value.response_code == 400
    assert admin.get_realm("put-fidelity")["displayName"] == "Before"
    admin.delete_realm("put-fidelity")

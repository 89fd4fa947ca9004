"""Referee: realm import, searches, session endpoints and the sandbox endpoints of the Keycloak emulator."""

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakGetError, KeycloakPostError

REALM = "imported"


@pytest.fixture(scope="module", name="admin")
def fixture_admin(kc):
    return kc.admin_client({
        "realm": REALM, "enabled": True,
        "clients": [{"clientId": "portal", "secret": "portal-secret", "directAccessGrantsEnabled": True,
                     "protocolMappers": [{"name": "team", "protocol": "openid-connect", "protocolMapper": "oidc-hardcoded-claim-mapper",
                                          "config": {"claim.name": "team", "claim.value": "ml", "access.token.claim": "true",
                                                     "userinfo.token.claim": "true"}}]}],
        "groups": [{"name": "mlflow-admins", "subGroups": [{"name": "leads"}]}, {"name": "mlflow-users"}],
        "roles": {"realm": [{"name": "auditor"}], "client": {"portal": [{"name": "reader"}]}},
        "users": [{"username": "grace", "email": "grace@example.test", "firstName": "Grace", "lastName": "Hopper", "enabled": True,
                   "credentials": [{"type": "password", "value": "cobol"}], "groups": ["/mlflow-admins/leads"],
                   "realmRoles": ["auditor"], "clientRoles": {"portal": ["reader"]}},
                  {"username": "gracie", "enabled": True}],
    })


def test_realm_import_created_nested_entities(admin):
    assert admin.get_client_id("portal")
    assert admin.get_client_secrets(admin.get_client_id("portal"))["value"] == "portal-secret"
    leads = admin.get_group_by_path("/mlflow-admins/leads")
    assert [u["username"] for u in admin.get_group_members(leads["id"])] == ["grace"]
    grace = admin.get_user_id("grace")
    assert {r["name"] for r in admin.get_realm_roles_of_user(grace)} == {"auditor", "default-roles-imported"}
    assert [r["name"] for r in admin.get_client_roles_of_user(grace, admin.get_client_id("portal"))] == ["reader"]
    assert admin.get_realm(REALM)["defaultRole"]["name"] == "default-roles-imported"


def test_user_search_semantics(admin):
    assert [u["username"] for u in admin.get_users({"search": "grac"})] == ["grace", "gracie"]
    assert [u["username"] for u in admin.get_users({"search": '"grace"'})] == ["grace"]
    assert [u["username"] for u in admin.get_users({"search": "*opp*"})] == ["grace"]
    assert [u["username"] for u in admin.get_users({"username": "grace", "exact": "true"})] == ["grace"]
    assert [u["username"] for u in admin.get_users({"username": "grac"})] == ["grace", "gracie"]
    assert [u["username"] for u in admin.get_users({"email": "grace@example.test"})] == ["grace"]
    assert admin.users_count() == 2
    assert len(admin.get_users({"first": 1, "max": 1})) == 1


def test_group_search_returns_hierarchy(admin):
    found = admin.get_groups({"search": "leads"})
    assert [g["name"] for g in found] == ["mlflow-admins"]
    assert [g["name"] for g in found[0]["subGroups"]] == ["leads"]
    assert [g["path"] for g in admin.get_groups({"search": "mlflow", "exact": "false"})] == ["/mlflow-admins", "/mlflow-users"]
    assert admin.get_groups({"search": "mlflow", "exact": "true"}) == []


def test_userinfo_introspect_and_logout(kc, admin):
    del admin
    openid = KeycloakOpenID(server_url=kc.url, realm_name=REALM, client_id="portal", client_secret_key="portal-secret")
    token = openid.token("grace", "cobol")
    info = openid.userinfo(token["access_token"])
    assert info["preferred_username"] == "grace" and info["team"] == "ml" and info["name"] == "Grace Hopper"
    assert openid.introspect(token["access_token"])["active"] is True
    openid.logout(token["refresh_token"])
    assert openid.introspect(token["access_token"])["active"] is False
    with pytest.raises(KeycloakPostError) as failure:
        openid.refresh_token(token["refresh_token"])
    assert failure.value.response_code == 400


def test_client_update_syncs_protocol_mappers(admin):
    client_uuid = admin.get_client_id("portal")
    client = admin.get_client(client_uuid)
    client["protocolMappers"] = [{"name": "dept", "protocol": "openid-connect", "protocolMapper": "oidc-hardcoded-claim-mapper",
                                  "config": {"claim.name": "dept", "claim.value": "research"}}]
    admin.update_client(client_uuid, client)
    assert [m["name"] for m in admin.get_client(client_uuid)["protocolMappers"]] == ["dept"]


def test_temporary_password_blocks_direct_grant(kc, admin):
    user_id = admin.get_user_id("gracie")
    admin.set_user_password(user_id, "temp", temporary=True)
    openid = KeycloakOpenID(server_url=kc.url, realm_name=REALM, client_id="portal", client_secret_key="portal-secret")
    with pytest.raises(KeycloakPostError) as failure:
        openid.token("gracie", "temp")
    assert b"Account is not fully set up" in failure.value.response_body


def test_unemulated_documented_route_is_501(kc, admin):
    token = admin.connection.token["access_token"]
    response = requests.get(f"{kc.url}/admin/realms/{REALM}/identity-provider/instances", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 501


def test_server_info_reports_keycloak_23(admin):
    assert admin.get_server_info()["systemInfo"]["version"].startswith("23.")


def test_sandbox_endpoints_and_faults(kc):
    assert kc.sandbox("health") == {"status": "ok"}
    report = kc.requests()
    assert report["total"] == len(report["entries"]) and report["by_verb"]["GET"] > 0
    assert "/admin/realms/{realm}/clients" in report["by_resource"]
    assert kc.set_config({"faults": {"error_rate": 1.0, "error_codes": [503]}})["faults"]["error_rate"] == 1.0
    try:
        assert requests.get(f"{kc.url}/realms/master/.well-known/openid-configuration", timeout=10).status_code == 503
        assert kc.sandbox("health") == {"status": "ok"}
    finally:
        kc.set_config({"faults": {"error_rate": 0.0}})
    assert requests.get(f"{kc.url}/realms/master/.well-known/openid-configuration", timeout=10).status_code == 200
    kc.sandbox("requests/reset", "POST")
    assert kc.requests()["total"] == 0


def test_realm_management_roles_make_a_service_account_an_admin(kc, admin):
    """The production set-up: a service account holding realm-management roles drives the Admin API."""
    client_uuid = admin.create_client({"clientId": "automation", "serviceAccountsEnabled": True, "standardFlowEnabled": False})
    secret = admin.get_client_secrets(client_uuid)["value"]
    robot_connection = KeycloakOpenIDConnection(server_url=kc.url, realm_name=REALM, client_id="automation", client_secret_key=secret)
    robot = KeycloakAdmin(connection=robot_connection)
    with pytest.raises(KeycloakGetError) as failure:
        robot.get_clients()
    assert failure.value.response_code == 403
    service_user = admin.get_client_service_account_user(client_uuid)
    management = admin.get_client_id("realm-management")
    admin.assign_client_role(service_user["id"], management, [admin.get_client_role(management, "realm-admin")])
    assert [r["name"] for r in admin.get_client_roles_of_user(service_user["id"], management)] == ["realm-admin"]
    assert "manage-clients" in {r["name"] for r in admin.get_composite_client_roles_of_user(service_user["id"], management)}
    robot_connection.token = None
    assert "automation" in {c["clientId"] for c in robot.get_clients()}
    claims = KeycloakOpenID(server_url=kc.url, realm_name=REALM, client_id="automation", client_secret_key=secret).decode_token(
        robot_connection.token["access_token"])
    # Like Keycloak, tokens carry composite roles expanded.
    assert {"realm-admin", "manage-clients", "manage-users"} <= set(claims["resource_access"]["realm-management"]["roles"])
    robot.change_current_realm("master")
    with pytest.raises(KeycloakGetError) as failure:
        robot.get_clients()
    assert failure.value.response_code == 403


def test_realm_roles_and_group_role_mappings(kc, admin):
    admin.create_realm_role({"name": "mlflow-admin", "description": "MLflow administrators"})
    group = admin.get_group_by_path("/mlflow-admins")
    admin.assign_group_realm_roles(group["id"], [admin.get_realm_role("mlflow-admin")])
    assert admin.get_group(group["id"])["realmRoles"] == ["mlflow-admin"]
    openid = KeycloakOpenID(server_url=kc.url, realm_name=REALM, client_id="portal", client_secret_key="portal-secret")
    claims = openid.decode_token(openid.token("grace", "cobol")["access_token"])
    assert "mlflow-admin" in claims["realm_access"]["roles"]
    assert "default-roles-imported" in claims["realm_access"]["roles"]
    grace = admin.get_user_id("grace")
    assert "mlflow-admin" in {r["name"] for r in admin.get_composite_realm_roles_of_user(grace)}
    admin.delete_realm_role("mlflow-admin")
    assert admin.get_group(group["id"])["realmRoles"] == []


class _LoginForm(HTMLParser):
    """The action of Keycloak's `kc-form-login`, as a browser would find it."""

    def __init__(self):
        super().__init__()
        self.action = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and attributes.get("id") == "kc-form-login":
            self.action = attributes["action"]

    def error(self, message):
        raise AssertionError(message)


def _login_form_action(page):
    parser = _LoginForm()
    parser.feed(page)
    assert parser.action, page
    return parser.action


def test_authorization_code_flow_with_pkce(kc, admin):
    """What MLflow's OIDC login does in a browser: authorize, sign in on the form, redeem the code."""
    redirect = "http://mlflow.test/callback"
    client_uuid = admin.get_client_id("portal")
    admin.update_client(client_uuid, {"redirectUris": ["http://mlflow.test/*"]})
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    openid = KeycloakOpenID(server_url=kc.url, realm_name=REALM, client_id="portal", client_secret_key="portal-secret")
    auth_url = openid.auth_url(redirect_uri=redirect, scope="openid email profile", state="xyz")
    browser = requests.Session()
    page = browser.get(f"{auth_url}&nonce=n-0S6&code_challenge={challenge}&code_challenge_method=S256", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    wrong = browser.post(_login_form_action(page.text), data={"username": "grace", "password": "fortran"}, allow_redirects=False,
                         timeout=10)
    assert wrong.status_code == 200 and "Invalid username or password." in wrong.text
    signed_in = browser.post(_login_form_action(wrong.text), data={"username": "grace", "password": "cobol"}, allow_redirects=False,
                             timeout=10)
    assert signed_in.status_code == 302
    location = urlsplit(signed_in.headers["Location"])
    params = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect and params["state"] == ["xyz"]
    token = openid.token(grant_type="authorization_code", code=params["code"][0], redirect_uri=redirect, code_verifier=verifier)
    id_claims = openid.decode_token(token["id_token"])
    assert id_claims["nonce"] == "n-0S6" and id_claims["preferred_username"] == "grace" and id_claims["aud"] == "portal"
    # Codes are single-use, and a wrong PKCE verifier burns one too.
    with pytest.raises(KeycloakPostError):
        openid.token(grant_type="authorization_code", code=params["code"][0], redirect_uri=redirect, code_verifier=verifier)
    page = browser.get(f"{auth_url}&code_challenge={challenge}&code_challenge_method=S256", timeout=10)
    signed_in = browser.post(_login_form_action(page.text), data={"username": "grace", "password": "cobol"}, allow_redirects=False,
                             timeout=10)
    code = parse_qs(urlsplit(signed_in.headers["Location"]).query)["code"][0]
    with pytest.raises(KeycloakPostError) as failure:
        openid.token(grant_type="authorization_code", code=code, redirect_uri=redirect, code_verifier="wrong")
    assert b"PKCE verification failed" in failure.value.response_body
    bad_redirect = browser.get(openid.auth_url(redirect_uri="http://evil.test/", scope="openid", state="s"), timeout=10)
    assert bad_redirect.status_code == 400 and "Invalid parameter: redirect_uri" in bad_redirect.text
    logout = browser.get(f"{kc.url}/realms/{REALM}/protocol/openid-connect/logout", allow_redirects=False, timeout=10, params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": "http://mlflow.test/", "state": "bye"})
    assert logout.status_code == 302 and logout.headers["Location"] == "http://mlflow.test/?state=bye"
    assert openid.introspect(token["access_token"])["active"] is False


def test_a_fault_on_the_token_endpoint_is_an_http_error_to_retry(kc):
    """Injected faults reach the token endpoint too, as an HTTP answer (a client's retry sees a status, never a dropped connection)."""
    token_url = f"{kc.url}/realms/master/protocol/openid-connect/token"
    form = {"grant_type": "password", "client_id": "admin-cli", "username": kc.admin_username, "password": kc.admin_password}
    kc.set_config({"faults": {"error_rate": 1.0, "error_codes": [429]}})
    try:
        throttled = requests.post(token_url, data=form, timeout=10)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
        assert throttled.json() == {"error": "HTTP 429 Too Many Requests"}
        kc.set_config({"faults": {"error_codes": [500]}})
        with pytest.raises(KeycloakPostError) as failed:
            KeycloakOpenID(server_url=kc.url, realm_name="master", client_id="admin-cli").token(kc.admin_username, kc.admin_password)
        assert failed.value.response_code == 500 and b'"unknown_error"' in failed.value.response_body
    finally:
        kc.set_config({"faults": {"error_rate": 0.0, "error_codes": [429, 500, 503]}})
    assert requests.post(token_url, data=form, timeout=10).json()["access_token"]

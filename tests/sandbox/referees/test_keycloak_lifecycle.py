"""Referee: short-lived tokens are refreshed by python-keycloak, and state survives a restart."""

import time

import requests
from keycloak import KeycloakOpenID

from tests.sandbox.keycloak import testing


def test_short_lived_tokens_are_refreshed():
    """Lifespan 2 s: python-keycloak carries on by refreshing; the refresh_token grant works until it expires too."""
    with testing.running({"token_lifespan_seconds": 2, "refresh_token_lifespan_seconds": 4}) as kc:
        admin = kc.admin_client()
        admin.create_realm({"realm": "short"})
        first_token = admin.connection.token["access_token"]
        assert admin.connection.token["expires_in"] == 2
        token_url = f"{kc.url}/realms/master/protocol/openid-connect/token"
        tokens = requests.post(token_url, timeout=10, data={"grant_type": "password", "client_id": "admin-cli",
                                                            "username": kc.admin_username, "password": kc.admin_password}).json()
        time.sleep(2.5)
        # The old tokens are now rejected by the Admin API...
        for stale in (first_token, tokens["access_token"]):
            response = requests.get(f"{kc.url}/admin/realms", headers={"Authorization": f"Bearer {stale}"}, timeout=10)
            assert response.status_code == 401
        # ...python-keycloak carries on by refreshing...
        assert "short" in {r["realm"] for r in admin.get_realms()}
        assert admin.connection.token["access_token"] != first_token
        assert len([e for e in kc.requests()["entries"] if e["resource"] == "oidc:token"]) >= 3
        # ...and so does a plain refresh_token grant, until the refresh token expires as well.
        refreshed = requests.post(token_url, timeout=10, data={"grant_type": "refresh_token", "client_id": "admin-cli",
                                                               "refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
        assert requests.get(f"{kc.url}/admin/realms", headers=headers, timeout=10).status_code == 200
        time.sleep(2.0)  # the first refresh token (4 s) has now expired
        expired = requests.post(token_url, timeout=10, data={"grant_type": "refresh_token", "client_id": "admin-cli",
                                                             "refresh_token": tokens["refresh_token"]})
        assert expired.status_code == 400
        assert expired.json() == {"error": "invalid_grant", "error_description": "Token is not active"}
        assert kc.requests()["schema_violations"] == 0


def test_state_survives_restart(tmp_path):
    state = str(tmp_path / "keycloak.json")
    with testing.running(state_path=state) as kc:
        admin = kc.admin_client()
        admin.create_realm({"realm": "durable", "enabled": True})
        admin.change_current_realm("durable")
        client_uuid = admin.create_client({"clientId": "keeper", "directAccessGrantsEnabled": True})
        secret = admin.get_client_secrets(client_uuid)["value"]
        group_id = admin.create_group({"name": "mlflow-users"})
        user_id = admin.create_user({"username": "frank", "enabled": True, "credentials": [{"type": "password", "value": "pw"}]})
        admin.group_user_add(user_id, group_id)
        certs = requests.get(f"{kc.url}/realms/durable/protocol/openid-connect/certs", timeout=10).json()
        old_token = KeycloakOpenID(server_url=kc.url, realm_name="durable", client_id="keeper",
                                   client_secret_key=secret).token("frank", "pw")["access_token"]
        first_process = kc.process
    assert first_process.returncode == 0
    with testing.running(state_path=state) as kc:
        admin = kc.admin_client()
        assert "durable" in {r["realm"] for r in admin.get_realms()}
        admin.change_current_realm("durable")
        assert admin.get_client_id("keeper") == client_uuid
        assert admin.get_client_secrets(client_uuid)["value"] == secret
        assert [m["username"] for m in admin.get_group_members(group_id)] == ["frank"]
        assert requests.get(f"{kc.url}/realms/durable/protocol/openid-connect/certs", timeout=10).json() == certs
        openid = KeycloakOpenID(server_url=kc.url, realm_name="durable", client_id="keeper", client_secret_key=secret)
        assert openid.decode_token(old_token)["preferred_username"] == "frank"
        assert openid.token("frank", "pw")["access_token"]

"""The Keycloak REST client and the MLflow client's comparisons, with open_url replaced by a scripted fake."""

import io
import json
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak import client as kc_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak import mlflow_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.errors import (
    AuthError,
    Conflict,
    InvalidInput,
    Transient,
    Unreachable,
)
from tests.unit.fakes import FakeResponse

PASSWORD = "s3cret-Pa55"


class FakeKeycloak:
    """Answers open_url calls from a script of (status, body[, headers]) and records the calls."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, url, data=None, headers=None, method=None, **kwargs):
        self.calls.append({"url": url, "data": data, "headers": headers, "method": method})
        status, body, *rest = self.answers.pop(0)
        if status == "refused":
            raise URLError(ConnectionRefusedError(111, "Connection refused"))
        if status >= 400:
            raise HTTPError(url, status, "error", {}, io.BytesIO(body.encode()))
        return FakeResponse(status, body, rest[0] if rest else None)


TOKEN = (200, json.dumps({"access_token": "token-1"}))


@pytest.fixture()
def fake(monkeypatch):
    def install(*answers):
        fake_keycloak = FakeKeycloak(*answers)
        monkeypatch.setattr(kc_client, "open_url", fake_keycloak)  # monkeypatch restores it after the test
        return fake_keycloak
    return install


def new_client():
    return kc_client.KeycloakClient("https://sso.example.com/auth/", username="admin", password=PASSWORD,
                                    sleep=lambda seconds: None)


def test_password_grant_then_admin_call_with_the_bearer_token(fake):
    keycloak = fake(TOKEN, (200, json.dumps({"realm": "ml"})))
    assert new_client().get("ml") == {"realm": "ml"}
    token_call, admin_call = keycloak.calls
    assert token_call["url"] == "https://sso.example.com/auth/realms/master/protocol/openid-connect/token"
    assert "grant_type=password" in token_call["data"] and "client_id=admin-cli" in token_call["data"]
    assert admin_call["url"] == "https://sso.example.com/auth/admin/realms/ml"
    assert admin_call["headers"]["Authorization"] == "Bearer token-1"


def test_an_expired_token_is_renewed_once(fake):
    keycloak = fake(TOKEN, (401, "{}"), (200, json.dumps({"access_token": "token-2"})), (200, "[]"))
    assert new_client().get("ml/clients") == []
    assert keycloak.calls[-1]["headers"]["Authorization"] == "Bearer token-2"


def test_a_second_401_after_renewal_is_an_auth_error(fake):
    fake(TOKEN, (401, "{}"), TOKEN, (401, json.dumps({"error": "HTTP 401 Unauthorized"})))
    with pytest.raises(AuthError):
        new_client().get("ml/clients")


def test_bad_credentials_name_the_user_never_the_password(fake):
    fake((401, json.dumps({"error": "invalid_grant", "error_description": "Invalid user credentials"})))
    with pytest.raises(AuthError) as raised:
        new_client().get("ml")
    assert "credentials of user admin in realm master: Invalid user credentials" in str(raised.value)
    assert PASSWORD not in str(raised.value)


def test_server_errors_are_retried_with_backoff_and_bounded(fake):
    keycloak = fake(TOKEN, (503, "{}"), (429, "{}"), (200, "{}"))
    assert new_client().get("ml") == {}
    assert len(keycloak.calls) == 4
    fake(TOKEN, *[(500, json.dumps({"error": "boom"}))] * kc_client.MAX_ATTEMPTS)
    with pytest.raises(Transient, match="boom"):
        new_client().get("ml")


def test_retries_wait_within_the_full_jitter_window_and_every_request_counts(fake):
    fake(TOKEN, *[(503, "{}")] * kc_client.MAX_ATTEMPTS)
    sleeps = []
    client = kc_client.KeycloakClient("https://sso.example.com/auth", username="admin", password=PASSWORD,
                                      sleep=sleeps.append)
    with pytest.raises(Transient) as raised:
        client.get("ml")
    assert raised.value.attempts == kc_client.MAX_ATTEMPTS and len(sleeps) == kc_client.MAX_ATTEMPTS - 1
    assert all(0 <= seconds <= min(kc_client.BACKOFF_CAP, kc_client.BACKOFF_BASE * 2 ** number)
               for number, seconds in enumerate(sleeps))
    assert client.request_count == 1 + kc_client.MAX_ATTEMPTS


def test_client_errors_are_not_retried(fake):
    keycloak = fake(TOKEN, (409, json.dumps({"errorMessage": "Client mlflow already exists"})))
    with pytest.raises(Conflict, match="Client mlflow already exists"):
        new_client().create("ml/clients", {"clientId": "mlflow"})
    assert len(keycloak.calls) == 2


def test_unreachable_keycloak(fake):
    fake(("refused", ""))
    with pytest.raises(Unreachable, match="cannot reach Keycloak at https://sso.example.com/auth"):
        new_client().get("ml")


def test_create_returns_the_id_from_location(fake):
    fake(TOKEN, (201, "", {"Location": "https://sso.example.com/auth/admin/realms/ml/clients/abc-123"}))
    assert new_client().create("ml/clients", {"clientId": "mlflow"}) == "abc-123"


def test_path_quotes_each_segment():
    assert kc_client.path("my realm", "groups", "a/b") == "my%20realm/groups/a%2Fb"


PARAMS = {"state": "present", "realm": "ml", "client_id": "mlflow", "mlflow_url": "https://mlflow.example.com/",
          "extra_redirect_uris": ["https://mlflow.example.com/oidc/*"], "web_origins": None,
          "direct_access_grants": False, "client_name": None, "description": None, "groups_scope": "groups",
          "groups_claim": "groups", "admin_group": "mlflow-admins", "users_group": "mlflow-users"}


def test_desired_client_is_confidential_with_the_callback_redirect():
    desired = mlflow_client.desired_client(PARAMS)
    assert desired["publicClient"] is False and desired["standardFlowEnabled"] is True
    assert desired["redirectUris"] == ["https://mlflow.example.com/callback", "https://mlflow.example.com/oidc/*"]
    assert desired["webOrigins"] == ["https://mlflow.example.com"]


def test_client_differences_ignore_order_and_unowned_fields():
    desired = mlflow_client.desired_client(PARAMS)
    current = dict(desired, id="uuid", redirectUris=list(reversed(desired["redirectUris"])), attributes={"x": "y"})
    assert mlflow_client.client_differences(current, desired) == []
    assert mlflow_client.client_differences(dict(current, directAccessGrantsEnabled=True), desired) == [
        "directAccessGrantsEnabled"]


def test_group_mapper_with_full_path_is_not_current():
    desired = mlflow_client.desired_mapper(PARAMS)
    assert mlflow_client.mapper_is_current(desired, desired)
    assert not mlflow_client.mapper_is_current(dict(desired, config=dict(desired["config"], **{"full.path": "true"})),
                                               desired)


@pytest.mark.parametrize("change, message", [
    ({"mlflow_url": "mlflow.example.com"}, r"mlflow_url must be an http\(s\) URL"),
    ({"users_group": "mlflow-admins"}, "admin_group and users_group must differ"),
    ({"extra_redirect_uris": ["/relative"]}, "is not absolute"),
])
def test_invalid_input_is_refused_before_any_call(change, message):
    with pytest.raises(InvalidInput, match=message):
        mlflow_client.validate(dict(PARAMS, **change))


class FakeAdminClient:
    """Just enough of KeycloakClient for ensure_mlflow_client: an empty realm with Keycloak's default scopes."""

    base_url = "https://sso.example.com"

    def __init__(self, fail_on=None):
        self.fail_on = fail_on
        self.writes = []
        self.scopes = [{"id": "p", "name": "profile"}, {"id": "e", "name": "email"}]

    def get(self, api_path, query=None):
        if api_path == "ml":
            return {"realm": "ml"}
        if api_path == "ml/client-scopes":
            return self.scopes
        if api_path == "ml/clients/c-1":
            return {"id": "c-1", "clientId": "mlflow"}
        if api_path.endswith("client-secret"):
            return {"type": "secret", "value": "generated"}
        return []

    def create(self, api_path, body):
        if api_path == self.fail_on:
            raise Conflict("boom", status=409, operation="POST " + api_path)
        self.writes.append(("POST", api_path))
        return {"ml/clients": "c-1", "ml/client-scopes": "g"}.get(api_path, "id-%d" % len(self.writes))

    def put(self, api_path, body=None):
        self.writes.append(("PUT", api_path))


def test_check_mode_plans_everything_and_writes_nothing():
    client = FakeAdminClient()
    result = mlflow_client.ensure_mlflow_client(client, dict(PARAMS, memberships=[], regenerate_secret=False,
                                                             issuer_base_url=None, auth_keycloak_url=client.base_url),
                                                True)
    assert result["changed"] and client.writes == [] and result["client_secret"] is None
    assert result["diff"]["after"]["groups"] == ["mlflow-admins", "mlflow-users"]


def test_a_failure_half_way_reports_what_was_already_done():
    client = FakeAdminClient(fail_on="ml/groups")
    with pytest.raises(Conflict) as raised:
        mlflow_client.ensure_mlflow_client(client, dict(PARAMS, memberships=[], regenerate_secret=False,
                                                        issuer_base_url=None, auth_keycloak_url=client.base_url), False)
    assert raised.value.done == ["created client mlflow", "created client scope groups",
                                 "added default scopes email, groups, profile to client mlflow"]

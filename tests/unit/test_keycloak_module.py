"""Keycloak's errors on the common base, and mlflow_oidc_client's failure payload through the common runner."""

import io
import json
from urllib.error import HTTPError

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors as common_errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import module as common_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak import client as kc_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak import core
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak import errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.mlflow_client import ensure_mlflow_client
from tests.unit.fakes import FakeModule, FakeResponse, ModuleExit

# --- errors


@pytest.mark.parametrize("kind, common_kind", [
    (errors.NotFound, common_errors.NotFound), (errors.Conflict, common_errors.Conflict),
    (errors.AuthError, common_errors.AuthError), (errors.Transient, common_errors.Transient),
    (errors.InvalidInput, common_errors.InvalidInput),
])
def test_each_kind_is_a_keycloak_error_and_the_common_kind(kind, common_kind):
    error = kind("gone", status=404, operation="GET /admin/realms/ml")
    assert isinstance(error, errors.KeycloakError) and isinstance(error, common_kind)


def test_unreachable_is_keycloaks_own_so_it_is_not_retried():
    assert not issubclass(errors.Unreachable, common_errors.Transient)


def test_str_is_operation_http_status_and_message():
    not_found = errors.NotFound("Realm not found.", status=404, operation="GET /admin/realms/x")
    assert str(not_found) == "GET /admin/realms/x: HTTP 404: Realm not found."
    assert str(errors.Unreachable("cannot reach", operation="POST /token")) == "POST /token: cannot reach"
    assert str(errors.InvalidInput("groups must differ")) == "groups must differ"


def test_as_dict_is_the_common_payload():
    assert errors.Conflict("exists", status=409, operation="POST x").as_dict() == {
        "type": "Conflict", "code": None, "status": 409, "operation": "POST x", "message": "exists"}


# --- the module, through the common runner


def script(monkeypatch, *answers):
    """open_url answers (status, body[, headers]) in turn; monkeypatch restores it after the test."""
    answers = list(answers)

    def open_url(url, method=None, **kwargs):
        status, body, *rest = answers.pop(0)
        if status >= 400:
            raise HTTPError(url, status, "error", {}, io.BytesIO(body.encode()))
        return FakeResponse(status, body, rest[0] if rest else None)

    monkeypatch.setattr(kc_client, "open_url", open_url)


PARAMS = {"auth_keycloak_url": "https://sso.example.com", "auth_realm": "master", "auth_client_id": "admin-cli",
          "auth_client_secret": None, "auth_username": "admin", "auth_password": "pw", "token": None,
          "validate_certs": True, "connection_timeout": 10, "http_agent": "Ansible",
          "state": "present", "realm": "ml", "client_id": "mlflow", "mlflow_url": "https://mlflow.example.com",
          "extra_redirect_uris": [], "web_origins": None, "direct_access_grants": False, "client_name": None,
          "description": None, "groups_scope": "groups", "groups_claim": "groups", "admin_group": "mlflow-admins",
          "users_group": "mlflow-users", "memberships": [], "regenerate_secret": False, "issuer_base_url": None,
          "remove_groups": False}
EMPTY_REALM = [
    (200, json.dumps({"access_token": "t"})),
    (200, json.dumps({"realm": "ml"})),
    (200, "[]"),  # clients
    (200, json.dumps([{"id": "p", "name": "profile"}, {"id": "e", "name": "email"}])),
    (200, "[]"), (200, "[]"),  # the two groups
]


def run(params=None, check_mode=False):
    module = FakeModule(dict(PARAMS, **(params or {})), check_mode)
    with pytest.raises(ModuleExit) as exited:
        core.run_module(module, ensure_mlflow_client)
    assert module.warnings == []
    return exited.value


def test_a_failure_half_way_reports_what_was_done_and_the_request_count(monkeypatch):
    script(monkeypatch, *EMPTY_REALM,
           (201, "", {"Location": "https://sso.example.com/admin/realms/ml/clients/c-1"}),
           (200, json.dumps({"id": "c-1", "clientId": "mlflow"})),
           (403, json.dumps({"error": "not allowed"})))
    exited = run()
    assert exited.failed
    assert exited.result == {
        "msg": "POST /admin/realms/ml/client-scopes: HTTP 403: not allowed; already done before the failure: "
               "created client mlflow",
        "error": {"type": "AuthError", "code": None, "status": 403, "operation": "POST /admin/realms/ml/client-scopes",
                  "message": "not allowed"},
        "changes_made": ["created client mlflow"], "changed": True, "api_requests": 9}


def test_a_failure_before_any_write_changed_nothing(monkeypatch):
    script(monkeypatch, (200, json.dumps({"access_token": "t"})), (404, json.dumps({"error": "Realm not found."})))
    exited = run()
    assert exited.failed and exited.result["changes_made"] == [] and exited.result["changed"] is False
    assert exited.result["msg"] == "HTTP 404: realm 'ml' does not exist in Keycloak at https://sso.example.com"
    assert exited.result["api_requests"] == 2


def test_check_mode_exits_with_the_plan_and_the_request_count(monkeypatch):
    script(monkeypatch, *EMPTY_REALM)
    exited = run(check_mode=True)
    assert not exited.failed and exited.result["changed"] and exited.result["api_requests"] == 6
    assert exited.result["discovery_url"] == "https://sso.example.com/realms/ml/.well-known/openid-configuration"
    assert exited.result["mlflow_env"]["OIDC_DISCOVERY_URL"] == exited.result["discovery_url"]


def test_keycloak_module_adds_the_connection_options_and_their_constraints(monkeypatch):
    captured = {}
    monkeypatch.setattr(common_module, "AnsibleModule", lambda **kwargs: captured.update(kwargs) or "module")
    required_if = [("state", "present", ["mlflow_url"])]
    assert core.keycloak_module({"realm": {"type": "str"}}, required_if=required_if) == "module"
    assert set(captured["argument_spec"]) == set(core.CONNECTION_ARGUMENT_SPEC) | {"realm"}
    assert captured["required_one_of"] == [["token", "auth_username", "auth_client_secret"]]
    assert captured["required_together"] == [["auth_username", "auth_password"]]
    assert captured["required_if"] == required_if and captured["supports_check_mode"]

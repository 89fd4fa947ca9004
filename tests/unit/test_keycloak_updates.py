"""mlflow_client's update_* steps one at a time: compare -> check mode -> act, each with its part of the diff."""

import copy

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak import mlflow_client

PARAMS = {"state": "present", "realm": "ml", "client_id": "mlflow", "mlflow_url": "https://mlflow.example.com",
          "extra_redirect_uris": [], "web_origins": None, "direct_access_grants": False, "client_name": None,
          "description": None, "groups_scope": "groups", "groups_claim": "groups", "admin_group": "mlflow-admins",
          "users_group": "mlflow-users", "memberships": [], "regenerate_secret": False}


class FakeClient:
    """KeycloakClient's get/create/put/post answered from a dict of path -> answer; writes are recorded."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.writes = []

    def get(self, api_path, query=None):
        return copy.deepcopy(self.answers.get(api_path))

    def create(self, api_path, body):
        self.writes.append(("POST", api_path, body))
        return "new-%d" % len(self.writes)

    def put(self, api_path, body=None):
        self.writes.append(("PUT", api_path, body))

    def post(self, api_path, body=None):
        self.writes.append(("POST", api_path, body))
        return {"value": "rotated"}


def present(oidc_client=None, groups_scope=None, groups=None, memberships=None, **params):
    """A Present as read_present leaves it, with the diff's client part set as update_client sets it."""
    state = mlflow_client.Present(dict(PARAMS, **params), mlflow_client.Changes())
    state.oidc_client = oidc_client
    state.groups_scope = groups_scope
    state.scope_ids = {"profile": "p", "email": "e", "groups": "g"} if groups_scope else {"profile": "p", "email": "e"}
    state.groups = groups if groups is not None else {"mlflow-admins": None, "mlflow-users": None}
    state.memberships = memberships or {}
    state.before["client"] = dict(mlflow_client.client_view(oidc_client), secret="********") if oidc_client else None
    state.after["client"] = dict(mlflow_client.client_view(state.desired_client), secret="********")
    return state


def current_client(**fields):
    return dict(mlflow_client.desired_client(PARAMS), id="c-1", attributes={"kept": "yes"},
                protocolMappers=[{"name": "audience"}], **fields)


@pytest.mark.parametrize("check_mode", [True, False])
def test_update_client_creates_a_missing_client(check_mode):
    client = FakeClient({"ml/clients/new-1": {"id": "new-1", "clientId": "mlflow"}})
    state = present()
    assert mlflow_client.update_client(client, state, check_mode)
    assert state.before["client"] is None and state.after["client"]["secret"] == "********"
    if check_mode:
        assert client.writes == [] and state.client_uuid is None
    else:
        assert [write[:2] for write in client.writes] == [("POST", "ml/clients")]
        assert state.client_uuid == "new-1" and state.changes.done == ["created client mlflow"]


def test_update_client_puts_the_owned_fields_and_keeps_the_others():
    client = FakeClient()
    state = present(current_client(redirectUris=["https://old.example.com/callback"]))
    assert mlflow_client.update_client(client, state, False)
    (method, api_path, body), = client.writes
    assert (method, api_path) == ("PUT", "ml/clients/c-1")
    assert body["redirectUris"] == ["https://mlflow.example.com/callback"] and body["attributes"] == {"kept": "yes"}
    assert "protocolMappers" not in body
    assert state.changes.done == ["updated client mlflow (redirectUris)"]
    assert state.before["client"]["redirectUris"] == ["https://old.example.com/callback"]


def test_update_client_leaves_a_current_client_alone():
    client = FakeClient()
    state = present(current_client(redirectUris=["https://mlflow.example.com/callback"]))
    assert not mlflow_client.update_client(client, state, False)
    assert client.writes == [] and state.changes.done == []


def test_update_groups_scope_creates_the_scope_with_its_mapper():
    client = FakeClient()
    state = present()
    assert mlflow_client.update_groups_scope(client, state, False)
    (method, api_path, body), = client.writes
    assert (method, api_path) == ("POST", "ml/client-scopes")
    assert body["protocolMappers"][0]["config"]["full.path"] == "false"
    assert state.scope_ids["groups"] == "new-1" and state.before["client_scope"] is None
    assert state.after["client_scope"]["mapper"]["protocolMapper"] == "oidc-group-membership-mapper"


def test_update_groups_scope_fixes_a_full_path_mapper_and_keeps_its_other_config():
    mapper = dict(mlflow_client.desired_mapper(PARAMS), id="m-1")
    mapper["config"] = dict(mapper["config"], **{"full.path": "true", "extra": "kept"})
    models = "ml/client-scopes/g/protocol-mappers/models"
    client = FakeClient({models: [mapper]})
    state = present(groups_scope={"id": "g", "name": "groups"})
    assert mlflow_client.update_groups_scope(client, state, True) and client.writes == []
    assert state.before["client_scope"]["mapper"]["config"]["full.path"] == "true"
    assert mlflow_client.update_groups_scope(client, state, False)
    (method, api_path, body), = client.writes
    assert (method, api_path) == ("PUT", models + "/m-1")
    assert body["config"]["full.path"] == "false" and body["config"]["extra"] == "kept"
    assert state.changes.done == ["set the groups mapper of client scope groups"]


def test_update_groups_scope_leaves_a_current_mapper_alone():
    mapper = dict(mlflow_client.desired_mapper(PARAMS), id="m-1")
    client = FakeClient({"ml/client-scopes/g/protocol-mappers/models": [mapper]})
    assert not mlflow_client.update_groups_scope(client, present(groups_scope={"id": "g", "name": "groups"}), False)
    assert client.writes == []


def test_update_default_scopes_adds_only_the_missing_ones():
    client = FakeClient({"ml/clients/c-1/default-client-scopes": [{"name": "profile"}, {"name": "roles"}]})
    state = present(current_client(), groups_scope={"id": "g", "name": "groups"})
    assert mlflow_client.update_default_scopes(client, state, False)
    assert [write[:2] for write in client.writes] == [("PUT", "ml/clients/c-1/default-client-scopes/e"),
                                                      ("PUT", "ml/clients/c-1/default-client-scopes/g")]
    assert state.before["client"]["defaultClientScopes"] == ["profile", "roles"]
    assert state.after["client"]["defaultClientScopes"] == ["email", "groups", "profile", "roles"]
    assert state.changes.done == ["added default scopes email, groups to client mlflow"]


def test_update_default_scopes_of_a_client_still_to_create_in_check_mode():
    client = FakeClient()
    state = present()
    assert mlflow_client.update_default_scopes(client, state, True)
    assert client.writes == [] and state.after["client"]["defaultClientScopes"] == ["email", "groups", "profile"]


def test_update_groups_creates_the_missing_group_only():
    client = FakeClient()
    state = present(groups={"mlflow-admins": {"id": "a", "name": "mlflow-admins"}, "mlflow-users": None})
    assert mlflow_client.update_groups(client, state, True) and client.writes == []
    assert mlflow_client.update_groups(client, state, False)
    assert client.writes == [("POST", "ml/groups", {"name": "mlflow-users"})]
    assert state.groups["mlflow-users"] == {"id": "new-1", "name": "mlflow-users"}
    assert state.before["groups"] == ["mlflow-admins"] and state.after["groups"] == ["mlflow-admins", "mlflow-users"]
    assert not mlflow_client.update_groups(client, state, False)


def test_update_memberships_adds_and_never_removes():
    groups = {"mlflow-admins": {"id": "a", "name": "mlflow-admins"},
              "mlflow-users": {"id": "u", "name": "mlflow-users"}}
    client = FakeClient({"ml/users/u-1/groups": [{"name": "mlflow-users"}, {"name": "elsewhere"}]})
    state = present(groups=groups, memberships={"alice": ({"id": "u-1"}, ["mlflow-admins", "mlflow-users"])})
    assert mlflow_client.update_memberships(client, state, False)
    assert client.writes == [("PUT", "ml/users/u-1/groups/a", None)]
    assert state.before["memberships"] == {"alice": ["elsewhere", "mlflow-users"]}
    assert state.after["memberships"] == {"alice": ["elsewhere", "mlflow-admins", "mlflow-users"]}
    assert state.changes.done == ["added user alice to group mlflow-admins"]


@pytest.mark.parametrize("check_mode, secret, writes", [(True, "kept", []), (False, "rotated", ["POST"])])
def test_update_secret_rotates_only_when_asked(check_mode, secret, writes):
    client = FakeClient({"ml/clients/c-1/client-secret": {"value": "kept"}})
    state = present(current_client())
    assert not mlflow_client.update_secret(client, state, check_mode) and state.secret == "kept"
    state = present(current_client(), regenerate_secret=True)
    assert mlflow_client.update_secret(client, state, check_mode)
    assert state.secret == secret and [write[0] for write in client.writes] == writes
    assert state.after["client"]["secret"] == "******** (regenerated)"
    assert state.before["client"]["secret"] == "********"


def test_update_secret_of_a_client_still_to_create_is_unknown():
    state = present(regenerate_secret=True)
    assert not mlflow_client.update_secret(FakeClient(), state, True)
    assert state.secret is None and state.after["client"]["secret"] == "********"

"""The IRSA trust policy builder and the per-attribute updates: plugins/module_utils/aws/oidc_role.py."""

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws import oidc_role
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.errors import InvalidInput

HOST = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{HOST}"


class RecordingClient:
    """Stands in for AWSClient: records calls, answers none."""

    def __init__(self):
        self.calls = []

    def call(self, service, operation, **kwargs):
        self.calls.append((service, operation, kwargs))
        return {}


def test_exact_service_accounts_are_matched_with_string_equals():
    trust = oidc_role.trust_policy(HOST, PROVIDER, [{"namespace": "mlflow", "name": "mlflow"},
                                                    {"namespace": "jobs", "name": "runner"}], [], None)
    (statement,) = trust["Statement"]
    assert statement["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["Principal"] == {"Federated": [PROVIDER]}
    assert statement["Condition"] == {"StringEquals": {
        f"{HOST}:aud": ["sts.amazonaws.com"],
        f"{HOST}:sub": ["system:serviceaccount:jobs:runner", "system:serviceaccount:mlflow:mlflow"]}}


def test_a_wildcard_needs_to_be_asked_for():
    with pytest.raises(InvalidInput, match="contains a wildcard"):
        oidc_role.trust_policy(HOST, PROVIDER, [{"namespace": "jfrogml", "name": "*"}], [], None)
    trust = oidc_role.trust_policy(HOST, PROVIDER, [{"namespace": "jfrogml", "name": "*", "wildcard": True}], [], None)
    (statement,) = trust["Statement"]
    assert statement["Condition"] == {"StringEquals": {f"{HOST}:aud": ["sts.amazonaws.com"]},
                                      "StringLike": {f"{HOST}:sub": ["system:serviceaccount:jfrogml:*"]}}


def test_trusted_principals_get_an_assume_role_statement_with_the_external_id():
    trust = oidc_role.trust_policy(HOST, PROVIDER, [], ["111122223333"], "abc")
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    assert statement["Action"] == ["sts:AssumeRole"]
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": ["abc"]}}


@pytest.mark.parametrize("service_accounts, principals, external_id, message", [
    ([], [], None, "trusts nobody"),
    ([{"namespace": "a", "name": "b"}], [], "abc", "external_id needs trusted_principals"),
])
def test_incomplete_trust_is_refused(service_accounts, principals, external_id, message):
    with pytest.raises(InvalidInput, match=message):
        oidc_role.trust_policy(HOST, PROVIDER, service_accounts, principals, external_id)


@pytest.mark.parametrize("issuer", [f"https://{HOST}", f"https://{HOST}/", HOST])
def test_issuer_host_drops_scheme_and_trailing_slash(issuer):
    assert oidc_role.issuer_host(issuer) == HOST


def _state(**changes):
    state = {"path": "/", "trust_policy": oidc_role.trust_policy(HOST, PROVIDER, [{"namespace": "a", "name": "b"}], [],
                                                                 None),
             "description": "", "max_session_duration": 3600, "permissions_boundary": "", "inline_policies": {},
             "managed_policy_arns": [], "tags": {"team": "ml"}}
    state.update(changes)
    return state


@pytest.mark.parametrize("update, changes", [
    (oidc_role.update_trust_policy, {"trust_policy": oidc_role.trust_policy(
        HOST, PROVIDER, [{"namespace": "a", "name": "c"}], [], None)}),
    (oidc_role.update_settings, {"description": "new"}),
    (oidc_role.update_permissions_boundary, {"permissions_boundary": "arn:aws:iam::aws:policy/Boundary"}),
    (oidc_role.update_inline_policies, {"inline_policies": {"p": {"Version": "2012-10-17", "Statement": []}}}),
    (oidc_role.update_managed_policies, {"managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}),
    (oidc_role.update_tags, {"tags": {}}),
])
def test_each_update_reports_a_change_in_check_mode_without_calling_aws_and_acts_otherwise(update, changes):
    before, after = _state(), _state(**changes)
    client = RecordingClient()
    assert update(client, "role", before, before, False) is False
    assert update(client, "role", before, after, True) is True
    assert client.calls == []
    assert update(client, "role", before, after, False) is True
    assert client.calls and all(call[0] == "iam" for call in client.calls)


def test_desired_state_keeps_what_the_user_left_unset_and_purges_what_they_listed():
    before = _state(inline_policies={"old": {"Version": "2012-10-17", "Statement": []}},
                    managed_policy_arns=["arn:aws:iam::aws:policy/Old"], description="kept")
    params = {"path": "/", "purge_policies": True, "purge_tags": False, "description": None,
              "max_session_duration": None, "permissions_boundary": None,
              "inline_policies": {"new": "{\"Version\": \"2012-10-17\", \"Statement\": []}"},
              "managed_policy_arns": None, "tags": {"env": "prod"}}
    after = oidc_role.desired_state(params, before["trust_policy"], before)
    assert after["description"] == "kept"
    assert list(after["inline_policies"]) == ["new"]
    assert after["managed_policy_arns"] == ["arn:aws:iam::aws:policy/Old"]
    assert after["tags"] == {"team": "ml", "env": "prod"}

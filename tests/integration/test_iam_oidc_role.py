"""mlplatform.selfhosted.iam_oidc_role on the sandbox's moto, asserted through boto3."""

import uuid

import boto3
import pytest

PLAYBOOK = "tests/integration/playbooks/iam_oidc_role/role.yml"


@pytest.fixture(scope="module")
def aws(sandbox):
    """boto3 clients on the sandbox's moto."""
    def client(service):
        return boto3.client(service, endpoint_url=sandbox.endpoints["aws"]["endpoint_url"], region_name="us-east-1",
                            **sandbox.credentials["aws"])
    return client


@pytest.fixture()
def role_name(aws):
    """A role name of this test's own; the role is deleted afterwards, whatever the test left."""
    name = f"it-{uuid.uuid4().hex[:10]}"
    yield name
    iam = aws("iam")
    try:
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        pass


@pytest.fixture()
def ensure(run_playbook, role_name):
    """Run the role playbook with extra vars; returns the PlaybookResult."""
    def run(*args, **extra_vars):
        extra = [item for key, value in dict(extra_vars, role_name=role_name).items()
                 for item in ("-e", f"{key}={value}")]
        return run_playbook(PLAYBOOK, *extra, *args)
    return run


def role_exists(iam, name):
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def trusted_subjects(iam, name, issuer):
    document = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    host = issuer.removeprefix("https://")
    subjects = []
    for statement in document["Statement"]:
        value = statement["Condition"]["StringEquals"][f"{host}:sub"]
        subjects.extend(value if isinstance(value, list) else [value])
    return subjects


def assert_changed(result, expected):
    assert result.rc == 0, result.output
    assert result.total("changed") == expected, result.output


def test_four_steps_create_then_nothing_to_do(ensure, aws, role_name, sandbox):
    iam = aws("iam")
    assert_changed(ensure("--check"), 1)
    assert not role_exists(iam, role_name)

    assert_changed(ensure(), 1)
    role = iam.get_role(RoleName=role_name)["Role"]
    assert trusted_subjects(iam, role_name, sandbox.endpoints["aws"]["eks_oidc_issuer"]) == [
        "system:serviceaccount:mlflow:mlflow"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    issuer_host = sandbox.endpoints["aws"]["eks_oidc_issuer"].removeprefix("https://")
    assert statement["Principal"]["Federated"] in (
        f"arn:aws:iam::123456789012:oidc-provider/{issuer_host}", [f"arn:aws:iam::123456789012:oidc-provider/{issuer_host}"])
    assert statement["Condition"]["StringEquals"][f"{issuer_host}:aud"] in ("sts.amazonaws.com", ["sts.amazonaws.com"])
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["artifacts"]
    assert {tag["Key"]: tag["Value"] for tag in iam.list_role_tags(RoleName=role_name)["Tags"]} == {"platform": "mlflow"}
    assert role["Description"] == "integration test role"

    assert_changed(ensure("--check"), 0)
    result = ensure()
    assert_changed(result, 0)
    assert f"eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/{role_name}" in result.output


@pytest.mark.parametrize("policy_form", ["reordered", "yaml_string"])
def test_the_same_policy_in_another_form_is_no_change(ensure, policy_form):
    assert_changed(ensure(), 1)
    assert_changed(ensure(policy_form=policy_form), 0)


def test_a_changed_subject_is_a_change_with_a_diff_and_check_mode_writes_nothing(ensure, aws, role_name, sandbox):
    iam = aws("iam")
    issuer = sandbox.endpoints["aws"]["eks_oidc_issuer"]
    assert_changed(ensure(), 1)
    before = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]

    checked = ensure("--check", "--diff", service_account="trainer")
    assert_changed(checked, 1)
    assert "-                    - system:serviceaccount:mlflow:mlflow" in checked.output
    assert "+                    - system:serviceaccount:mlflow:trainer" in checked.output
    assert iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"] == before

    assert_changed(ensure("--diff", service_account="trainer"), 1)
    assert trusted_subjects(iam, role_name, issuer) == ["system:serviceaccount:mlflow:trainer"]
    assert_changed(ensure(service_account="trainer"), 0)


def test_tags_are_purged_to_the_declared_set(ensure, aws, role_name):
    iam = aws("iam")
    assert_changed(ensure(), 1)
    iam.tag_role(RoleName=role_name, Tags=[{"Key": "stray", "Value": "x"}])
    assert_changed(ensure(), 1)
    assert {tag["Key"] for tag in iam.list_role_tags(RoleName=role_name)["Tags"]} == {"platform"}


def test_absent_twice_deletes_then_does_nothing(ensure, aws, role_name):
    iam = aws("iam")
    assert_changed(ensure(), 1)
    assert_changed(ensure("--check", state="absent"), 1)
    assert role_exists(iam, role_name)
    assert_changed(ensure(state="absent"), 1)
    assert not role_exists(iam, role_name)
    assert_changed(ensure(state="absent"), 0)


def test_a_wrong_cluster_name_fails_naming_the_cluster_and_creates_nothing(ensure, aws, role_name):
    result = ensure(cluster_name="no-such-cluster")
    assert result.rc != 0
    assert "EKS cluster 'no-such-cluster' not found in region us-east-1" in result.output
    assert "ResourceNotFoundException" in result.output
    assert not role_exists(aws("iam"), role_name)


def test_a_wildcard_not_asked_for_is_refused_before_any_write(ensure, aws, role_name):
    result = ensure(service_account="*")
    assert result.rc != 0
    assert "service account mlflow/* contains a wildcard" in result.output
    assert not role_exists(aws("iam"), role_name)

"""The collection's small GCP modules on the sandbox's emulators, asserted through googleapiclient.

gcp_service, gcp_service_account, gcp_service_account_key, gcp_iam_binding and gcs_bucket: the four steps
(check mode → changed; apply → changed; check mode → ok; apply → ok), the diff, absent twice and bad input;
gcp_project_info: a read, the same in check mode, and a project that cannot be read named in the error.
"""

import re
import uuid

import pytest

from tests.integration.gcp_support import PROJECT, api, assert_changed, extra_vars, get_or_none, members, reset_requests, set_service, writes

PLAYBOOKS = "tests/integration/playbooks/gcp_modules"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def play(run_playbook):
    def run(name, *args, **values):
        return run_playbook(f"{PLAYBOOKS}/{name}.yml", *extra_vars(**values), *args)
    return run


def service_state(sandbox, service):
    return api(sandbox, "serviceusage").services().get(name=f"projects/{PROJECT}/services/{service}").execute()["state"]


def account(sandbox, email):
    return get_or_none(api(sandbox, "iam").projects().serviceAccounts().get(name=f"projects/{PROJECT}/serviceAccounts/{email}"))


def create_account(sandbox, account_id):
    return api(sandbox, "iam").projects().serviceAccounts().create(
        name=f"projects/{PROJECT}", body={"accountId": account_id}).execute()["email"]


def key_ids(sandbox, email):
    keys = api(sandbox, "iam").projects().serviceAccounts().keys().list(
        name=f"projects/{PROJECT}/serviceAccounts/{email}", keyTypes="USER_MANAGED").execute().get("keys", [])
    return sorted(key["name"].rsplit("/", 1)[1] for key in keys)


# --- gcp_service


@pytest.fixture()
def storage_api_disabled(sandbox):
    """bigquerystorage.googleapis.com, disabled for the test and afterwards (nothing else of the sandbox needs it)."""
    set_service(sandbox, "bigquerystorage.googleapis.com", False)
    yield "bigquerystorage.googleapis.com"
    set_service(sandbox, "bigquerystorage.googleapis.com", False)


def test_service_four_steps_then_disable_twice(play, sandbox, storage_api_disabled):
    service = storage_api_disabled
    reset_requests(sandbox)
    checked = play("service", "--check", "--diff", services=[service])
    assert_changed(checked, 1)
    assert f"+    {service}: ENABLED" in checked.output
    assert service_state(sandbox, service) == "DISABLED"
    assert writes(sandbox) == []
    assert_changed(play("service", services=[service]), 1)
    assert service_state(sandbox, service) == "ENABLED"
    assert_changed(play("service", "--check", services=[service]), 0)
    assert_changed(play("service", services=[service]), 0)

    assert_changed(play("service", services=[service], service_state="absent"), 1)
    assert service_state(sandbox, service) == "DISABLED"
    assert_changed(play("service", services=[service], service_state="absent"), 0)


def test_service_refuses_a_malformed_name_before_any_request(play, sandbox):
    reset_requests(sandbox)
    result = play("service", services=["biglake"])
    assert result.rc != 0
    assert "not service names (like biglake.googleapis.com): biglake" in result.output
    assert writes(sandbox) == []


# --- gcp_service_account


def test_service_account_four_steps_diff_and_absent_twice(play, sandbox):
    name = unique("it-sa")
    email = f"{name}@{PROJECT}.iam.gserviceaccount.com"
    reset_requests(sandbox)
    assert_changed(play("service_account", "--check", account_name=name, display_name="First"), 1)
    assert account(sandbox, email) is None
    assert writes(sandbox) == []
    assert_changed(play("service_account", account_name=name, display_name="First"), 1)
    assert account(sandbox, email)["displayName"] == "First"
    assert_changed(play("service_account", "--check", account_name=name, display_name="First"), 0)
    assert_changed(play("service_account", account_name=name, display_name="First"), 0)

    renamed = play("service_account", "--diff", account_name=name, display_name="Second")
    assert_changed(renamed, 1)
    assert "-    display_name: First" in renamed.output and "+    display_name: Second" in renamed.output
    assert account(sandbox, email)["displayName"] == "Second"

    assert_changed(play("service_account", account_name=name, account_state="absent"), 1)
    assert account(sandbox, email) is None
    assert_changed(play("service_account", account_name=name, account_state="absent"), 0)


def test_service_account_refuses_a_bad_id_before_any_request(play, sandbox):
    reset_requests(sandbox)
    result = play("service_account", account_name="Bad_Id")
    assert result.rc != 0
    assert "name 'Bad_Id' is not a valid account id" in result.output
    assert writes(sandbox) == []


# --- gcp_service_account_key


def test_key_is_created_once_and_kept_while_it_is_valid(play, sandbox):
    email = create_account(sandbox, unique("it-key"))
    reset_requests(sandbox)
    checked = play("service_account_key", "--check", account_email=email)
    assert_changed(checked, 1)
    assert key_ids(sandbox, email) == []
    assert writes(sandbox) == []

    created = play("service_account_key", "--diff", account_email=email)
    assert_changed(created, 1)
    assert "material=True" in created.output
    assert "PRIVATE KEY" not in created.output
    key_id = re.search(r"key_id=(\w+)", created.output).group(1)
    assert key_ids(sandbox, email) == [key_id]

    assert_changed(play("service_account_key", "--check", account_email=email, key_id=key_id), 0)
    kept = play("service_account_key", account_email=email, key_id=key_id)
    assert_changed(kept, 0)
    assert "material=False" in kept.output
    assert key_ids(sandbox, email) == [key_id]

    assert_changed(play("service_account_key", account_email=email, key_id=key_id, key_state="absent"), 1)
    assert key_ids(sandbox, email) == []
    assert_changed(play("service_account_key", account_email=email, key_id=key_id, key_state="absent"), 0)


def test_key_of_a_missing_account_fails_naming_it(play):
    email = f"{unique('it-none')}@{PROJECT}.iam.gserviceaccount.com"
    result = play("service_account_key", account_email=email)
    assert result.rc != 0
    assert f"service account {email} does not exist" in result.output


# --- gcp_iam_binding


def test_project_binding_four_steps_and_absent_twice(play, sandbox):
    email = create_account(sandbox, unique("it-bind"))
    member = f"serviceAccount:{email}"
    values = {"resource_type": "project", "resource": PROJECT, "endpoint_api": "cloudresourcemanager",
              "bindings": [{"role": "roles/biglake.viewer", "members": [member]}]}
    projects = api(sandbox, "cloudresourcemanager").projects()
    reset_requests(sandbox)
    checked = play("iam_binding", "--check", "--diff", **values)
    assert_changed(checked, 1)
    assert f"+    - {member}" in checked.output
    assert member not in members(projects.getIamPolicy(resource=PROJECT, body={}).execute(), "roles/biglake.viewer")
    assert writes(sandbox) == []
    assert_changed(play("iam_binding", **values), 1)
    policy = projects.getIamPolicy(resource=PROJECT, body={}).execute()
    assert member in members(policy, "roles/biglake.viewer")
    assert "serviceAccount:sandbox-admin@sandbox-project.iam.gserviceaccount.com" in members(policy, "roles/owner")
    assert_changed(play("iam_binding", "--check", **values), 0)
    assert_changed(play("iam_binding", **values), 0)

    assert_changed(play("iam_binding", binding_state="absent", **values), 1)
    assert member not in members(projects.getIamPolicy(resource=PROJECT, body={}).execute(), "roles/biglake.viewer")
    assert_changed(play("iam_binding", binding_state="absent", **values), 0)


def test_workload_identity_binding_on_a_service_account(play, sandbox):
    email = create_account(sandbox, unique("it-wi"))
    member = f"serviceAccount:{PROJECT}.svc.id.goog[mlflow/mlflow]"
    values = {"resource_type": "service_account", "resource": email, "endpoint_api": "iam",
              "bindings": [{"role": "roles/iam.workloadIdentityUser", "members": [member]}]}
    assert_changed(play("iam_binding", **values), 1)
    policy = api(sandbox, "iam").projects().serviceAccounts().getIamPolicy(
        resource=f"projects/{PROJECT}/serviceAccounts/{email}").execute()
    assert members(policy, "roles/iam.workloadIdentityUser") == [member]
    assert_changed(play("iam_binding", **values), 0)


def test_a_binding_the_api_refuses_fails_with_googles_message(play, sandbox):
    email = create_account(sandbox, unique("it-bad"))
    result = play("iam_binding", resource_type="service_account", resource=email, endpoint_api="iam",
                  bindings=[{"role": "roles/biglake.admin", "members": [f"serviceAccount:{email}"]}])
    assert result.rc != 0
    assert "Role roles/biglake.admin is not supported for this resource." in result.output


def test_binding_refuses_a_member_without_a_kind_before_any_request(play, sandbox):
    reset_requests(sandbox)
    result = play("iam_binding", resource_type="project", resource=PROJECT, endpoint_api="cloudresourcemanager",
                  bindings=[{"role": "roles/viewer", "members": ["someone@example.com"]}])
    assert result.rc != 0
    assert "'someone@example.com' is not a principal" in result.output
    assert writes(sandbox) == []


# --- gcs_bucket


def test_bucket_four_steps_settings_and_absent_twice(play, sandbox):
    name = unique("it-bucket")
    buckets = api(sandbox, "storage").buckets()
    assert_changed(play("bucket", "--check", bucket_name=name, versioning=True, uniform=True), 1)
    assert get_or_none(buckets.get(bucket=name)) is None
    assert_changed(play("bucket", bucket_name=name, versioning=True, uniform=True), 1)
    bucket = buckets.get(bucket=name).execute()
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] is True
    assert_changed(play("bucket", "--check", bucket_name=name, versioning=True, uniform=True), 0)
    assert_changed(play("bucket", bucket_name=name, versioning=True, uniform=True), 0)

    changed = play("bucket", "--diff", bucket_name=name, versioning=False)
    assert_changed(changed, 1)
    assert "-    versioning: true" in changed.output and "+    versioning: false" in changed.output
    assert buckets.get(bucket=name).execute()["versioning"] == {"enabled": False}

    assert_changed(play("bucket", bucket_name=name, bucket_state="absent"), 1)
    assert get_or_none(buckets.get(bucket=name)) is None
    assert_changed(play("bucket", bucket_name=name, bucket_state="absent"), 0)


def test_bucket_refuses_a_bad_name(play):
    result = play("bucket", bucket_name="Bad_Bucket")
    assert result.rc != 0
    assert "'Bad_Bucket' is not a valid bucket name" in result.output


# --- gcp_project_info


def test_project_info_reads_the_project_in_check_mode_too(play, sandbox):
    expected = api(sandbox, "cloudresourcemanager").projects().get(projectId=PROJECT).execute()
    reset_requests(sandbox)
    for args in ((), ("--check",)):
        result = play("project_info", *args)
        assert result.rc == 0, result.output
        assert_changed(result, 0)
        assert f"project {PROJECT} number {expected['projectNumber']} is ACTIVE" in result.output
    assert writes(sandbox) == []


def test_project_info_names_a_project_it_cannot_read(play, sandbox):
    reset_requests(sandbox)
    result = play("project_info", project="no-such-project-42")
    assert result.rc != 0
    assert ("project 'no-such-project-42' does not exist or these credentials may not read it"
            in " ".join(result.output.split())), result.output
    assert "PERMISSION_DENIED" in result.output
    assert writes(sandbox) == []

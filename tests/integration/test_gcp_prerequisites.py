"""The gcp_prerequisites role on the sandbox's GCP and Kubernetes emulators, asserted through the real clients."""

import base64
import json
import uuid

import pytest
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from tests.integration.gcp_support import PROJECT, api, assert_changed, extra_vars, get_or_none, members, reset_requests, set_service, writes

PLAYBOOK = "tests/integration/playbooks/gcp_prerequisites/prerequisites.yml"
SERVICES = ("biglake.googleapis.com", "bigquery.googleapis.com")
# The guide's project roles of jfrogml-sa, and those the role adds.
JFROGML_PROJECT_ROLES = ("roles/biglake.admin", "roles/bigquery.admin", "roles/iam.serviceAccountUser",
                         "roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator",
                         "roles/serviceusage.serviceUsageConsumer", "roles/bigquery.readSessionUser")


@pytest.fixture()
def names(sandbox):
    """Names of this test's own, and the APIs disabled as on a fresh project (enabled again afterwards)."""
    suffix = uuid.uuid4().hex[:8]
    for service in SERVICES:
        set_service(sandbox, service, False)
    yield {
        "gcp_prerequisites_jfrogml_bucket": f"it-jfrogml-{suffix}",
        "gcp_prerequisites_mlflow_bucket": f"it-mlflow-{suffix}",
        "gcp_prerequisites_jfrogml_catalog": f"it_catalog_{suffix}",
        "gcp_prerequisites_jfrogml_service_account": f"it-jfrogml-{suffix}",
        "gcp_prerequisites_mlflow_service_account": f"it-mlflow-{suffix}",
        "gcp_prerequisites_jfrogml_key_secret_name": f"it-jfrogml-key-{suffix}",
        "gcp_prerequisites_mlflow_project_roles": ["roles/cloudsql.client"],
    }
    for service in SERVICES:
        set_service(sandbox, service, True)


@pytest.fixture()
def apply(run_playbook, names):
    def run(*args, **values):
        return run_playbook(PLAYBOOK, *extra_vars(**dict(names, **values)), *args)
    return run


@pytest.fixture(scope="module")
def core_v1(sandbox):
    return kube_client.CoreV1Api(kube_config.new_client_from_config(config_file=str(sandbox.kubeconfig)))


def email(account_id):
    return f"{account_id}@{PROJECT}.iam.gserviceaccount.com"


def service_enabled(sandbox, service):
    services = api(sandbox, "serviceusage").services()
    return services.get(name=f"projects/{PROJECT}/services/{service}").execute()["state"] == "ENABLED"


def account_policy(sandbox, address):
    return api(sandbox, "iam").projects().serviceAccounts().getIamPolicy(
        resource=f"projects/{PROJECT}/serviceAccounts/{address}").execute()


def key_ids(sandbox, address):
    keys = api(sandbox, "iam").projects().serviceAccounts().keys().list(
        name=f"projects/{PROJECT}/serviceAccounts/{address}", keyTypes="USER_MANAGED").execute().get("keys", [])
    return sorted(key["name"].rsplit("/", 1)[1] for key in keys)


def stored_key(core_v1, secret_name):
    secret = core_v1.read_namespaced_secret(secret_name, "jfrogml")
    return json.loads(base64.b64decode(secret.data["credentials.json"]))


def test_everything_is_created_then_a_second_run_changes_nothing(apply, names, sandbox, core_v1):
    result = apply()
    assert result.rc == 0, result.output
    assert result.total("changed") > 0
    jfrogml, mlflow = email(names["gcp_prerequisites_jfrogml_service_account"]), \
        email(names["gcp_prerequisites_mlflow_service_account"])

    assert all(service_enabled(sandbox, service) for service in SERVICES)
    catalog = f"projects/{PROJECT}/locations/us/catalogs/{names['gcp_prerequisites_jfrogml_catalog']}"
    assert api(sandbox, "biglake").projects().locations().catalogs().get(name=catalog).execute()["name"] == catalog

    project_policy = api(sandbox, "cloudresourcemanager").projects().getIamPolicy(resource=PROJECT, body={}).execute()
    for role in JFROGML_PROJECT_ROLES:
        assert f"serviceAccount:{jfrogml}" in members(project_policy, role), role
    assert f"serviceAccount:{mlflow}" in members(project_policy, "roles/cloudsql.client")

    storage = api(sandbox, "storage").buckets()
    for bucket, role, account in ((names["gcp_prerequisites_jfrogml_bucket"], "roles/storage.admin", jfrogml),
                                  (names["gcp_prerequisites_jfrogml_bucket"], "roles/storage.objectAdmin", jfrogml),
                                  (names["gcp_prerequisites_mlflow_bucket"], "roles/storage.objectAdmin", mlflow)):
        resource = storage.get(bucket=bucket).execute()
        assert resource["versioning"] == {"enabled": True}
        assert resource["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] is True
        assert resource["iamConfiguration"]["publicAccessPrevention"] == "enforced"
        assert members(storage.getIamPolicy(bucket=bucket).execute(), role) == [f"serviceAccount:{account}"]

    assert members(account_policy(sandbox, mlflow), "roles/iam.workloadIdentityUser") == [
        f"serviceAccount:{PROJECT}.svc.id.goog[mlflow/mlflow]"]
    key_file = stored_key(core_v1, names["gcp_prerequisites_jfrogml_key_secret_name"])
    assert key_file["client_email"] == jfrogml
    assert key_ids(sandbox, jfrogml) == [key_file["private_key_id"]]
    assert "PRIVATE KEY" not in result.output
    assert f"iam.gke.io/gcp-service-account: {mlflow}" in result.output

    reset_requests(sandbox)
    sandbox.kube_admin("requests/reset", method="POST")
    assert_changed(apply("--check"), 0)
    second = apply()
    assert_changed(second, 0)
    assert writes(sandbox) == []
    assert sandbox.kube_writes() == 0


def test_check_mode_on_a_fresh_project_writes_nothing(apply, names, sandbox):
    reset_requests(sandbox)
    sandbox.kube_admin("requests/reset", method="POST")
    result = apply("--check")
    assert result.rc == 0, result.output
    assert result.total("changed") > 0
    assert writes(sandbox) == []
    assert sandbox.kube_writes() == 0
    assert not service_enabled(sandbox, "biglake.googleapis.com")
    assert get_or_none(api(sandbox, "iam").projects().serviceAccounts().get(
        name=f"projects/{PROJECT}/serviceAccounts/{email(names['gcp_prerequisites_jfrogml_service_account'])}")) is None


def test_a_deleted_key_is_replaced_and_the_secret_updated(apply, names, sandbox, core_v1):
    assert apply().rc == 0
    jfrogml = email(names["gcp_prerequisites_jfrogml_service_account"])
    old = stored_key(core_v1, names["gcp_prerequisites_jfrogml_key_secret_name"])["private_key_id"]
    api(sandbox, "iam").projects().serviceAccounts().keys().delete(
        name=f"projects/{PROJECT}/serviceAccounts/{jfrogml}/keys/{old}").execute()
    result = apply()
    assert result.rc == 0, result.output
    assert result.total("changed") == 2, result.output  # the key, and the secret holding it
    new = stored_key(core_v1, names["gcp_prerequisites_jfrogml_key_secret_name"])["private_key_id"]
    assert new != old
    assert key_ids(sandbox, jfrogml) == [new]
    assert_changed(apply(), 0)


def test_workload_identity_instead_of_a_key(apply, names, sandbox, core_v1):
    result = apply(gcp_prerequisites_jfrogml_credentials="workload_identity")
    assert result.rc == 0, result.output
    jfrogml = email(names["gcp_prerequisites_jfrogml_service_account"])
    assert members(account_policy(sandbox, jfrogml), "roles/iam.workloadIdentityUser") == [
        f"serviceAccount:{PROJECT}.svc.id.goog[jfrogml/jfrogml]"]
    assert key_ids(sandbox, jfrogml) == []
    secrets = core_v1.list_namespaced_secret("jfrogml").items if "jfrogml" in [
        item.metadata.name for item in core_v1.list_namespace().items] else []
    assert names["gcp_prerequisites_jfrogml_key_secret_name"] not in [item.metadata.name for item in secrets]
    assert f"iam.gke.io/gcp-service-account: {jfrogml}" in result.output
    assert_changed(apply(gcp_prerequisites_jfrogml_credentials="workload_identity"), 0)


@pytest.mark.parametrize("values, message", [
    ({"gcp_prerequisites_jfrogml_bucket": "Bad_Bucket"}, "JFrog ML needs gcp_prerequisites_jfrogml_bucket (a valid bucket name, got"),
    ({"gcp_prerequisites_jfrogml_bucket": "goog-jfrogml"},
     "JFrog ML needs gcp_prerequisites_jfrogml_bucket (a valid bucket name, got 'goog-jfrogml')"),
    ({"gcp_prerequisites_mlflow_bucket": "ml-google-artifacts"},
     "MLflow needs gcp_prerequisites_mlflow_bucket (a valid bucket name, got 'ml-google-artifacts')"),
    ({"gcp_prerequisites_mlflow_bucket": "10.0.0.1"}, "MLflow needs gcp_prerequisites_mlflow_bucket (a valid bucket name, got '10.0.0.1')"),
    ({"gcp_prerequisites_jfrogml_bucket": "jfrogml..features"}, "JFrog ML needs gcp_prerequisites_jfrogml_bucket (a valid bucket name"),
    ({"gcp_prerequisites_project": "X"}, "set gcp_prerequisites_project to a project id (got 'X')"),
    ({"gcp_prerequisites_project": "no-such-project-42"},
     "gcp_prerequisites_project is 'no-such-project-42': GET v1/projects/no-such-project-42: PERMISSION_DENIED: "
     "project 'no-such-project-42' does not exist or these credentials may not read it"),
    ({"gcp_prerequisites_mlflow_kubernetes_service_account": {"namespace": "mlflow", "name": ""}},
     "gcp_prerequisites_mlflow_kubernetes_service_account with a namespace and a name"),
    ({"gcp_prerequisites_jfrogml_service_account": "JFrog_SA"},
     "gcp_prerequisites_jfrogml_service_account must be a service account id"),
    ({"gcp_prerequisites_mlflow_service_account": "ml"}, "gcp_prerequisites_mlflow_service_account must be a service account id"),
    ({"gcp_prerequisites_jfrogml_namespace": "JFrog ML"}, "gcp_prerequisites_jfrogml_namespace must be a DNS label"),
    ({"gcp_prerequisites_jfrogml_key_secret_name": "Key_Secret"}, "gcp_prerequisites_jfrogml_key_secret_name must be a DNS subdomain"),
    ({"gcp_prerequisites_jfrogml_project_roles": ["biglake.admin"]}, "gcp_prerequisites_jfrogml_project_roles and"),
    ({"gcp_prerequisites_api_endpoints": {"iam": "iam.local"}}, "gcp_prerequisites_api_endpoints must map"),
    ({"gcp_prerequisites_bucket_location": "us central"}, "gcp_prerequisites_bucket_location must be a location"),
    ({"gcp_prerequisites_jfrogml_credentials": "workload_identity",
      "gcp_prerequisites_jfrogml_kubernetes_service_accounts": [{"namespace": "jfrogml", "name": "JFrog"}]},
     "gcp_prerequisites_jfrogml_credentials workload_identity needs gcp_prerequisites_jfrogml_kubernetes_service_accounts"),
])
def test_a_bad_inventory_fails_before_any_write(apply, names, sandbox, values, message):
    reset_requests(sandbox)
    sandbox.kube_admin("requests/reset", method="POST")
    result = apply(**values)
    assert result.rc != 0
    flat = " ".join(result.output.split())
    assert message in flat, result.output
    # The message is about the variable at fault, not another one's value.
    faults = set(values) | {"gcp_prerequisites_jfrogml_credentials"}
    assert not any(f"'{value}'" in flat for name, value in names.items() if name not in faults and isinstance(value, str))
    assert writes(sandbox) == []
    assert sandbox.kube_writes() == 0

"""helm_release_checked on the sandbox, with the Helm Go SDK engine; state checked with the kubernetes client and Helm's SDK."""

import json
import uuid
from pathlib import Path

import helm_python
import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

REPO = Path(__file__).resolve().parents[2]
CHART = str(REPO / "tests" / "charts" / "checked")
PLAYBOOK = "tests/integration/playbooks/helm_release_checked/release.yml"


@pytest.fixture(scope="module")
def apps(sandbox):
    return k8s_client.AppsV1Api(k8s_config.new_client_from_config(config_file=str(sandbox.kubeconfig)))


@pytest.fixture(scope="module")
def core(sandbox):
    return k8s_client.CoreV1Api(k8s_config.new_client_from_config(config_file=str(sandbox.kubeconfig)))


@pytest.fixture()
def release(sandbox, run_playbook, tmp_path):
    """A fresh release name and namespace; run(**vars, check=False, diff=False) returns the task result."""
    name = "rel-%s" % uuid.uuid4().hex[:6]
    namespace = "hrc-%s" % name

    def run(check=False, diff=False, **variables):
        variables = dict({"release": name, "release_ns": namespace, "chart": CHART, "engine": "sdk"}, **variables)
        vars_file = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:6])
        vars_file.write_text(json.dumps(variables), encoding="utf-8")
        args = ["-e", "@%s" % vars_file] + (["--check"] if check else []) + (["--diff"] if diff else [])
        result = run_playbook(PLAYBOOK, *args, extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
        report = json.loads(result.stdout[result.stdout.index("{"):])
        task = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
        task["_rc"] = result.rc
        return task

    run.name, run.namespace = name, namespace
    yield run
    helm = helm_python.Config(kubeconfig_path=str(sandbox.kubeconfig), namespace=namespace)
    helm.uninstall(name, ignore_not_found=True)
    helm.close()


def helm_config(sandbox, namespace):
    return helm_python.Config(kubeconfig_path=str(sandbox.kubeconfig), namespace=namespace)


def set_faults(sandbox, **faults):
    sandbox.kube_admin("config", method="PUT", body={"faults": faults})


@pytest.fixture()
def clean_faults(sandbox):
    yield
    set_faults(sandbox, error_rate=0.0, never_ready=[], failing_jobs=[])


def test_install_then_same_again_is_ok_and_an_unchanged_release_costs_two_requests(sandbox, release, apps):
    first = release(release_values={"replicaCount": 2}, preflight={"kube_version": ">=1.24,<1.33"})
    assert first["_rc"] == 0, first
    assert first["changed"] and first["status"] == "deployed" and first["revision"] == 1
    assert first["chart"] == "checked-0.2.0" and first["app_version"] == "2.0.0"
    assert {"kind": "Deployment", "api_version": "apps/v1", "namespace": release.namespace, "name": release.name + "-app"} in first["resources"]
    assert [check["passed"] for check in first["checks"]] == [True, True]
    assert apps.read_namespaced_deployment(release.name + "-app", release.namespace).spec.replicas == 2

    sandbox.kube_admin("requests/reset", method="POST")
    second = release(release_values={"replicaCount": 2.0}, preflight={"kube_version": ">=1.24,<1.33"})
    assert second["_rc"] == 0 and not second["changed"], second
    assert second["api_requests"] == 2  # /version for the preflight, one list of Helm's storage Secrets
    assert sandbox.kube_writes() == 0
    assert [entry["revision"] for entry in helm_config(sandbox, release.namespace).history(release.name)] == [1]


def test_check_mode_reports_the_change_with_a_masked_diff_and_stores_nothing(sandbox, release):
    assert release(release_values={"replicaCount": 1}, release_secret_values={"auth": {"adminPassword": "first-secret"}})["_rc"] == 0
    sandbox.kube_admin("requests/reset", method="POST")
    planned = release(check=True, diff=True, release_values={"replicaCount": 3},
                      release_secret_values={"auth": {"adminPassword": "second-secret"}})
    assert planned["_rc"] == 0 and planned["changed"] and planned["status"] == "planned", planned
    values_diff, manifest_diff = planned["diff"]
    assert "replicaCount: 3" in values_diff["after"] and "replicaCount: 1" in values_diff["before"]
    assert "-  replicas: 1\n+  replicas: 3" in manifest_diff["prepared"]
    assert "admin-password: '******** (changed)'" in manifest_diff["prepared"]
    serialized = json.dumps(planned)
    assert "second-secret" not in serialized and "first-secret" not in serialized
    assert "c2Vjb25kLXNlY3JldA" not in serialized  # base64 of the new password
    assert sorted(planned["changed_resources"]) == sorted([
        "Deployment/%s/%s-app" % (release.namespace, release.name), "Secret/%s/%s-auth" % (release.namespace, release.name),
        "Job/%s/%s-validation-1" % (release.namespace, release.name), "Job/%s/%s-validation-2" % (release.namespace, release.name)])
    history = helm_config(sandbox, release.namespace).history(release.name)
    assert [entry["revision"] for entry in history] == [1]
    assert sandbox.kube_writes() == 0


@pytest.mark.parametrize("version", ["v1.23.17", "v1.33.0"])
def test_preflight_outside_the_version_range_fails_before_any_write(sandbox, release, version):
    before = sandbox.kube_admin("config")["version"]
    sandbox.kube_admin("config", method="PUT", body={"version": version})
    try:
        sandbox.kube_admin("requests/reset", method="POST")
        result = release(preflight={"kube_version": ">=1.24,<1.33", "required_crds": ["widgets.nowhere.example"],
                                    "required_namespaces": ["absent-ns"], "required_secrets": ["default/absent-secret"]})
    finally:
        sandbox.kube_admin("config", method="PUT", body={"version": before})
    assert result["_rc"] != 0 and result["msg"].startswith("preflight failed, nothing was changed")
    assert result["preflight"] == [
        "Kubernetes %s is outside the supported range >=1.24,<1.33" % version,
        "CustomResourceDefinition widgets.nowhere.example is missing",
        "namespace absent-ns is missing",
        "secret default/absent-secret is missing",
    ]
    assert sandbox.kube_writes() == 0


def test_failing_validation_job_with_atomic_restores_the_previous_revision_and_values(sandbox, release, apps, clean_faults):
    assert release(release_values={"replicaCount": 1, "message": "v1"})["_rc"] == 0
    set_faults(sandbox, failing_jobs=["%s-validation-2" % release.name])
    sandbox.kube_admin("config", method="PUT", body={"job_logs": {"%s-validation-2" % release.name: "schema check: FAILED\n"}})
    result = release(atomic=True, release_values={"replicaCount": 2, "message": "v2"},
                     validation_jobs=[{"label_selector": "app.kubernetes.io/instance=%s,app.kubernetes.io/component=validation" % release.name,
                                       "log_pattern": "passed"}])
    assert result["_rc"] != 0
    assert "check failed after upgrade" in result["msg"] and "rolled back to revision 1" in result["msg"]
    failed = result["failed_checks"]
    # The job is one of the release's workloads too, so its readiness check fails with it.
    assert [(check["type"], check["name"].split(" ")[0]) for check in failed] == [("workload", "Job"), ("validation_job", "validation")]
    assert "schema check: FAILED" in failed[1]["logs"]
    assert result["rollback"]["action"] == "rollback" and result["rollback"]["to_revision"] == 1
    helm = helm_config(sandbox, release.namespace)
    history = helm.history(release.name)
    assert [entry["revision"] for entry in history] == [1, 2, 3] and history[-1]["status"] == "deployed"
    assert helm.get_values(release.name) == {"replicaCount": 1, "message": "v1"}
    assert apps.read_namespaced_deployment(release.name + "-app", release.namespace).spec.replicas == 1


def test_a_workload_that_never_becomes_ready_fails_within_wait_timeout_and_is_rolled_back(sandbox, release, clean_faults):
    assert release(release_values={"message": "v1"})["_rc"] == 0
    set_faults(sandbox, never_ready=["%s/%s-app" % (release.namespace, release.name)])
    result = release(atomic=True, wait_timeout=6, release_values={"message": "v2"})
    assert result["_rc"] != 0
    workload_check = [check for check in result["failed_checks"] if check["type"] == "workload"][0]
    assert workload_check["detail"].startswith("not ready in time")
    assert 5.0 <= workload_check["duration"] < 60
    assert result["rollback"]["action"] == "rollback"
    assert helm_config(sandbox, release.namespace).get_values(release.name) == {"message": "v1"}


def test_a_failed_first_install_with_atomic_is_removed(sandbox, release, core, clean_faults):
    set_faults(sandbox, failing_jobs=["%s-validation-1" % release.name])
    result = release(atomic=True, validation_jobs=[{"name": "%s-validation-1" % release.name}])
    assert result["_rc"] != 0 and result["rollback"]["action"] == "uninstall"
    assert core.list_namespaced_secret(release.namespace, label_selector="owner=helm,name=%s" % release.name).items == []


def test_absent_removes_the_release_and_is_idempotent(sandbox, release, apps, core):
    assert release()["_rc"] == 0
    removed = release(release_state="absent")
    assert removed["_rc"] == 0 and removed["changed"] and removed["status"] == "absent"
    assert core.list_namespaced_secret(release.namespace, label_selector="owner=helm,name=%s" % release.name).items == []
    assert apps.list_namespaced_deployment(release.namespace).items == []
    again = release(release_state="absent")
    assert again["_rc"] == 0 and not again["changed"]


def test_converges_with_ten_percent_of_requests_failing(sandbox, release, apps, clean_faults):
    # An install makes a few dozen requests, so at this rate most attempts meet a fault: allow more of them
    # than the default 4, or the test fails now and then when every attempt does.
    set_faults(sandbox, error_rate=0.1, error_codes=[500, 503])
    result = release(release_values={"replicaCount": 2}, transient_attempts=10)
    set_faults(sandbox, error_rate=0.0)
    assert result["_rc"] == 0, result.get("msg")
    assert result["status"] == "deployed"
    assert apps.read_namespaced_deployment(release.name + "-app", release.namespace).status.ready_replicas == 2


def test_bad_input_fails_clearly_and_writes_nothing(sandbox, release):
    sandbox.kube_admin("requests/reset", method="POST")
    bad_range = release(preflight={"kube_version": ">=one"})
    assert bad_range["_rc"] != 0 and "preflight.kube_version: cannot parse '>=one'" in bad_range["msg"]
    no_chart = release(chart=None)
    assert no_chart["_rc"] != 0 and no_chart["msg"] == "chart_ref is required when state is present"
    both = release(validation_jobs=[{"name": "a", "label_selector": "b=c"}])
    assert both["_rc"] != 0 and "mutually exclusive" in both["msg"]
    no_attempt = release(transient_attempts=0)
    assert no_attempt["_rc"] != 0 and no_attempt["msg"] == "transient_attempts must be at least 1, got 0"
    missing_chart = release(chart=str(REPO / "tests" / "charts" / "does-not-exist"))
    assert missing_chart["_rc"] != 0 and "does-not-exist" in missing_chart["msg"]
    assert sandbox.kube_writes() == 0

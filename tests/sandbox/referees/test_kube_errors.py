"""Referee: error bodies, fault injection, the request log and persistence, checked with the kubernetes client."""

import json
import time

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.sandbox.kube import testing


@pytest.fixture(scope="module", name="core")
def fixture_core(kube):
    return client.CoreV1Api(config.new_client_from_config(config_file=kube.kubeconfig))


def _status(error):
    body = json.loads(error.body)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == error.status
    return body


def test_401_without_or_with_wrong_token(kube):
    expected = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
                "reason": "Unauthorized", "code": 401}
    status, body, _headers = kube.request("GET", "/api/v1/namespaces", token=False)
    assert (status, body) == (401, expected)
    status, body, _headers = kube.request("GET", "/api/v1/namespaces", token="wrong")
    assert (status, body) == (401, expected)
    assert kube.request("GET", "/_sandbox/health", token=False)[:2] == (200, {"status": "ok"})


def test_404_object_namespace_and_resource(kube, core):
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("nope", "default")
    body = _status(missing.value)
    assert body["reason"] == "NotFound" and body["message"] == 'configmaps "nope" not found'
    assert body["details"] == {"name": "nope", "kind": "configmaps"}
    with pytest.raises(ApiException) as no_namespace:
        core.create_namespaced_config_map("ghost", {"metadata": {"name": "x"}})
    body = _status(no_namespace.value)
    assert body["reason"] == "NotFound" and body["message"] == 'namespaces "ghost" not found'
    status, body, _headers = kube.request("GET", "/apis/apps/v1/namespaces/default/gizmos")
    assert status == 404 and body["reason"] == "NotFound" and body["kind"] == "Status"
    status, body, _headers = kube.request("GET", "/apis/apps/v1/namespaces/default/deployments/none")
    assert body["message"] == 'deployments.apps "none" not found' and body["details"]["group"] == "apps"


def test_422_missing_name(core):
    with pytest.raises(ApiException) as invalid:
        core.create_namespaced_config_map("default", {"metadata": {}})
    body = _status(invalid.value)
    assert invalid.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    made = core.create_namespaced_config_map("default", {"metadata": {"generateName": "gen-"}})
    assert made.metadata.name.startswith("gen-") and len(made.metadata.name) == 9


def test_409_already_exists_and_stale_update(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "twice"}, "data": {"v": "1"}})
    with pytest.raises(ApiException) as duplicate:
        core.create_namespaced_config_map("default", {"metadata": {"name": "twice"}})
    body = _status(duplicate.value)
    assert duplicate.value.status == 409 and body["reason"] == "AlreadyExists"
    current = core.read_namespaced_config_map("twice", "default")
    stale_rv = current.metadata.resource_version
    current.data = {"v": "2"}
    updated = core.replace_namespaced_config_map("twice", "default", current)
    assert updated.metadata.resource_version != stale_rv
    current.data = {"v": "3"}
    current.metadata.resource_version = stale_rv
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("twice", "default", current)
    body = _status(conflict.value)
    assert conflict.value.status == 409 and body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]


def test_fault_injection_and_reset(kube, core):
    kube.configure(faults={"error_rate": 1.0, "error_codes": [503]})
    try:
        with pytest.raises(ApiException) as unavailable:
            core.list_namespace(_request_timeout=5)
        assert unavailable.value.status == 503
        assert _status(unavailable.value)["reason"] == "ServiceUnavailable"
        assert unavailable.value.headers["Retry-After"] == "1"  # as kube-apiserver sends with retryAfterSeconds
        assert _status(unavailable.value)["details"]["retryAfterSeconds"] == 1
        kube.configure(faults={"error_codes": [429]})
        status, body, headers = kube.request("GET", "/api/v1/namespaces")
        assert status == 429 and body["reason"] == "TooManyRequests" and headers["Retry-After"] == "1"
        assert kube.request("GET", "/version")[0] == 200  # discovery and /version are never failed
        assert kube.requests()["by_status"]["429"] >= 1
    finally:
        kube.configure(faults={"error_rate": 0.0, "error_codes": [429, 500, 503]})
    assert core.list_namespace().items


def test_never_ready_and_failing_jobs(kube):
    kube.configure(faults={"never_ready": ["default/stuck"], "failing_jobs": ["broken"]}, job_logs={"broken": "boom: exit 1"},
                   ready_delay_seconds=0.1)
    apps = client.AppsV1Api(config.new_client_from_config(config_file=kube.kubeconfig))
    batch = client.BatchV1Api(config.new_client_from_config(config_file=kube.kubeconfig))
    core = client.CoreV1Api(config.new_client_from_config(config_file=kube.kubeconfig))
    template = {"metadata": {"labels": {"app": "stuck"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    apps.create_namespaced_deployment("default", {"metadata": {"name": "stuck"}, "spec": {
        "selector": {"matchLabels": {"app": "stuck"}}, "template": template}})
    batch.create_namespaced_job("default", {"metadata": {"name": "broken"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}})
    for _attempt in range(60):
        job = batch.read_namespaced_job("broken", "default")
        if job.status.conditions:
            break
        time.sleep(0.1)
    failed = {c.type: c for c in job.status.conditions}
    assert failed["Failed"].reason == "BackoffLimitExceeded" and job.status.failed == 1
    pod = core.list_namespaced_pod("default", label_selector="job-name=broken").items[0]
    assert core.read_namespaced_pod_log(pod.metadata.name, "default").strip() == "boom: exit 1"
    deployment = apps.read_namespaced_deployment("stuck", "default")
    assert not deployment.status.ready_replicas
    assert {c.type: c.status for c in deployment.status.conditions}["Available"] == "False"


def test_request_log_counts_verbs_and_resources(kube, core):
    kube.reset_requests()
    core.list_namespaced_secret("default")
    core.read_namespace("default")
    log = kube.requests()
    assert log["writes"] == 0
    assert log["by_verb"] == {"list": 1, "get": 1}
    assert log["by_resource"] == {"secrets": 1, "namespaces": 1}
    assert [e["status"] for e in log["entries"]] == [200, 200]
    core.create_namespaced_secret("default", {"metadata": {"name": "counted"}}, dry_run="All")
    core.create_namespaced_secret("default", {"metadata": {"name": "counted"}})
    core.patch_namespaced_secret("counted", "default", {"metadata": {"labels": {"a": "b"}}})
    core.delete_namespaced_secret("counted", "default")
    log = kube.requests()
    # The dry-run create is logged as a create but changes nothing, so it is not a write.
    assert log["writes"] == 3 and log["dry_run_writes"] == 1
    assert log["by_verb"]["create"] == 2 and log["by_verb"]["patch"] == 1 and log["by_verb"]["delete"] == 1
    kube.reset_requests()
    assert kube.requests()["total"] == 0


def test_state_survives_restart(tmp_path):
    state = tmp_path / "kube.json"
    with testing.running(state=str(state), directory=str(tmp_path / "one")) as kube:
        core = client.CoreV1Api(config.new_client_from_config(config_file=kube.kubeconfig))
        core.create_namespace({"metadata": {"name": "kept"}})
        core.create_namespaced_config_map("kept", {"metadata": {"name": "cm"}, "data": {"k": "v"}})
        kube.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "notes.example.com"},
            "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "notes", "kind": "Note"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
        note = {"apiVersion": "example.com/v1", "kind": "Note", "metadata": {"name": "n1"}}
        assert kube.request("POST", "/apis/example.com/v1/notes", note)[0] == 201
        rv = int(core.list_namespace().metadata.resource_version)
    assert state.exists()
    with testing.running(state=str(state), directory=str(tmp_path / "two")) as kube:
        core = client.CoreV1Api(config.new_client_from_config(config_file=kube.kubeconfig))
        assert core.read_namespaced_config_map("cm", "kept").data == {"k": "v"}
        assert kube.request("GET", "/apis/example.com/v1/notes/n1")[0] == 200
        assert int(core.list_namespace().metadata.resource_version) >= rv

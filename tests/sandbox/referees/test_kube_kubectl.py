"""Referee: kubectl (the real binary) drives the Kubernetes emulator like a cluster."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

KUBECTL = str(Path(sys.executable).with_name("kubectl")) if Path(sys.executable).with_name("kubectl").exists() else shutil.which("kubectl")

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, env: a}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.25
          ports:
            - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {app: web, env: b}
spec:
  selector: {app: web}
  ports:
    - port: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels: {app: other, env: c}
data:
  colour: blue
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: shop
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: busybox:1.36
          command: ["true"]
"""
KUBE_CONFIG = {"ready_delay_seconds": 0.5, "job_logs": {"migrate": "schema migrated to v42"}}


@pytest.fixture(scope="module", name="kubectl")
def fixture_kubectl(kube, tmp_path_factory):
    assert KUBECTL, "kubectl not found"
    manifest = tmp_path_factory.mktemp("kubectl") / "app.yaml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    env = kube.env()

    def run(*args, check=True, timeout=60):
        result = subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result
    run.manifest = str(manifest)
    return run


def test_client_side_apply_twice(kubectl):
    first = kubectl("apply", "-f", kubectl.manifest)
    assert "deployment.apps/web created" in first.stdout
    assert "namespace/shop created" in first.stdout
    second = kubectl("apply", "-f", kubectl.manifest)
    assert "deployment.apps/web unchanged" in second.stdout
    assert "service/web unchanged" in second.stdout


def test_strategic_merge_patch_finds_a_port_by_its_merge_key(kubectl):
    """A port patched without `protocol` is the stored TCP port (merge key `port`), not a second one."""
    kubectl("patch", "service", "web", "-n", "shop", "--type", "strategic",
            "-p", '{"spec": {"ports": [{"port": 80, "targetPort": 8081}]}}')
    service = json.loads(kubectl("get", "svc", "web", "-n", "shop", "-o", "json").stdout)
    assert [(port["port"], port["protocol"], port["targetPort"]) for port in service["spec"]["ports"]] == [
        (80, "TCP", 8081)]


def test_get_json_and_last_applied(kubectl):
    deployment = json.loads(kubectl("get", "deployment", "web", "-n", "shop", "-o", "json").stdout)
    assert deployment["kind"] == "Deployment"
    assert deployment["spec"]["replicas"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in deployment["metadata"]["annotations"]
    assert int(deployment["metadata"]["resourceVersion"]) > 0
    service = json.loads(kubectl("get", "svc", "web", "-n", "shop", "-o", "json").stdout)
    assert service["spec"]["clusterIP"].startswith("10.96.")


def test_wait_and_rollout(kubectl):
    result = kubectl("wait", "--for=condition=Available", "deployment/web", "-n", "shop", "--timeout=30s")
    assert "condition met" in result.stdout
    result = kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=30s")
    assert "successfully rolled out" in result.stdout
    pods = json.loads(kubectl("get", "pods", "-n", "shop", "-l", "app=web", "-o", "json").stdout)["items"]
    assert len(pods) == 2
    assert all(pod["status"]["phase"] == "Running" for pod in pods)
    assert all(pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet" for pod in pods)


def test_job_completes_and_logs(kubectl):
    result = kubectl("wait", "--for=condition=complete", "job/migrate", "-n", "shop", "--timeout=30s")
    assert "condition met" in result.stdout
    assert kubectl("logs", "job/migrate", "-n", "shop").stdout.strip() == "schema migrated to v42"
    pods = json.loads(kubectl("get", "pods", "-n", "shop", "-l", "job-name=migrate", "-o", "json").stdout)["items"]
    assert [pod["status"]["phase"] for pod in pods] == ["Succeeded"]


def test_label_selectors(kubectl):
    names = kubectl("get", "deploy,svc,cm", "-n", "shop", "-l", "env in (a,b)", "-o", "name").stdout.split()
    assert sorted(names) == ["deployment.apps/web", "service/web"]
    names = kubectl("get", "cm", "-n", "shop", "-l", "env notin (a,b),app", "-o", "name").stdout.split()
    assert names == ["configmap/settings"]
    names = kubectl("get", "deploy", "-A", "-l", "app!=web", "-o", "name").stdout.split()
    assert names == []
    table = kubectl("get", "pods", "-n", "shop", "-l", "app=web").stdout
    assert "Running" in table and "1/1" in table


def test_server_side_apply_twice(kubectl):
    first = kubectl("apply", "--server-side", "--force-conflicts", "-f", kubectl.manifest)
    assert "deployment.apps/web serverside-applied" in first.stdout
    second = kubectl("apply", "--server-side", "-f", kubectl.manifest)
    assert "deployment.apps/web serverside-applied" in second.stdout
    deployment = json.loads(kubectl("get", "deployment", "web", "-n", "shop", "-o", "json", "--show-managed-fields").stdout)
    managers = {(entry["manager"], entry["operation"]) for entry in deployment["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers


def test_scale_and_rollout_again(kubectl):
    kubectl("scale", "deployment/web", "-n", "shop", "--replicas=3")
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=30s")
    deployment = json.loads(kubectl("get", "deployment", "web", "-n", "shop", "-o", "json").stdout)
    assert deployment["status"]["readyReplicas"] == 3
    kubectl("set", "image", "deployment/web", "web=nginx:1.27", "-n", "shop")
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=30s")
    deployment = json.loads(kubectl("get", "deployment", "web", "-n", "shop", "-o", "json").stdout)
    assert deployment["metadata"]["generation"] >= 3
    assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"]
    replicasets = json.loads(kubectl("get", "rs", "-n", "shop", "-o", "json").stdout)["items"]
    assert len(replicasets) == 2


def test_delete_and_delete_namespace(kubectl, kube):
    kubectl("delete", "configmap", "settings", "-n", "shop")
    missing = kubectl("get", "configmap", "settings", "-n", "shop", check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr
    kubectl("delete", "namespace", "shop", "--timeout=30s")
    deadline = time.monotonic() + 10
    while kubectl("get", "namespace", "shop", check=False).returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "NotFound" in kubectl("get", "namespace", "shop", check=False).stderr
    status, body, _headers = kube.request("GET", "/api/v1/pods")
    assert status == 200
    assert [pod for pod in body["items"] if pod["metadata"]["namespace"] == "shop"] == []


def test_version_is_configurable(kubectl, kube):
    assert json.loads(kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"] == "v1.30.6"
    kube.configure(version="v1.29.3")
    assert json.loads(kubectl("version", "-o", "json").stdout)["serverVersion"]["minor"] == "29"
    kube.configure(version="v1.30.6")


def test_api_resources_and_whoami(kubectl):
    resources = kubectl("api-resources", "-o", "name").stdout.split()
    assert "deployments.apps" in resources and "pods" in resources
    assert kubectl("auth", "can-i", "create", "deployments").stdout.strip() == "yes"


def test_a_server_side_dry_run_is_logged_but_not_counted_as_a_write(kube, kubectl, tmp_path):
    manifest = tmp_path / "dry.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dry-run-only\n  namespace: default\ndata:\n  a: b\n",
                        encoding="utf-8")
    kube.reset_requests()
    kubectl("apply", "--dry-run=server", "-f", str(manifest))
    log = kube.requests()
    assert log["writes"] == 0 and log["dry_run_writes"] >= 1
    assert kubectl("get", "configmap", "dry-run-only", "-n", "default", check=False).returncode != 0

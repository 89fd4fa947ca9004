"""Referee: the Helm v4 engine (helm-python-sdk) installs, upgrades, rolls back and uninstalls a chart."""

import base64
import gzip
import json
from pathlib import Path

import helm_python as helm
import pytest

CHART = Path(__file__).resolve().parents[2] / "charts" / "referee"
RELEASE = "ref"
KUBE_CONFIG = {"ready_delay_seconds": 0.3}


@pytest.fixture(scope="module", name="cfg")
def fixture_cfg(kube):
    with helm.Config(kubeconfig_path=kube.kubeconfig, namespace="apps", storage_driver="secret") as cfg:
        yield cfg


def _get(kube, path):
    status, body, _headers = kube.request("GET", path)
    return status, body


def _release_secret(kube, revision):
    status, secret = _get(kube, f"/api/v1/namespaces/apps/secrets/sh.helm.release.v1.{RELEASE}.v{revision}")
    assert status == 200, secret
    assert secret["type"] == "helm.sh/release.v1"
    assert secret["metadata"]["labels"]["owner"] == "helm"
    # helm stores base64(gzip(json)) inside the secret's (base64) data
    release = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(secret["data"]["release"]))))
    return secret, release


def test_install_with_wait(kube, cfg):
    kube.request("POST", "/api/v1/namespaces", {"metadata": {"name": "apps"}})
    kube.reset_requests()
    release = cfg.install(CHART, RELEASE, {"replicaCount": 2}, wait="watcher", timeout=60)
    assert release["status"] == "deployed" and release["revision"] == 1
    status, deployment = _get(kube, f"/apis/apps/v1/namespaces/apps/deployments/{RELEASE}-web")
    assert status == 200
    assert deployment["status"]["readyReplicas"] == 2  # helm waited for readiness
    assert deployment["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert deployment["metadata"]["annotations"]["meta.helm.sh/release-name"] == RELEASE
    assert _get(kube, f"/api/v1/namespaces/apps/services/{RELEASE}-web")[0] == 200
    assert _get(kube, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.referee.example.com")[0] == 200
    status, widget = _get(kube, f"/apis/referee.example.com/v1/namespaces/apps/widgets/{RELEASE}-widget")
    assert status == 200 and widget["spec"]["size"] == 2
    status, job = _get(kube, f"/apis/batch/v1/namespaces/apps/jobs/{RELEASE}-post-install")
    assert status == 200
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])
    stored = _release_secret(kube, 1)[1]
    assert stored["name"] == RELEASE and stored["version"] == 1
    log = kube.requests()
    assert log["by_resource"]["secrets"] >= 2
    assert log["writes"] > 0


def test_status_list_history(cfg):
    status = cfg.status(RELEASE)
    assert status["status"] == "deployed"
    assert [r["name"] for r in cfg.list()] == [RELEASE]
    assert [r["revision"] for r in cfg.history(RELEASE)] == [1]


def test_upgrade_and_rollback(kube, cfg):
    release = cfg.upgrade(CHART, RELEASE, {"replicaCount": 3, "message": "bye"}, wait="watcher", timeout=60)
    assert release["revision"] == 2
    deployment = _get(kube, f"/apis/apps/v1/namespaces/apps/deployments/{RELEASE}-web")[1]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["status"]["readyReplicas"] == 3
    config_map = _get(kube, f"/api/v1/namespaces/apps/configmaps/{RELEASE}-config")[1]
    assert config_map["data"]["message"] == "bye"
    cfg.rollback(RELEASE, version=1, wait="watcher", timeout=60)
    deployment = _get(kube, f"/apis/apps/v1/namespaces/apps/deployments/{RELEASE}-web")[1]
    assert deployment["spec"]["replicas"] == 2
    config_map = _get(kube, f"/api/v1/namespaces/apps/configmaps/{RELEASE}-config")[1]
    assert config_map["data"]["message"] == "hello"
    history = cfg.history(RELEASE)
    assert [r["revision"] for r in history] == [1, 2, 3]
    assert history[-1]["status"] == "deployed"
    for revision in (1, 2, 3):
        _release_secret(kube, revision)


def test_uninstall_leaves_nothing(kube, cfg):
    cfg.uninstall(RELEASE, wait="watcher", timeout=60)
    assert _get(kube, f"/apis/apps/v1/namespaces/apps/deployments/{RELEASE}-web")[0] == 404
    assert _get(kube, f"/api/v1/namespaces/apps/services/{RELEASE}-web")[0] == 404
    assert _get(kube, f"/apis/referee.example.com/v1/namespaces/apps/widgets/{RELEASE}-widget")[0] == 404
    pods = _get(kube, "/api/v1/namespaces/apps/pods?labelSelector=app.kubernetes.io%2Finstance%3Dref%2Crole%21%3Dhook")[1]
    assert pods["items"] == []
    replicasets = _get(kube, "/apis/apps/v1/namespaces/apps/replicasets")[1]
    assert replicasets["items"] == []
    secrets = _get(kube, "/api/v1/namespaces/apps/secrets?labelSelector=owner%3Dhelm")[1]
    assert secrets["items"] == []
    assert cfg.list() == []
    # CRDs from crds/ stay, as with a real cluster
    assert _get(kube, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.referee.example.com")[0] == 200

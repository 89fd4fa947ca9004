"""Referee: the kubernetes Python client (DynamicClient and typed APIs) against the emulator."""

import threading
import time

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"]},
        "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}],
    },
}
KUBE_CONFIG = {"ready_delay_seconds": 0.2}


@pytest.fixture(scope="module", name="api_client")
def fixture_api_client(kube):
    return config.new_client_from_config(config_file=kube.kubeconfig)


@pytest.fixture(scope="module", name="dyn")
def fixture_dyn(api_client):
    return dynamic.DynamicClient(api_client)


def test_discovery(dyn):
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced and deployments.name == "deployments"
    assert "patch" in deployments.verbs
    assert dyn.resources.get(api_version="v1", kind="Namespace").namespaced is False
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    assert {"status", "log"} <= set(pods.subresources)
    assert "deploy" in deployments.short_names
    assert dyn.version["kubernetes"]["gitVersion"] == "v1.30.6"


def test_core_object_lifecycle(dyn):
    config_maps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    created = config_maps.create(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1", "labels": {"tier": "x"}},
                                       "data": {"a": "1"}}, namespace="default")
    assert created.metadata.uid and created.metadata.resourceVersion
    fetched = config_maps.get(name="cm1", namespace="default")
    assert fetched.data.a == "1"
    patched = config_maps.patch(name="cm1", namespace="default", body={"data": {"b": "2"}},
                                content_type="application/merge-patch+json")
    assert patched.data.b == "2" and patched.data.a == "1"
    assert int(patched.metadata.resourceVersion) > int(created.metadata.resourceVersion)
    patched = config_maps.patch(name="cm1", namespace="default", body=[{"op": "remove", "path": "/data/a"}],
                                content_type="application/json-patch+json")
    assert "a" not in patched.data
    listed = config_maps.get(namespace="default", label_selector="tier=x")
    assert [item.metadata.name for item in listed.items] == ["cm1"]
    assert config_maps.get(namespace="default", field_selector="metadata.name=nope").items == []
    everywhere = config_maps.get(label_selector="tier")
    assert [item.metadata.namespace for item in everywhere.items] == ["default"]
    config_maps.delete(name="cm1", namespace="default")
    with pytest.raises(dynamic.exceptions.NotFoundError):
        config_maps.get(name="cm1", namespace="default")


def test_strategic_merge_uses_merge_keys(dyn):
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "smp"},
            "spec": {"selector": {"matchLabels": {"app": "smp"}}, "template": {"metadata": {"labels": {"app": "smp"}}, "spec": {
                "containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}}
    deployments.create(body=body, namespace="default")
    patched = deployments.patch(name="smp", namespace="default", content_type="application/strategic-merge-patch+json",
                                body={"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}})
    containers = {c.name: c.image for c in patched.spec.template.spec.containers}
    assert containers == {"a": "a:1", "b": "b:2"}
    assert patched.metadata.generation == 2
    merged = deployments.patch(name="smp", namespace="default", content_type="application/merge-patch+json",
                               body={"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "c:1"}]}}}})
    assert [c.name for c in merged.spec.template.spec.containers] == ["c"]


def test_server_side_apply_and_conflicts(dyn):
    config_maps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"owner": "alice", "shared": "1"}}
    first = config_maps.server_side_apply(body=applied, name="ssa", namespace="default", field_manager="alice")
    assert first.data.owner == "alice"
    again = config_maps.server_side_apply(body=applied, name="ssa", namespace="default", field_manager="alice")
    assert again.metadata.resourceVersion == first.metadata.resourceVersion  # no-op apply
    with pytest.raises(dynamic.exceptions.ConflictError) as failure:
        config_maps.server_side_apply(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"},
                                            "data": {"owner": "bob"}}, name="ssa", namespace="default", field_manager="bob")
    assert "conflict" in failure.value.body.lower()
    forced = config_maps.server_side_apply(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"},
                                                 "data": {"owner": "bob"}}, name="ssa", namespace="default",
                                           field_manager="bob", force_conflicts=True)
    assert forced.data.owner == "bob"
    # alice stops applying "shared": it goes, "owner" now belongs to bob and stays
    trimmed = config_maps.server_side_apply(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}},
                                            name="ssa", namespace="default", field_manager="alice")
    assert trimmed.data.to_dict() == {"owner": "bob"}
    managers = {entry.manager for entry in trimmed.metadata.managedFields}
    assert managers == {"bob"}


def test_custom_resources(dyn):
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body=CRD)
    established = crds.get(name="gadgets.example.com")
    assert {c.type: c.status for c in established.status.conditions} == {"NamesAccepted": "True", "Established": "True"}
    gadgets = dyn.resources.get(api_version="example.com/v1", kind="Gadget")
    created = gadgets.create(body={"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g1"},
                                   "spec": {"size": 1}, "status": {"ignored": True}}, namespace="default")
    assert created.status is None  # status subresource: create drops status
    patched = gadgets.patch(name="g1", namespace="default", body={"spec": {"size": 2}}, content_type="application/merge-patch+json")
    assert patched.spec.size == 2 and patched.metadata.generation == 2
    status = gadgets.status.patch(name="g1", namespace="default", body={"status": {"phase": "Ready"}, "spec": {"size": 9}},
                                  content_type="application/merge-patch+json")
    assert status.status.phase == "Ready" and status.spec.size == 2 and status.metadata.generation == 2
    with pytest.raises(dynamic.exceptions.DynamicApiError) as failure:
        gadgets.patch(name="g1", namespace="default", body={"spec": {"size": 3}}, content_type="application/strategic-merge-patch+json")
    assert failure.value.status == 415
    assert [g.metadata.name for g in gadgets.get(namespace="default").items] == ["g1"]
    crds.delete(name="gadgets.example.com")
    with pytest.raises(ApiException) as gone:
        dyn.request("GET", "/apis/example.com/v1/namespaces/default/gadgets/g1")
    assert gone.value.status == 404


def test_finalizers_hold_deletion(dyn):
    secrets = dyn.resources.get(api_version="v1", kind="Secret")
    secrets.create(body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
                         "stringData": {"k": "v"}}, namespace="default")
    deleted = secrets.delete(name="held", namespace="default")
    assert deleted.metadata.deletionTimestamp
    assert secrets.get(name="held", namespace="default").metadata.deletionTimestamp
    secrets.patch(name="held", namespace="default", body={"metadata": {"finalizers": None}}, content_type="application/merge-patch+json")
    with pytest.raises(dynamic.exceptions.NotFoundError):
        secrets.get(name="held", namespace="default")


def test_dry_run_stores_nothing(api_client):
    core = client.CoreV1Api(api_client)
    made = core.create_namespaced_config_map("default", {"metadata": {"name": "dry"}, "data": {"x": "y"}}, dry_run="All")
    assert made.metadata.name == "dry"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("dry", "default")
    assert missing.value.status == 404


def test_watch_streams_events(api_client):
    core = client.CoreV1Api(api_client)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    seen = []

    def consume():
        for event in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=5):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                return
    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.2)
    core.create_namespaced_config_map("default", {"metadata": {"name": "watched"}})
    core.patch_namespaced_config_map("watched", "default", {"data": {"a": "b"}})
    core.delete_namespaced_config_map("watched", "default")
    thread.join(10)
    assert seen == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")]


def test_workloads_reach_ready(api_client):
    apps, batch, core = client.AppsV1Api(api_client), client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    labels = {"app": "db"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}
    apps.create_namespaced_stateful_set("default", {"metadata": {"name": "db"}, "spec": {
        "replicas": 2, "serviceName": "db", "selector": {"matchLabels": labels}, "template": template}})
    apps.create_namespaced_daemon_set("default", {"metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": template["spec"]}}})
    core.create_namespaced_persistent_volume_claim("default", {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    core.create_namespaced_service("default", {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})
    batch.create_namespaced_job("default", {"metadata": {"name": "once"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "once", "image": "busybox"}]}}}})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sts = apps.read_namespaced_stateful_set("db", "default")
        ds = apps.read_namespaced_daemon_set("agent", "default")
        job = batch.read_namespaced_job("once", "default")
        if sts.status.ready_replicas == 2 and ds.status.number_ready == 1 and job.status.succeeded == 1:
            break
        time.sleep(0.2)
    assert sts.status.current_revision == sts.status.update_revision
    assert ds.status.desired_number_scheduled == ds.status.updated_number_scheduled == ds.status.number_available == 1
    assert {c.type for c in job.status.conditions} == {"Complete", "SuccessCriteriaMet"}
    assert job.status.completion_time
    assert core.read_namespaced_persistent_volume_claim("data", "default").status.phase == "Bound"
    assert core.read_namespaced_service("lb", "default").status.load_balancer.ingress[0].ip
    pod = core.list_namespaced_pod("default", label_selector="job-name=once").items[0]
    assert pod.metadata.labels["batch.kubernetes.io/job-name"] == "once"
    assert core.read_namespaced_pod_log(pod.metadata.name, "default").strip() == "job once completed"
    running = core.list_namespaced_pod("default", field_selector="status.phase=Running", label_selector="app=db").items
    assert sorted(p.metadata.name for p in running) == ["db-0", "db-1"]
    apps.delete_namespaced_stateful_set("db", "default")
    deadline = time.monotonic() + 5
    while core.list_namespaced_pod("default", label_selector="app=db").items and time.monotonic() < deadline:
        time.sleep(0.1)
    assert core.list_namespaced_pod("default", label_selector="app=db").items == []


def test_selective_watch_sees_objects_enter_and_leave(api_client):
    core = client.CoreV1Api(api_client)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "flip", "labels": {"stage": "blue"}}})
    core.patch_namespaced_config_map("flip", "default", {"metadata": {"labels": {"stage": "green"}}})
    core.patch_namespaced_config_map("flip", "default", {"data": {"k": "v"}})
    core.patch_namespaced_config_map("flip", "default", {"metadata": {"labels": {"stage": "blue"}}})
    events = [(event["type"], event["object"].metadata.labels["stage"]) for event in watch.Watch().stream(
        core.list_namespaced_config_map, "default", label_selector="stage=green", resource_version=start, timeout_seconds=1)]
    assert events == [("ADDED", "green"), ("MODIFIED", "green"), ("DELETED", "blue")]

"""Referee: what kube-apiserver refuses (names, ports, replicas, quantities), in its words, seen through kubectl,
the kubernetes Python client and its quantity parser; nothing refused is stored."""

import json
import subprocess
from decimal import Decimal

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.utils.quantity import parse_quantity

from tests.sandbox.kube import quantity
from tests.sandbox.referees.test_kube_kubectl import KUBECTL

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
             "with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an "
         "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end "
           "with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
QUANTITY = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
RANGE = "must be between 1 and 65535, inclusive"

BAD_MANIFEST = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{port: 99999, targetPort: http_port}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: keycloak_release, namespace: default}
spec:
  replicas: -1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 99999}]}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 8 GB}}
"""


@pytest.fixture(scope="module", name="api")
def fixture_api(kube):
    api_client = config.new_client_from_config(config_file=kube.kubeconfig)
    return {"core": client.CoreV1Api(api_client), "apps": client.AppsV1Api(api_client), "batch": client.BatchV1Api(api_client),
            "rbac": client.RbacAuthorizationV1Api(api_client)}


@pytest.fixture(name="kubectl")
def fixture_kubectl(kube):
    def run(*args, stdin=None):
        return subprocess.run([KUBECTL, *args], env=kube.env(), input=stdin, capture_output=True, text=True, timeout=60, check=False)
    return run


def _refused(call, status=422):
    with pytest.raises(ApiException) as refused:
        call()
    assert refused.value.status == status
    body = json.loads(refused.value.body)
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == status
    return body


def _causes(body):
    return [(cause["field"], cause["message"]) for cause in body["details"]["causes"]]


def _deployment(name="web", replicas=1, container=None):
    container = container or {"name": "web", "image": "nginx:1.27"}
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}
    return {"metadata": {"name": name}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": template}}


def test_kubectl_prints_the_api_servers_refusals_and_nothing_is_stored(kubectl):
    namespace = kubectl("create", "namespace", "Bad_NS")
    assert namespace.returncode == 1
    assert namespace.stderr.strip() == f'The Namespace "Bad_NS" is invalid: metadata.name: Invalid value: "Bad_NS": {LABEL}'
    applied = kubectl("apply", "-f", "-", stdin=BAD_MANIFEST)
    assert applied.returncode == 1
    assert applied.stderr.splitlines() == [
        'Error from server (Invalid): error when creating "STDIN": Service "web" is invalid: '
        f'[spec.ports[0].port: Invalid value: 99999: {RANGE}, spec.ports[0].targetPort: Invalid value: "http_port": '
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)]",
        'Error from server (Invalid): error when creating "STDIN": Deployment.apps "keycloak_release" is invalid: '
        f'[metadata.name: Invalid value: "keycloak_release": {SUBDOMAIN}, spec.replicas: Invalid value: -1: must be greater than or '
        f"equal to 0, spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 99999: {RANGE}]",
        'Error from server (BadRequest): error when creating "STDIN": PersistentVolumeClaim in version "v1" cannot be handled as a '
        f"PersistentVolumeClaim: {QUANTITY}",
    ]
    listed = kubectl("get", "namespaces,services,deployments,persistentvolumeclaims", "-A", "-o", "name")
    assert not {"namespace/Bad_NS", "service/web", "deployment.apps/keycloak_release", "persistentvolumeclaim/data"} & set(listed.stdout.split())


def test_server_side_apply_validates_after_merging(kubectl):
    applied = kubectl("apply", "--server-side", "-f", "-", stdin=BAD_MANIFEST)
    assert applied.returncode == 1
    lines = applied.stderr.splitlines()
    assert lines[0].startswith('Error from server (Invalid): Service "web" is invalid: [spec.ports[0].port: Invalid value: 99999')
    assert lines[1].startswith('Error from server (Invalid): Deployment.apps "keycloak_release" is invalid: [metadata.name:')
    # Server-side apply converts the merged object to its Go type only after merging; that failure is a plain 500.
    assert lines[2] == ("Error from server: failed to convert new object (default/data; /v1, Kind=PersistentVolumeClaim) to proper "
                        f"version: unable to convert unstructured object to /v1, Kind=PersistentVolumeClaim: {QUANTITY}")


def test_invalid_status_details_name_every_field(api):
    body = _refused(lambda: api["apps"].create_namespaced_deployment("default", _deployment("web", -1, {
        "name": "Web", "image": "nginx", "ports": [{"name": "http-port-too-long", "containerPort": 0}],
        "readinessProbe": {"httpGet": {"port": 70000}}})))
    assert body["reason"] == "Invalid"
    assert body["details"]["name"] == "web" and body["details"]["kind"] == "Deployment" and body["details"]["group"] == "apps"
    container = "spec.template.spec.containers[0]"
    assert _causes(body) == [
        ("spec.replicas", "Invalid value: -1: must be greater than or equal to 0"),
        (f"{container}.name", f'Invalid value: "Web": {LABEL}'),
        (f"{container}.ports[0].name", 'Invalid value: "http-port-too-long": must be no more than 15 characters'),
        (f"{container}.ports[0].containerPort", "Required value"),
        (f"{container}.readinessProbe.httpGet.port", f"Invalid value: 70000: {RANGE}"),
    ]
    assert [cause["reason"] for cause in body["details"]["causes"]] == [
        "FieldValueInvalid", "FieldValueInvalid", "FieldValueInvalid", "FieldValueRequired", "FieldValueInvalid"]
    assert body["message"] == "Deployment.apps \"web\" is invalid: [" + ", ".join(f"{f}: {m}" for f, m in _causes(body)) + "]"


def test_name_rules_follow_the_kind(api):
    assert _causes(_refused(lambda: api["core"].create_namespaced_service("default", {
        "metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}}))) == [("metadata.name", f'Invalid value: "1web": {DNS1035}')]
    assert api["core"].create_namespaced_config_map("default", {"metadata": {"name": "1web.config"}}).metadata.name == "1web.config"
    assert _causes(_refused(lambda: api["core"].create_namespace({"metadata": {"name": "a.b"}}))) == [
        ("metadata.name", 'Invalid value: "a.b": must not contain dots')]
    assert api["rbac"].create_cluster_role({"metadata": {"name": "system:sandbox:Reader"}, "rules": []}).metadata.name == "system:sandbox:Reader"
    long_name = "c" * 53
    assert _causes(_refused(lambda: api["batch"].create_namespaced_cron_job("default", {"metadata": {"name": long_name}, "spec": {
        "schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "c", "image": "busybox"}]}}}}}}))) == [("metadata.name", f'Invalid value: "{long_name}": must be no more than 52 characters')]
    body = _refused(lambda: api["core"].create_namespaced_config_map("default", {"metadata": {"generateName": "Cfg-"}}))
    generated = body["details"]["name"]
    assert generated.startswith("Cfg-") and len(generated) == 9
    assert _causes(body) == [("metadata.generateName", f'Invalid value: "Cfg-": {SUBDOMAIN}'),
                             ("metadata.name", f'Invalid value: "{generated}": {SUBDOMAIN}')]
    made = api["core"].create_namespaced_config_map("default", {"metadata": {"generateName": "g" * 70}})
    assert len(made.metadata.name) == 63 and made.metadata.name.startswith("g" * 58)


def test_labels_and_annotations(api):
    body = _refused(lambda: api["core"].create_namespaced_config_map("default", {"metadata": {
        "name": "labelled", "labels": {"release": "a" * 64, "bad key": "x"}, "annotations": {"example.com/": "x"}}}))
    assert _causes(body) == [
        ("metadata.labels", f'Invalid value: "{"a" * 64}": must be no more than 63 characters'),
        ("metadata.labels", 'Invalid value: "bad key": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must '
                            "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                            "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
        ("metadata.annotations", 'Invalid value: "example.com/": name part must be non-empty'),
        ("metadata.annotations", 'Invalid value: "example.com/": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', '
                                 "and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
                                 "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ]


def test_service_ports(api):
    body = _refused(lambda: api["core"].create_namespaced_service("default", {"metadata": {"name": "ports"}, "spec": {"ports": [
        {"port": 80, "protocol": "tcp"}, {"name": "metrics", "port": 9090, "targetPort": 70000, "nodePort": 30080}]}}))
    assert _causes(body) == [
        ("spec.ports[0].name", "Required value"),
        ("spec.ports[0].protocol", 'Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"'),
        ("spec.ports[1].targetPort", f"Invalid value: 70000: {RANGE}"),
        ("spec.ports[1].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'"),
    ]
    assert _causes(_refused(lambda: api["core"].create_namespaced_service("default", {"metadata": {"name": "no-ports"}, "spec": {}}))) == [
        ("spec.ports", "Required value")]
    headless = api["core"].create_namespaced_service("default", {"metadata": {"name": "headless"}, "spec": {"clusterIP": "None"}})
    assert headless.spec.cluster_ip == "None"


def test_resources_and_claims(api):
    resources = {"limits": {"cpu": "500m"}, "requests": {"cpu": "1.5", "memory": "-0.5Gi", "storage": "1Gi"}}
    body = _refused(lambda: api["core"].create_namespaced_pod("default", {"metadata": {"name": "greedy"}, "spec": {"containers": [
        {"name": "c", "image": "busybox", "resources": resources}]}}))
    assert sorted(_causes(body)) == sorted([
        ("spec.containers[0].resources.requests[memory]", 'Invalid value: "-512Mi": must be greater than or equal to 0'),
        ("spec.containers[0].resources.requests[storage]", 'Invalid value: "storage": must be a standard resource for containers'),
        ("spec.containers[0].resources.requests", 'Invalid value: "1500m": must be less than or equal to cpu limit of 500m'),
    ])
    body = _refused(lambda: api["core"].create_namespaced_persistent_volume_claim("default", {"metadata": {"name": "empty"}, "spec": {
        "resources": {"requests": {"storage": "0"}}}}))
    assert _causes(body) == [("spec.accessModes", "Required value: at least 1 access mode is required"),
                             ("spec.resources[storage]", 'Invalid value: "0": must be greater than zero')]
    claim = api["core"].create_namespaced_persistent_volume_claim("default", {"metadata": {"name": "good"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "8Gi"}}}})
    assert claim.spec.resources.requests == {"storage": "8Gi"}


def test_writes_to_existing_objects_are_validated_too(api):
    api["apps"].create_namespaced_deployment("default", _deployment("scaled"))
    body = _refused(lambda: api["apps"].patch_namespaced_deployment_scale("scaled", "default", {"spec": {"replicas": -1}}))
    assert body["message"] == 'Scale.autoscaling "scaled" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    assert body["details"]["kind"] == "Scale" and body["details"]["group"] == "autoscaling"
    current = api["apps"].read_namespaced_deployment("scaled", "default")
    current.spec.replicas = -2
    assert _causes(_refused(lambda: api["apps"].replace_namespaced_deployment("scaled", "default", current))) == [
        ("spec.replicas", "Invalid value: -2: must be greater than or equal to 0")]
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "resources": {"limits": {"memory": "1 Gi"}}}]}}}}
    body = _refused(lambda: api["apps"].patch_namespaced_deployment("scaled", "default", patch))
    assert body["message"] == (' "" is invalid: patch: Invalid value: "map[spec:map[template:map[spec:map[containers:[map[name:web '
                               f'resources:map[limits:map[memory:1 Gi]]]]]]]]": {QUANTITY}')
    cause = body["details"]["causes"][0]
    assert body["details"] == {"causes": [cause]} and cause["field"] == "patch"
    assert body["message"] == ' "" is invalid: patch: ' + cause["message"]
    stored = api["apps"].read_namespaced_deployment("scaled", "default")
    assert stored.spec.replicas == 1 and stored.spec.template.spec.containers[0].resources.limits is None
    _refused(lambda: api["apps"].create_namespaced_deployment("default", _deployment("dry", -1), dry_run="All"))


@pytest.mark.parametrize("text", ["8Gi", "500m", "1.5Gi", "0.5", "2000m", "1e3", "100M", "129e6", "1Ki", "12345", "0", "250u"])
def test_quantities_read_as_the_kubernetes_client_reads_them(text):
    parsed = quantity.parse(text)
    assert Decimal(parsed.value.numerator) / Decimal(parsed.value.denominator) == parse_quantity(text)
    assert parse_quantity(str(parsed)) == parse_quantity(text)  # the canonical form is the same amount


@pytest.mark.parametrize("text", ["8 GB", "8GB", "8gi", "1Gb", "abc", "1.2.3"])
def test_malformed_quantities_are_refused_by_both(text):
    with pytest.raises(ValueError):
        parse_quantity(text)
    with pytest.raises(quantity.QuantityError) as refused:
        quantity.parse(text)
    assert str(refused.value) in (QUANTITY, quantity.BAD_SUFFIX)

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters that let the roles write only what differs and retry only transient errors: plugins/filter/k8s_*.py."""

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.filter.k8s_patch_changes import k8s_patch_changes
from ansible_collections.mlplatform.selfhosted.plugins.filter.k8s_quantity import canonical
from ansible_collections.mlplatform.selfhosted.plugins.filter.k8s_resources_errors import k8s_resources_errors
from ansible_collections.mlplatform.selfhosted.plugins.filter.k8s_transient import k8s_transient
from tests.sandbox.kube import quantity as emulator_quantity

DESIRED = {
    "apiVersion": "apps/v1", "kind": "StatefulSet",
    "metadata": {"name": "pg", "namespace": "db", "labels": {"app": "pg"}},
    "spec": {"replicas": 1, "template": {"spec": {
        "containers": [{"name": "postgresql", "image": "postgres:16.4",
                        "ports": [{"name": "postgresql", "containerPort": 5432, "protocol": "TCP"}],
                        "env": [{"name": "PGDATA", "value": "/data"}],
                        "resources": {"requests": {"memory": "1024Mi", "cpu": "1000m"}},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "pg"}}]}}},
}


def stored():
    """DESIRED as the API server returns it: defaults filled in, quantities canonical, other writers' fields."""
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "pg", "namespace": "db", "uid": "1", "resourceVersion": "7",
                     "labels": {"app": "pg", "extra": "kept"}, "annotations": {"other": "x"}},
        "spec": {"replicas": 1, "revisionHistoryLimit": 10, "template": {"spec": {
            "restartPolicy": "Always",
            "containers": [
                {"name": "sidecar", "image": "busybox"},
                {"name": "postgresql", "image": "postgres:16.4", "imagePullPolicy": "IfNotPresent",
                 "ports": [{"name": "postgresql", "containerPort": 5432, "protocol": "TCP"}],
                 "env": [{"name": "OTHER", "value": "1"}, {"name": "PGDATA", "value": "/data"}],
                 "resources": {"requests": {"memory": "1Gi", "cpu": "1"}},
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                 "terminationMessagePath": "/dev/termination-log"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "pg"}}]}}},
        "status": {"readyReplicas": 1},
    }


def container(obj):
    return obj["spec"]["template"]["spec"]["containers"][-1]


def test_an_object_as_stored_is_unchanged():
    assert not k8s_patch_changes(DESIRED, stored())


def test_a_missing_object_is_a_change():
    assert k8s_patch_changes(DESIRED, {})
    assert k8s_patch_changes(DESIRED, None)


@pytest.mark.parametrize("change", [
    lambda o: container(o).update(image="postgres:16.5"),
    lambda o: container(o)["env"][1].update(value="/other"),
    lambda o: container(o)["env"].pop(1),
    lambda o: container(o)["ports"][0].update(containerPort=5433),
    lambda o: container(o)["resources"]["requests"].update(memory="2Gi"),
    lambda o: o["metadata"]["labels"].pop("app"),
    lambda o: o["spec"].update(replicas=2),
    lambda o: o["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"].update(claimName="other"),
])
def test_a_stored_value_the_patch_would_set_is_a_change(change):
    current = stored()
    change(current)
    assert k8s_patch_changes(DESIRED, current)


def test_a_quantity_in_another_form_is_a_change_only_when_the_stored_form_differs():
    current = stored()
    container(current)["resources"]["requests"]["memory"] = "1073741824"  # the same value, printed otherwise
    assert k8s_patch_changes(DESIRED, current)


def test_a_string_where_the_api_has_an_int_is_a_change():
    desired = {"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": "5432"}]}}
    assert k8s_patch_changes(desired, {"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 5432}]}})
    desired["spec"]["ports"][0]["port"] = 5432
    assert not k8s_patch_changes(desired, {"kind": "Service", "metadata": {"name": "s"},
                                           "spec": {"ports": [{"port": 5432, "targetPort": 5432, "protocol": "TCP"}]}})


def test_lists_without_a_merge_key_are_compared_whole():
    desired = {"kind": "PersistentVolumeClaim", "metadata": {"name": "p"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    assert not k8s_patch_changes(desired, {"kind": "PersistentVolumeClaim", "metadata": {"name": "p"},
                                           "spec": {"accessModes": ["ReadWriteOnce"]}})
    assert k8s_patch_changes(desired, {"kind": "PersistentVolumeClaim", "metadata": {"name": "p"},
                                       "spec": {"accessModes": ["ReadWriteOnce", "ReadOnlyMany"]}})


def test_none_deletes_and_empty_equals_missing():
    current = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    assert k8s_patch_changes({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": None}}, current)
    assert not k8s_patch_changes({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"b": None}}, current)
    assert not k8s_patch_changes({"kind": "ConfigMap", "metadata": {"name": "c", "labels": {}}, "binaryData": {}}, current)


def test_ansible_tagged_values_equal_plain_ones():
    class Tagged(str):
        """Ansible 2.19 hands templated strings over as subclasses of str."""

    desired = {"kind": "Namespace", "metadata": {"name": Tagged("mlflow")}}
    assert not k8s_patch_changes(desired, {"kind": "Namespace", "metadata": {"name": "mlflow", "uid": "1"}})


def test_a_boolean_is_not_a_number():
    current = {"kind": "X", "metadata": {"name": "x"}, "spec": {"flag": 1}}
    assert k8s_patch_changes({"kind": "X", "metadata": {"name": "x"}, "spec": {"flag": True}}, current)


@pytest.mark.parametrize("value", ["500m", "1000m", "8Gi", "1024Mi", "1.5Gi", "0.1", "1e3", "2k", "1073741824", "0", "100Mi", 1, 0.5, "12345678n"])
def test_quantities_print_as_the_emulated_api_server_prints_them(value):
    assert canonical(value) == str(emulator_quantity.from_json(value))


@pytest.mark.parametrize("value", ["1 GB", "8gb", "", "m", "1.2.3", None, True, "Gi"])
def test_a_value_the_api_server_refuses_is_no_quantity(value):
    assert canonical(value) is None


def test_resources_errors_name_each_bad_entry():
    assert k8s_resources_errors({}) == []
    assert k8s_resources_errors({"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}) == []
    assert k8s_resources_errors({"requests": {"memory": "1 GB"}, "limit": {}}) == ["requests.memory='1 GB'", "limit is not requests or limits"]
    assert k8s_resources_errors("1Gi") == ["'1Gi' is not a map of requests and limits"]


STATUS = '{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"%s","code":%d}'


@pytest.mark.parametrize("result, transient", [
    ({"changed": False}, False),
    ({"failed": True, "msg": "Failed to patch object: " + STATUS % ("ServiceUnavailable", 503), "reason": "Service Unavailable"}, True),
    ({"failed": True, "msg": "Failed to retrieve requested object: " + STATUS % ("TooManyRequests", 429)}, True),
    ({"failed": True, "msg": "Exception '500\nReason: Internal Server Error\nHTTP response body: ...' raised while trying"}, True),
    ({"failed": True, "msg": "Failed to create object: " + STATUS % ("Invalid", 422), "reason": "Unprocessable Entity"}, False),
    ({"failed": True, "msg": "Failed to retrieve requested object: " + STATUS % ("Forbidden", 403)}, False),
    ({"failed": True, "msg": "HTTPSConnectionPool(host='k', port=6443): Max retries exceeded with url: /api/v1"}, True),
    ({"failed": True, "msg": "Failed to gather information about StatefulSet(s) even after waiting for 600 seconds"}, False),
])
def test_only_throttling_server_errors_and_connection_errors_are_transient(result, transient):
    assert k8s_transient(result) is transient

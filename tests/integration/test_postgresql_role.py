"""The postgresql role: invalid values fail in its preflight, naming the variable, before any write to Kubernetes; a
converged re-run only reads, a changed value patches only its object, and one Kubernetes request in ten failing does
not stop it. Its deployments with the platforms are exercised through the keycloak and mlflow roles, which use it."""

import json
import uuid

import pytest
from kubernetes import client as kube_client
from kubernetes import config as kube_config

ROLE_PLAYBOOK = "tests/integration/playbooks/postgresql_role/role.yml"

INVALID = {
    "a namespace that is not a DNS label": ({"postgresql_namespace": "Data Base"}, "postgresql_namespace must be a DNS label"),
    "a name with '_'": ({"postgresql_name": "pg_main"}, "postgresql_name must be a DNS label of at most 52 characters"),
    "a port out of range": ({"postgresql_port": 99999}, "postgresql_port must be a TCP port (1 to 65535), got '99999'"),
    "a volume size with a space": ({"postgresql_storage_size": "8 GB"},
                                   "postgresql_storage_size must be a Kubernetes quantity greater than zero"),
    "a zero volume size": ({"postgresql_storage_size": "0Gi"}, "postgresql_storage_size must be a Kubernetes quantity"),
    "a malformed image": ({"postgresql_image": "docker.io/library/postgres:16.4:latest"},
                          "postgresql_image must be an image reference"),
    "a negative timeout": ({"postgresql_wait_timeout": -1}, "postgresql_wait_timeout must be a positive number of seconds"),
    "a user name PostgreSQL folds": ({"postgresql_username": "Admin"}, "postgresql_username must be a PostgreSQL identifier"),
    "a Secret name with capitals": ({"postgresql_existing_secret": "PG-Secret"},
                                    "postgresql_secret_name and postgresql_existing_secret must be empty or Secret names"),
    "a database name with '-'": ({"postgresql_databases": ["mlflow-db"]}, "postgresql_databases must be PostgreSQL identifiers"),
    "a memory request with a space": ({"postgresql_resources": {"requests": {"cpu": "250m", "memory": "1 GB"}}},
                                      "postgresql_resources must be requests and limits of Kubernetes quantities such as 500m or 1Gi, "
                                      "got requests.memory='1 GB'."),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_value_fails_in_the_preflight_before_any_write(sandbox, run_playbook, tmp_path, case):
    variables, message = INVALID[case]
    variables = dict({"postgresql_namespace": "pg-%s" % uuid.uuid4().hex[:6]}, **variables)
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(variables), encoding="utf-8")
    sandbox.kube_admin("requests/reset", method="POST")
    result = run_playbook(ROLE_PLAYBOOK, "-e", "@%s" % vars_file)
    assert result.rc != 0, result.output
    assert message in " ".join(result.output.split()), result.output
    assert sandbox.kube_writes() == 0


WRITES = ("create", "update", "patch", "delete", "deletecollection")
# Quantities in another form than kube-apiserver prints them (it returns 1, 1Gi and 1536Mi): still no write on a re-run.
RESOURCES = {"requests": {"cpu": "1000m", "memory": "1024Mi"}, "limits": {"memory": "1.5Gi"}}


@pytest.fixture()
def namespace(sandbox):
    """A new namespace for one deployment, deleted afterwards."""
    core = kube_client.CoreV1Api(kube_config.new_client_from_config(config_file=str(sandbox.kubeconfig)))
    name = "pg-%s" % uuid.uuid4().hex[:6]
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@pytest.fixture()
def kube_faults(sandbox):
    """Set the Kubernetes emulator's fault injection; the faults it had are put back afterwards."""
    before = sandbox.kube_admin("config")["faults"]

    def set_faults(**faults):
        sandbox.kube_admin("config", method="PUT", body={"faults": faults})

    try:
        yield set_faults
    finally:
        sandbox.kube_admin("config", method="PUT", body={"faults": before})


def deploy(run_playbook, tmp_path, namespace, **variables):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(dict({"postgresql_namespace": namespace, "postgresql_resources": RESOURCES}, **variables)),
                         encoding="utf-8")
    return run_playbook(ROLE_PLAYBOOK, "-e", "@%s" % vars_file)


def writes(sandbox):
    return [(entry["verb"], entry["resource"], entry["name"]) for entry in sandbox.kube_admin("requests")["entries"]
            if entry["verb"] in WRITES]


def faulted(sandbox):
    return sum(count for status, count in sandbox.kube_admin("requests")["by_status"].items() if status != "200")


def test_a_converged_rerun_only_reads_and_a_changed_value_patches_only_its_object(sandbox, run_playbook, tmp_path, namespace):
    first = deploy(run_playbook, tmp_path, namespace)
    assert first.rc == 0, first.output
    sandbox.kube_admin("requests/reset", method="POST")
    again = deploy(run_playbook, tmp_path, namespace)
    assert again.rc == 0, again.output
    assert again.total("changed") == 0, again.output
    assert writes(sandbox) == []
    sandbox.kube_admin("requests/reset", method="POST")
    changed = deploy(run_playbook, tmp_path, namespace, postgresql_image="docker.io/library/postgres:16.5")
    assert changed.rc == 0, changed.output
    assert writes(sandbox) == [("patch", "statefulsets", "postgresql")]
    apps = kube_client.AppsV1Api(kube_config.new_client_from_config(config_file=str(sandbox.kubeconfig)))
    container = apps.read_namespaced_stateful_set("postgresql", namespace).spec.template.spec.containers[0]
    assert container.image == "docker.io/library/postgres:16.5"


def test_it_converges_with_one_kubernetes_request_in_ten_failing(sandbox, run_playbook, tmp_path, namespace, kube_faults):
    kube_faults(error_rate=0.1, error_codes=[429, 500, 503])
    sandbox.kube_admin("requests/reset", method="POST")
    first = deploy(run_playbook, tmp_path, namespace)
    assert first.rc == 0, first.output
    faults = faulted(sandbox)
    sandbox.kube_admin("requests/reset", method="POST")
    again = deploy(run_playbook, tmp_path, namespace)
    assert again.rc == 0, again.output
    assert again.total("changed") == 0, again.output
    assert writes(sandbox) == []
    assert faults + faulted(sandbox) > 0, "no fault was injected"

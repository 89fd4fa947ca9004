"""The keycloak role on the sandbox: Helm deployment of the keycloakx stand-in on the Kubernetes emulator, realm and
MLflow client on the Keycloak emulator; every chart values document it can produce is checked against the upstream
keycloakx values schema."""

import base64
import json
import uuid
from pathlib import Path

import jsonschema
import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from tests.integration.keycloak_support import (
    admin, admin_writes, faults_answered, requests_total, reset_requests, set_faults)

REPO = Path(__file__).resolve().parents[2]
# The upstream schema says "$schema": "http://json-schema.org/schema#" (no draft); Helm validates it as draft 7.
SCHEMA = json.loads((REPO / "tests/charts/keycloakx-standin/values.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
ROLE_PLAYBOOK = "tests/integration/playbooks/keycloak_role/role.yml"
VALUES_PLAYBOOK = "tests/integration/playbooks/keycloak_role/values.yml"
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}


def run_with_vars(run_playbook, tmp_path, playbook, variables, *args, extra_env=None):
    vars_file = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:6])
    vars_file.write_text(json.dumps(variables), encoding="utf-8")
    return run_playbook(playbook, "-e", "@%s" % vars_file, *args, extra_env=extra_env)


def task_results(result):
    report = json.loads(result.stdout[result.stdout.index("{"):])
    return [task for play in report["plays"] for task in play["tasks"]]


def task_named(result, name):
    return next(task["hosts"]["localhost"] for task in task_results(result) if task["task"]["name"] == name)


VARIANTS = {
    "in-cluster postgres, ingress with TLS": {},
    "external database from an existing secret": {
        "keycloak_database_mode": "external", "keycloak_database_host": "db.example.com", "keycloak_database_port": 6432,
        "keycloak_database_existing_secret": "keycloak-db", "keycloak_database_password": None},
    "existing admin secret": {"keycloak_admin_existing_secret": "keycloak-admin", "keycloak_admin_password": None},
    "ingress without TLS": {"keycloak_ingress_tls_secret": ""},
    "no ingress": {"keycloak_ingress_enabled": False, "keycloak_url": "http://keycloak-http.keycloak.svc/auth"},
    "relative path at the root": {"keycloak_relative_path": ""},
    "relative path /sso/": {"keycloak_relative_path": "/sso/", "keycloak_image_tag": "26.0.7",
                            "keycloak_ingress_annotations": {"nginx.ingress.kubernetes.io/proxy-buffer-size": "128k"}},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_values_document_validates_against_the_keycloakx_schema(run_playbook, tmp_path, variant):
    # The sandbox inventory serves the emulator at the root; these documents start from the chart's /auth.
    variables = {"keycloak_relative_path": "/auth", "keycloak_ingress_host": "sso.example.com",
                 "keycloak_ingress_tls_secret": "sso-tls",
                 "keycloak_admin_password": "not-used", "keycloak_database_password": "not-used"}
    variables.update(VARIANTS[variant])
    result = run_with_vars(run_playbook, tmp_path, VALUES_PLAYBOOK, {k: v for k, v in variables.items() if v is not None},
                           extra_env=JSON_CALLBACK)
    assert result.rc == 0, result.output
    values = task_named(result, "Show them")["keycloak_chart_values"]
    VALIDATOR.validate(values)
    assert "not-used" not in json.dumps(values)  # passwords stay in Secrets
    relative = variables["keycloak_relative_path"]
    assert values["http"]["relativePath"] == (relative or "/")
    assert values["database"]["existingSecret"] == variables.get("keycloak_database_existing_secret", "keycloak-database")
    assert "secretKeyRef" in values["extraEnv"] and variables.get("keycloak_admin_existing_secret", "keycloak-admin") in values["extraEnv"]
    if values["ingress"]["enabled"]:
        assert values["ingress"]["rules"][0]["paths"][0]["path"] == relative.rstrip("/") + "/"
        assert values["ingress"]["tls"] == ([{"hosts": ["sso.example.com"], "secretName": "sso-tls"}]
                                            if variables["keycloak_ingress_tls_secret"] else [])


def test_values_with_an_invalid_shape_are_refused_by_the_schema():
    """The schema really checks something: the chart takes extraEnv as a template string, not a list."""
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate({"image": {"repository": "quay.io/keycloak/keycloak", "tag": "26"}, "extraEnv": []})


@pytest.fixture()
def names():
    suffix = uuid.uuid4().hex[:6]
    return {"keycloak_realm": "role-%s" % suffix, "keycloak_namespace": "kc-%s" % suffix,
            "keycloak_release_name": "kc-%s" % suffix}


def database_password(core, namespace, release):
    return base64.b64decode(core.read_namespaced_secret(release + "-database", namespace).data["password"]).decode()


def test_role_deploys_keycloak_creates_the_client_and_a_second_run_changes_nothing(sandbox, run_playbook, tmp_path, names):
    # No database password in the inventory: the in-cluster PostgreSQL gets a generated one, kept on later runs.
    variables = dict(names, keycloak_database_password="")
    first = run_with_vars(run_playbook, tmp_path, ROLE_PLAYBOOK, variables)
    assert first.rc == 0, first.output
    assert first.total("changed") >= 4, first.output  # namespace, secrets, release, realm, client
    api = k8s_client.ApiClient(k8s_config.load_kube_config(config_file=str(sandbox.kubeconfig)) or None)
    apps, networking, core = k8s_client.AppsV1Api(api), k8s_client.NetworkingV1Api(api), k8s_client.CoreV1Api(api)
    namespace, release = names["keycloak_namespace"], names["keycloak_release_name"]
    postgres = apps.read_namespaced_stateful_set("keycloak-postgresql", namespace)
    postgres_env = {item.name: item for item in postgres.spec.template.spec.containers[0].env}
    assert postgres_env["POSTGRES_PASSWORD"].value_from.secret_key_ref.name == release + "-database"
    assert postgres_env["POSTGRES_DB"].value == "keycloak" and postgres_env["POSTGRES_USER"].value == "keycloak"
    assert [port.port for port in core.read_namespaced_service("keycloak-postgresql", namespace).spec.ports] == [5432]
    generated = database_password(core, namespace, release)
    assert len(generated) == 32 and generated not in first.output
    statefulset = apps.read_namespaced_stateful_set(release + "-keycloakx", namespace)
    env = {item.name: item for item in statefulset.spec.template.spec.containers[0].env}
    assert env["KC_HTTP_RELATIVE_PATH"].value == "/"
    assert env["KC_BOOTSTRAP_ADMIN_PASSWORD"].value_from.secret_key_ref.name == release + "-admin"
    assert env["KC_DB_PASSWORD"].value_from.secret_key_ref.name == release + "-database"
    ingress = networking.read_namespaced_ingress(release + "-keycloakx", namespace)
    assert ingress.spec.tls[0].secret_name == "keycloak-tls" and ingress.spec.rules[0].host == "keycloak.sandbox.internal"

    kc = admin(sandbox, names["keycloak_realm"])
    client = kc.get_client(kc.get_client_id("mlflow"))
    assert client["redirectUris"] == ["https://mlflow.sandbox.internal/callback"]
    assert {group["name"] for group in kc.get_groups()} == {"mlflow-admins", "mlflow-users"}
    shown = first.output.split("Show the published environment, without its secret")[1]
    assert "OIDC_ADMIN_GROUP_NAME: mlflow-admins" in shown
    assert "OIDC_DISCOVERY_URL: %s/realms/%s/.well-known/openid-configuration" % (
        sandbox.endpoints["keycloak"]["url"], names["keycloak_realm"]) in shown
    assert kc.get_client_secrets(client["id"])["value"] not in first.output

    reset_requests(sandbox)
    second = run_with_vars(run_playbook, tmp_path, ROLE_PLAYBOOK, variables)
    assert second.rc == 0 and second.total("changed") == 0, second.output
    assert admin_writes(sandbox) == []  # a converged run only reads Keycloak: no PUT of the realm
    assert database_password(core, namespace, release) == generated
    admin(sandbox).delete_realm(names["keycloak_realm"])


def test_deploy_without_an_admin_password_source_fails_in_the_preflight_before_any_write(sandbox, run_playbook,
                                                                                         tmp_path, names):
    sandbox.kube_admin("requests/reset", method="POST")
    reset_requests(sandbox)
    result = run_with_vars(run_playbook, tmp_path, ROLE_PLAYBOOK, dict(names, keycloak_admin_password=""))
    assert result.rc != 0
    assert "keycloak: set keycloak_admin_password (vault-encrypted) or keycloak_admin_existing_secret, not both." \
        in result.output
    assert sandbox.kube_writes() == 0
    assert admin_writes(sandbox, names["keycloak_realm"]) == []


# Each invalid inventory (over the sandbox inventory's and the test's names) and what the failure must say.
INVALID = {
    "a namespace that is not a DNS label": ({"keycloak_namespace": "Keycloak NS"}, "keycloak_namespace must be a DNS label"),
    "a release name with '_'": ({"keycloak_release_name": "keycloak_release"},
                                "keycloak_release_name must be a DNS label of at most 42 characters"),
    "a release name too long for the chart's names": ({"keycloak_release_name": "k" * 43},
                                                      "keycloak_release_name must be a DNS label of at most 42"),
    "an empty realm name": ({"keycloak_realm": ""}, "keycloak_realm must be 1 to 255 letters"),
    "an MLflow URL without a domain": ({"keycloak_mlflow_url": "http://x"},
                                       "set keycloak_mlflow_url to MLflow's external http(s) URL, with a fully qualified"),
    "a Keycloak URL that is no URL": ({"keycloak_url": "keycloak.local"}, "keycloak_url must be an http(s) URL"),
    "a public URL without a domain": ({"keycloak_public_url": "https://sso"}, "keycloak_public_url must be empty or"),
    "localhost as the ingress host": ({"keycloak_ingress_host": "localhost"},
                                      "set keycloak_ingress_host to a fully qualified DNS name"),
    "an ingress host with '..'": ({"keycloak_ingress_host": "sso..example.com"},
                                  "set keycloak_ingress_host to a fully qualified DNS name"),
    "negative replicas": ({"keycloak_replicas": -1}, "keycloak_replicas must be 1 or more, got '-1'"),
    "replicas that are no number": ({"keycloak_replicas": "two"}, "keycloak_replicas"),
    "a negative timeout": ({"keycloak_helm_wait_timeout": -5},
                           "keycloak_helm_wait_timeout must be a positive number of seconds, got '-5'"),
    "a port out of range": ({"keycloak_database_port": 99999}, "keycloak_database_port must be a TCP port (1 to 65535), got '99999'"),
    "a volume size with a space": ({"keycloak_postgres_storage_size": "8 GB"},
                                   "keycloak_postgres_storage_size must be a Kubernetes quantity greater than zero"),
    "an image tag with a space": ({"keycloak_image_tag": "26.3.3 latest"}, "keycloak_image_tag must be an image tag"),
    "an image repository in capitals": ({"keycloak_image_repository": "Quay.io/Keycloak"},
                                        "keycloak_image_repository must be an image repository"),
    "a malformed PostgreSQL image": ({"keycloak_postgres_image": "postgres:16 .4"},
                                     "keycloak_postgres_image must be an image reference"),
    "a database name PostgreSQL folds": ({"keycloak_database_name": "Keycloak-DB"},
                                         "keycloak_database_name and keycloak_database_username must be PostgreSQL identifiers"),
    "a database service that is not a DNS label": ({"keycloak_database_service": "pg_keycloak"},
                                                   "keycloak_database_service must be a DNS label of at most 52"),
    "one group for admins and users": ({"keycloak_mlflow_users_group": "mlflow-admins"},
                                       "keycloak_mlflow_admin_group and keycloak_mlflow_users_group must be two different"),
    "a membership without groups": ({"keycloak_mlflow_memberships": [{"username": "alice"}]}, "keycloak_mlflow_memberships"),
    "a relative redirect URI": ({"keycloak_mlflow_extra_redirect_uris": ["/callback"]},
                                "keycloak_mlflow_extra_redirect_uris must be absolute URIs"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_inventory_fails_in_the_preflight_before_any_write(sandbox, run_playbook, tmp_path, names, case):
    variables, message = INVALID[case]
    sandbox.kube_admin("requests/reset", method="POST")
    reset_requests(sandbox)
    result = run_with_vars(run_playbook, tmp_path, ROLE_PLAYBOOK, dict(names, **variables))
    assert result.rc != 0, result.output
    assert message in " ".join(result.output.split()), result.output
    assert sandbox.kube_writes() == 0
    assert requests_total(sandbox) == 0


def test_existing_keycloak_mode_writes_nothing_to_kubernetes(sandbox, run_playbook, tmp_path, names):
    sandbox.kube_admin("requests/reset", method="POST")
    result = run_with_vars(run_playbook, tmp_path, ROLE_PLAYBOOK, dict(names, keycloak_deploy=False))
    assert result.rc == 0, result.output
    assert sandbox.kube_writes() == 0
    kc = admin(sandbox, names["keycloak_realm"])
    assert kc.get_client_id("mlflow")
    admin(sandbox).delete_realm(names["keycloak_realm"])


def test_with_10_percent_keycloak_faults_the_role_converges_and_its_reruns_write_nothing(sandbox, run_playbook,
                                                                                         tmp_path, names):
    """The token request and every Admin API call go through the modules' bounded retries of 429 and 5xx."""
    variables = dict(names, keycloak_deploy=False)
    reset_requests(sandbox)
    set_faults(sandbox, error_rate=0.1)
    try:
        first = run_with_vars(run_playbook, tmp_path, ROLE_PLAYBOOK, variables)
        reset_requests(sandbox)
        # Re-runs until the emulator has answered faults to one of them (about 10 requests each).
        reruns = [run_with_vars(run_playbook, tmp_path, ROLE_PLAYBOOK, variables)]
        while faults_answered(sandbox) == 0 and len(reruns) < 10:
            reruns.append(run_with_vars(run_playbook, tmp_path, ROLE_PLAYBOOK, variables))
    finally:
        set_faults(sandbox, error_rate=0.0)
    assert first.rc == 0 and first.total("changed") >= 2, first.output  # the realm and the client
    for rerun in reruns:
        assert rerun.rc == 0 and rerun.total("changed") == 0, rerun.output
    assert faults_answered(sandbox) > 0
    assert admin_writes(sandbox) == []
    kc = admin(sandbox, names["keycloak_realm"])
    assert kc.get_realm(names["keycloak_realm"])["displayName"] == "ML platform"
    assert kc.get_client_id("mlflow")
    admin(sandbox).delete_realm(names["keycloak_realm"])

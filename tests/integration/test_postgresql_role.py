"""The postgresql role: invalid values fail in its preflight, naming the variable, before any write to Kubernetes.
Deployments are exercised through the keycloak and mlflow roles, which use it."""

import json
import uuid

import pytest

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

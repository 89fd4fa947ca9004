"""playbooks/site.yml on the sandbox: what `make demo` promises, and the preflight's refusals."""

import json
import uuid

import pytest
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from tests.integration import aws_support, gcp_support, keycloak_support

PLAY_TITLES = ("Keycloak", "MLflow", "JFrog ML", "ZenML Pro")


@pytest.fixture()
def kube_version(sandbox):
    """Set the version the Kubernetes emulator reports; put the default back afterwards."""
    before = sandbox.kube_admin("config")["version"]

    def set_version(version):
        sandbox.kube_admin("config", method="PUT", body={"version": version})

    yield set_version
    set_version(before)


def test_site_runs_every_enabled_platform_and_a_second_run_changes_nothing(sandbox, run_playbook):
    first = run_playbook("playbooks/site.yml")
    assert first.rc == 0, first.output
    assert first.total("failed") == 0
    for title in PLAY_TITLES:
        play = first.output.split(f"PLAY [{title}]")[1].split("PLAY [")[0]
        assert "TASK [mlplatform.selfhosted.preflight : Check the Kubernetes version]" in play
    # Every platform's checks come first, in plays of their own.
    plays = [line.split("[", 1)[1].split("]")[0] for line in first.output.splitlines() if line.startswith("PLAY [")]
    assert plays == [f"{title} (checks only)" for title in PLAY_TITLES] + list(PLAY_TITLES)
    # The secret JFrog ML reads its GCP key from, named as the guide creates it.
    core = kube_client.CoreV1Api(kube_config.new_client_from_config(config_file=str(sandbox.kubeconfig)))
    assert "credentials.json" in core.read_namespaced_secret("jfrogml-gcp-service-account", "jfrogml").data
    sandbox.kube_admin("requests/reset", method="POST")
    second = run_playbook("playbooks/site.yml")
    assert second.rc == 0, second.output
    assert second.total("changed") == 0, second.output
    # A converged run only reads Kubernetes: no object is patched unchanged.
    assert sandbox.kube_writes() == 0, [entry["path"] for entry in sandbox.kube_admin("requests")["entries"]
                                        if entry["verb"] in ("create", "update", "patch", "delete")]


def test_the_site_converges_with_one_request_in_ten_failing_in_every_emulator(sandbox, run_playbook):
    """Kubernetes, Keycloak and GCP (its token endpoint too) each fail one request in ten with 429, 500 or 503;
    every module and role task gets through with its bounded retries, and the second run is still a no-op. A new
    realm gives Keycloak (and MLflow's single sign-on) work to do, not only the few reads of a converged run."""
    faults = {"error_rate": 0.1, "error_codes": [429, 500, 503]}
    realm = ["-e", f"keycloak_realm=faults-{uuid.uuid4().hex[:6]}"]
    kube_before = sandbox.kube_admin("config")["faults"]
    gcp_before = gcp_support.set_faults(sandbox, **faults)
    sandbox.kube_admin("config", method="PUT", body={"faults": faults})
    keycloak_support.set_faults(sandbox, **faults)
    try:
        keycloak_support.reset_requests(sandbox)
        gcp_support.reset_requests(sandbox)
        first = run_playbook("playbooks/site.yml", *realm)
        assert first.rc == 0, first.output
        # The faults were there to get through, in every emulator.
        assert keycloak_support.faults_answered(sandbox) > 0
        assert gcp_support.faults_answered(sandbox)
        assert any(entry["status"] in (429, 500, 503) for entry in sandbox.kube_admin("requests")["entries"])
        sandbox.kube_admin("requests/reset", method="POST")
        keycloak_support.reset_requests(sandbox)
        second = run_playbook("playbooks/site.yml", *realm)
        assert second.rc == 0, second.output
        assert second.total("changed") == 0, second.output
        assert sandbox.kube_writes() == 0
        assert keycloak_support.admin_writes(sandbox) == []
    finally:
        sandbox.kube_admin("config", method="PUT", body={"faults": kube_before})
        keycloak_support.set_faults(sandbox, error_rate=0.0)
        gcp_support.set_faults(sandbox, **gcp_before)


def test_a_platform_left_out_runs_no_checks(run_playbook):
    result = run_playbook("playbooks/site.yml", "-e", "mlplatform_jfrogml_enabled=false")
    assert result.rc == 0, result.output
    for title in ("JFrog ML (checks only)", "JFrog ML"):
        jfrogml_play = result.output.split(f"PLAY [{title}]")[1].split("PLAY [")[0]
        assert "Run the preflight checks" not in jfrogml_play
        assert "Ask the Kubernetes API" not in jfrogml_play


# A bad value of each platform, and the message naming it: each fails in the first plays, before any platform's play
# writes. The Keycloak namespace and realm are new, so that the Keycloak play, had it run, would have written.
BAD_VALUES = {
    "keycloak-release": ("Keycloak", {"keycloak_release_name": "keycloak_release"}, "keycloak: keycloak_release_name must be a DNS label"),
    "mlflow-namespace": ("MLflow", {"mlflow_namespace": "MLflow NS"}, "mlflow: mlflow_namespace must be a DNS label"),
    "jfrogml-principals": ("JFrog ML", {"mlplatform_jfrogml_trusted_principals": ["12345"]},
                           "aws_prerequisites: aws_prerequisites_jfrogml_trusted_principals must be 12-digit AWS account IDs"),
    # A project the credentials cannot read, named by the inventory variable the user set (MLflow's play checks GCP first).
    "gcp-project": ("MLflow", {"mlplatform_gcp_project": "no-such-project-42"},
                    "gcp_prerequisites: mlplatform_gcp_project is 'no-such-project-42': GET v1/projects/no-such-project-42: PERMISSION_DENIED"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_a_bad_value_of_any_platform_fails_before_any_platform_writes(sandbox, run_playbook, case):
    platform, values, message = BAD_VALUES[case]
    suffix = uuid.uuid4().hex[:6]
    values = dict({"keycloak_namespace": f"site-kc-{suffix}", "keycloak_realm": f"site-{suffix}"}, **values)
    sandbox.kube_admin("requests/reset", method="POST")
    keycloak_support.reset_requests(sandbox)
    gcp_support.reset_requests(sandbox)
    since = aws_support.recorded(sandbox)
    result = run_playbook("playbooks/site.yml", "-e", json.dumps(values))
    assert result.rc != 0
    assert message in " ".join(result.output.split()), result.output
    assert f"PLAY [{platform} (checks only)]" in result.output and "PLAY [Keycloak]" not in result.output
    assert sandbox.kube_writes() == 0
    assert keycloak_support.requests_total(sandbox) == 0
    assert gcp_support.writes(sandbox) == []
    assert aws_support.writes(sandbox, since) == []


def test_the_preflight_checks_its_own_settings(sandbox, run_playbook):
    sandbox.kube_admin("requests/reset", method="POST")
    result = run_playbook("tests/integration/playbooks/preflight_required_apis.yml", "-e",
                          json.dumps({"preflight_kube_version_min": "1.x", "preflight_required_api_versions": ["apps v1"]}))
    assert result.rc != 0
    flat = " ".join(result.output.split())
    assert "integration: preflight_kube_version_min and preflight_kube_version_max must be versions such as 1.24" in flat
    assert sandbox.kube_admin("requests")["total"] == 0


@pytest.mark.parametrize("version", ["v1.23.17", "v1.33.1"])
def test_preflight_refuses_a_kubernetes_outside_jfrogml_range_without_writing(sandbox, run_playbook, kube_version, version):
    kube_version(version)
    sandbox.kube_admin("requests/reset", method="POST")
    result = run_playbook("playbooks/jfrogml.yml")
    assert result.rc != 0
    assert f"jfrogml: Kubernetes {version.lstrip('v')} is not supported" in result.output
    assert ">= 1.24 and < 1.33" in result.output
    assert sandbox.kube_writes() == 0


def test_preflight_names_a_missing_inventory_variable(run_playbook):
    result = run_playbook("tests/integration/playbooks/preflight_required_vars.yml")
    assert result.rc != 0
    assert "integration: inventory variable mlplatform_bucket_never_set is not set." in result.output
    assert "inventory variable mlplatform_kubeconfig is not set" not in result.output


def test_preflight_names_a_missing_api(run_playbook):
    result = run_playbook("tests/integration/playbooks/preflight_required_apis.yml")
    assert result.rc != 0
    assert "integration: the cluster does not serve monitoring.coreos.com/v1." in result.output
    assert "does not serve apps/v1" not in result.output


def test_an_empty_kubeconfig_is_named_before_any_request(sandbox, run_playbook):
    sandbox.kube_admin("requests/reset", method="POST")
    result = run_playbook("playbooks/mlflow.yml", "-e", "mlplatform_kubeconfig=")
    assert result.rc != 0
    assert "mlflow: mlplatform_kubeconfig is empty: set it to the kubeconfig file of the target cluster" in " ".join(result.output.split())
    assert "Invalid kube-config file" not in result.output
    assert sandbox.kube_admin("requests")["total"] == 0


def test_preflight_fails_clearly_when_the_cluster_is_unreachable(sandbox, run_playbook, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(sandbox.kubeconfig.read_text(encoding="utf-8").replace(
        sandbox.endpoints["kube"]["url"], "https://127.0.0.1:1"), encoding="utf-8")
    result = run_playbook("playbooks/mlflow.yml", "-e", f"mlplatform_kubeconfig={kubeconfig}")
    assert result.rc != 0
    assert f"mlflow: cannot reach the Kubernetes API (kubeconfig {kubeconfig}, context current)" in result.output
    assert "Connection refused" in result.output

"""playbooks/site.yml on the sandbox: what `make demo` promises, and the preflight's refusals."""

import pytest

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
    second = run_playbook("playbooks/site.yml")
    assert second.rc == 0, second.output
    assert second.total("changed") == 0, second.output


def test_a_platform_left_out_runs_no_checks(run_playbook):
    result = run_playbook("playbooks/site.yml", "-e", "mlplatform_jfrogml_enabled=false")
    assert result.rc == 0, result.output
    jfrogml_play = result.output.split("PLAY [JFrog ML]")[1].split("PLAY [")[0]
    assert "Run the preflight checks" not in jfrogml_play
    assert "Ask the Kubernetes API" not in jfrogml_play


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


def test_preflight_fails_clearly_when_the_cluster_is_unreachable(sandbox, run_playbook, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(sandbox.kubeconfig.read_text(encoding="utf-8").replace(
        sandbox.endpoints["kube"]["url"], "https://127.0.0.1:1"), encoding="utf-8")
    result = run_playbook("playbooks/mlflow.yml", "-e", f"mlplatform_kubeconfig={kubeconfig}")
    assert result.rc != 0
    assert f"mlflow: cannot reach the Kubernetes API (kubeconfig {kubeconfig}, context current)" in result.output
    assert "Connection refused" in result.output

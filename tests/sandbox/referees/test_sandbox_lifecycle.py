"""`python -m tests.sandbox up|status|down` as a user runs it: files written, state kept across a restart, only its own processes stopped."""

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

REPO = Path(__file__).resolve().parents[3]


def sandbox_cli(directory, *args):
    return subprocess.run([sys.executable, "-m", "tests.sandbox", *args, "--dir", str(directory)], cwd=REPO,
                          text=True, capture_output=True, check=False)


@pytest.fixture(scope="module")
def lifecycle_dir(tmp_path_factory):
    from tests.conftest import _free_port_block
    directory = tmp_path_factory.mktemp("lifecycle")
    started = subprocess.run([sys.executable, "-m", "tests.sandbox", "up", "--dir", str(directory), "--port-base", str(_free_port_block())],
                             cwd=REPO, text=True, capture_output=True, check=False)
    assert started.returncode == 0, started.stdout + started.stderr
    yield directory
    sandbox_cli(directory, "down")


def _clients(directory):
    endpoints = json.loads((directory / "endpoints.json").read_text())
    credentials = json.loads((directory / "credentials.json").read_text())
    core = k8s_client.CoreV1Api(k8s_config.new_client_from_config(config_file=str(directory / "kubeconfig")))
    iam = boto3.client("iam", endpoint_url=endpoints["aws"]["endpoint_url"], region_name="us-east-1", **credentials["aws"])
    keycloak = KeycloakAdmin(connection=KeycloakOpenIDConnection(
        server_url=endpoints["keycloak"]["url"], username=credentials["keycloak"]["admin_username"],
        password=credentials["keycloak"]["admin_password"], realm_name="master", verify=True))
    return core, iam, keycloak


def test_up_writes_what_clients_need_with_private_credentials(lifecycle_dir):
    for name in ("kubeconfig", "credentials.json", "env", "layout.json"):
        assert stat.S_IMODE((lifecycle_dir / name).stat().st_mode) == 0o600, name
    env = dict(line.split("=", 1) for line in (lifecycle_dir / "env").read_text().splitlines())
    assert env["KUBECONFIG"] == str(lifecycle_dir / "kubeconfig")
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    status = sandbox_cli(lifecycle_dir, "status")
    assert status.returncode == 0 and status.stdout.count("running (pid") == 5


def test_up_again_is_a_no_op(lifecycle_dir):
    pids_before = json.loads((lifecycle_dir / "pids.json").read_text())
    again = sandbox_cli(lifecycle_dir, "up")
    assert again.returncode == 0 and "already running" in again.stdout
    assert json.loads((lifecycle_dir / "pids.json").read_text()) == pids_before


def test_state_survives_down_and_up_and_down_stops_only_its_own_processes(lifecycle_dir):
    core, iam, keycloak = _clients(lifecycle_dir)
    core.create_namespace({"metadata": {"name": "kept-across-restart"}})
    iam.create_role(RoleName="kept-across-restart", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')
    keycloak.create_realm({"realm": "kept-across-restart", "enabled": True})
    time.sleep(1.5)  # the emulators write their snapshots at most once a second
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    pids = {name: entry["pid"] for name, entry in json.loads((lifecycle_dir / "pids.json").read_text()).items()}
    try:
        down = sandbox_cli(lifecycle_dir, "down")
        assert down.returncode == 0
        for pid in pids.values():
            assert not Path("/proc/%d" % pid).exists() or "zombie" in Path("/proc/%d/status" % pid).read_text().lower()
        assert bystander.poll() is None
        assert sandbox_cli(lifecycle_dir, "status").returncode != 0
    finally:
        bystander.kill()
        bystander.wait()
    up = sandbox_cli(lifecycle_dir, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    core, iam, keycloak = _clients(lifecycle_dir)
    assert core.read_namespace("kept-across-restart").metadata.name == "kept-across-restart"
    assert iam.get_role(RoleName="kept-across-restart")["Role"]["RoleName"] == "kept-across-restart"
    assert "kept-across-restart" in [realm["realm"] for realm in keycloak.get_realms()]


def test_a_taken_port_is_refused_before_anything_starts(tmp_path, lifecycle_dir):
    layout = json.loads((lifecycle_dir / "layout.json").read_text())
    clash = sandbox_cli(tmp_path, "up", "--port-base", str(layout["port_base"]))
    assert clash.returncode != 0
    assert "is taken by a process this sandbox did not start" in clash.stdout + clash.stderr
    assert not (tmp_path / "pids.json").exists()

"""The sandbox orchestrator's own logic: settings, layout, PID safety, private files."""

import json
import stat
import subprocess
import sys
import time

import pytest

from tests.sandbox import common, orchestrator


def test_merge_overrides_nested_keys_and_keeps_the_rest():
    base = {"kube": {"version": "v1.30.6", "faults": {"error_rate": 0.0, "latency_ms": 0}}, "gcp": {}}
    merged = common.merge(base, {"kube": {"faults": {"error_rate": 0.1}}})
    assert merged == {"kube": {"version": "v1.30.6", "faults": {"error_rate": 0.1, "latency_ms": 0}}, "gcp": {}}
    assert base["kube"]["faults"]["error_rate"] == 0.0


def test_settings_file_is_merged_over_the_defaults(tmp_path):
    override = tmp_path / "sandbox.yml"
    override.write_text("kube:\n  version: v1.23.4\n", encoding="utf-8")
    settings = orchestrator._load_settings(override)
    assert settings["kube"]["version"] == "v1.23.4"
    assert settings["kube"]["ready_delay_seconds"] == 1
    assert settings["keycloak"]["admin_username"] == "admin"


def test_layout_is_made_once_and_kept(tmp_path):
    sandbox = orchestrator.Sandbox(tmp_path)
    first = sandbox._layout(21000)
    assert first["ports"]["kube"] == 21443 and first["ports"]["aws"] == 21000
    assert sandbox._layout(None) == first
    assert stat.S_IMODE((tmp_path / "layout.json").stat().st_mode) == 0o600
    with pytest.raises(SystemExit, match="--port-base 21000"):
        sandbox._layout(22000)


def test_a_pid_counts_as_ours_only_while_its_command_line_matches():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "sandbox-marker"])
    try:
        # /proc shows the new command line once exec has happened; give it a moment on a busy machine.
        deadline = time.monotonic() + 5
        while not orchestrator._process_alive(process.pid, "sandbox-marker") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert orchestrator._process_alive(process.pid, "sandbox-marker")
        assert not orchestrator._process_alive(process.pid, "another-service --port 16443")
    finally:
        process.kill()
        process.wait()
    assert not orchestrator._process_alive(process.pid, "sandbox-marker")


def test_down_without_a_running_sandbox_touches_nothing(tmp_path, capsys):
    assert orchestrator.Sandbox(tmp_path).down() == 0
    assert "no sandbox running" in capsys.readouterr().out


def test_down_leaves_processes_whose_pid_was_reused_alone(tmp_path):
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "pids.json").write_text(json.dumps(
            {"kube": {"pid": stranger.pid, "marker": "--token-file /gone/kube-token", "command": []}}), encoding="utf-8")
        orchestrator.Sandbox(tmp_path).down()
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_private_files_are_created_owner_only(tmp_path):
    path = tmp_path / "nested" / "credentials.json"
    orchestrator._write_private(path, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_client_files_report_the_keycloak_admin_the_emulator_was_configured_with(tmp_path):
    override = tmp_path / "sandbox.yml"
    override.write_text("keycloak:\n  admin_username: root\n  admin_password: configured-secret\n", encoding="utf-8")
    sandbox = orchestrator.Sandbox(tmp_path / "sandbox")
    sandbox._write_client_files(sandbox._layout(21000), sandbox._tls(), "https://issuer.example", orchestrator._load_settings(override))
    credentials = json.loads((tmp_path / "sandbox" / "credentials.json").read_text(encoding="utf-8"))
    assert credentials["keycloak"] == {"admin_username": "root", "admin_password": "configured-secret"}
    env = (tmp_path / "sandbox" / "env").read_text(encoding="utf-8").splitlines()
    assert "KEYCLOAK_ADMIN=root" in env and "KEYCLOAK_ADMIN_PASSWORD=configured-secret" in env

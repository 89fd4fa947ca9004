"""Fixtures shared by the integration tests: the running sandbox and a way to run playbooks on it.

`make pytest` starts a test sandbox and sets SANDBOX_DIR; run alone, the session starts its own in a
temporary directory and stops it at the end.
"""

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
                   r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)", re.MULTILINE)


def _free_port_block(size=500):
    """A port block whose offsets the sandbox uses are all free right now."""
    for base in range(30000, 60000, size):
        ports = [base + offset for offset in (0, 80, 90, 91, 443)]
        if all(_port_free(port) for port in ports):
            return base
    raise RuntimeError("no free port block")


def _port_free(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


class SandboxHandle:
    """What tests need of a running sandbox: its files, and the admin endpoints of its emulators."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.endpoints = json.loads((self.dir / "endpoints.json").read_text(encoding="utf-8"))
        self.credentials = json.loads((self.dir / "credentials.json").read_text(encoding="utf-8"))
        self.kubeconfig = self.dir / "kubeconfig"
        self._kube_tls = ssl.create_default_context(cafile=self.endpoints["kube"]["ca"])

    def kube_admin(self, path, method="GET", body=None):
        """Call the Kubernetes emulator's /_sandbox/ admin API (request log, runtime config)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoints['kube']['admin']}/{path}", data=data, method=method,
                                         headers={"Authorization": f"Bearer {self.credentials['kube']['token']}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10, context=self._kube_tls) as response:
            payload = response.read()
        return json.loads(payload) if payload else {}

    def kube_writes(self):
        """How many write requests (create, update, patch, delete) the Kubernetes emulator has logged."""
        return self.kube_admin("requests")["writes"]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    explicit = os.environ.get("SANDBOX_DIR")
    if explicit and (Path(explicit) / "endpoints.json").exists():
        yield SandboxHandle(explicit)
        return
    directory = tmp_path_factory.mktemp("sandbox")
    command = [sys.executable, "-m", "tests.sandbox"]
    subprocess.run(command + ["up", "--dir", str(directory), "--port-base", str(_free_port_block())], cwd=REPO, check=True)
    try:
        yield SandboxHandle(directory)
    finally:
        subprocess.run(command + ["down", "--dir", str(directory)], cwd=REPO, check=False)


class PlaybookResult:
    def __init__(self, completed):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.output = completed.stdout + completed.stderr
        self.recap = [match.groupdict() for match in RECAP.finditer(completed.stdout)]

    def total(self, field):
        return sum(int(host[field]) for host in self.recap)


@pytest.fixture(scope="session")
def run_playbook(sandbox):
    """Run ansible-playbook from the repository root on the sandbox inventory; returns a PlaybookResult."""
    bin_dir = Path(sys.executable).parent

    def run(playbook, *args, inventory="inventories/sandbox", extra_env=None):
        env = dict(os.environ, SANDBOX_DIR=str(sandbox.dir), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1",
                   PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        env.update(extra_env or {})
        command = [str(bin_dir / "ansible-playbook"), str(playbook), "-i", inventory, *args]
        return PlaybookResult(subprocess.run(command, cwd=REPO, env=env, text=True, capture_output=True, check=False))

    return run

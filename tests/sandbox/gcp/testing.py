"""Start the GCP emulator (and optionally gcp-storage-emulator) for tests, without the orchestrator.

    with testing.gcp_sandbox(gcs=True) as sandbox:
        creds = service_account.Credentials.from_service_account_file(sandbox.admin_key_path)
        biglake = build("biglake", "v1", credentials=creds, static_discovery=True,
                        client_options={"api_endpoint": sandbox.endpoints["biglake"]})
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from tests.sandbox.gcp import endpoints, gcs_command

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT = 30


def free_ports(count):
    """Distinct free loopback ports (all sockets are held open together, so no port repeats)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for index in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _wait(probe, process, what):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} during start-up")
        if probe():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready within {START_TIMEOUT}s")


def _healthy(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # nosec - loopback only
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@dataclass
class GcpSandbox:
    """A running emulator: what clients need, and stop/start for restart tests."""

    directory: Path
    port: int
    config: dict
    gcs: bool
    gcs_port: Optional[int] = None
    processes: dict = field(default_factory=dict)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def gcs_url(self):
        return f"http://127.0.0.1:{self.gcs_port}" if self.gcs_port else None

    @property
    def endpoints(self):
        return endpoints(self.base_url, self.gcs_url)

    @property
    def admin_key_path(self):
        return self.directory / "admin-key.json"

    @property
    def state_path(self):
        return self.directory / "state.json"

    @property
    def admin_key(self):
        return json.loads(self.admin_key_path.read_text(encoding="utf-8"))

    def _spawn(self, name, command):
        env = dict(os.environ, PYTHONPATH=str(REPO))
        log = open(self.directory / f"{name}.log", "ab")  # pylint: disable=consider-using-with
        self.processes[name] = (subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL), log)

    def start(self):
        config_path = self.directory / "config.json"
        config_path.write_text(json.dumps(self.config), encoding="utf-8")
        self._spawn("gcp", [sys.executable, "-m", "tests.sandbox.gcp", "--host", "127.0.0.1", "--port", str(self.port),
                            "--state", str(self.state_path), "--config", str(config_path),
                            "--admin-key-out", str(self.admin_key_path)])
        if self.gcs:
            data_dir = self.directory / "gcs"
            data_dir.mkdir(exist_ok=True)
            self._spawn("gcs", gcs_command("127.0.0.1", self.gcs_port, str(data_dir)))
        _wait(lambda: _healthy(f"{self.base_url}/_sandbox/health"), self.processes["gcp"][0], "gcp emulator")
        if self.gcs:
            _wait(lambda: _port_open(self.gcs_port), self.processes["gcs"][0], "gcp-storage-emulator")

    def stop(self):
        """SIGTERM every process and wait; returns the exit codes by name."""
        codes = {}
        for name, (process, log) in self.processes.items():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                codes[name] = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
            log.close()
        self.processes.clear()
        return codes

    def restart(self):
        codes = self.stop()
        self.start()
        return codes


@contextlib.contextmanager
def gcp_sandbox(gcs=False, config=None):
    """Yield a started GcpSandbox on free ports with a temporary state directory; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="sandbox-gcp-") as directory:
        ports = free_ports(2)
        sandbox = GcpSandbox(Path(directory), ports[0], config or {}, gcs, ports[1] if gcs else None)
        try:
            sandbox.start()
            yield sandbox
        finally:
            sandbox.stop()

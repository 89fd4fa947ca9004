"""Start the GCP emulator (and optionally gcp-storage-emulator) for tests, without the orchestrator.

    with testing.gcp_sandbox(gcs=True) as sandbox:
        biglake = sandbox.client("biglake", sandbox.admin_credentials())
"""

import contextlib
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from google.oauth2 import service_account
from googleapiclient import discovery

from tests.sandbox.gcp import endpoints, gcs_command
from tests.sandbox.processes import free_ports, http_ok, port_open, spawn, terminate, wait_until

START_TIMEOUT = 30


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

    def admin_credentials(self, scopes=None):
        """google-auth credentials from the sandbox admin's key file."""
        return service_account.Credentials.from_service_account_file(str(self.admin_key_path), scopes=scopes)

    def client(self, api, credentials=None, http=None):
        """googleapiclient's v1 resource of one API, from its pinned discovery document."""
        return discovery.build(api, "v1", credentials=credentials, http=http, static_discovery=True,
                               client_options={"api_endpoint": self.endpoints[api]})

    def _spawn(self, name, command):
        self.processes[name] = spawn(command, self.directory / f"{name}.log")

    def _wait(self, name, ready):
        wait_until(ready, self.processes[name], name, self.directory / f"{name}.log", START_TIMEOUT)

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
        self._wait("gcp", lambda: http_ok(f"{self.base_url}/_sandbox/health"))
        if self.gcs:
            self._wait("gcs", lambda: port_open(self.gcs_port))

    def stop(self):
        """SIGTERM every process and wait; returns the exit codes by name."""
        codes = {name: terminate(process, timeout=10) for name, process in self.processes.items()}
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

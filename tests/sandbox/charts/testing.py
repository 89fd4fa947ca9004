"""Start the chart emulator as a subprocess for tests: `with running() as charts: ...`.

The yielded Charts can be stopped and started again on the same port and state, so a test can
take the repository away and see what still works without it.
"""

import contextlib
import json
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.sandbox.kube import tls
from tests.sandbox.processes import free_ports, spawn, terminate, wait_until

USERNAME = "chart-reader"


@dataclass
class Charts:
    """What a client needs: the repository URL, the registry's oci:// prefix, its CA and the user's credentials."""

    url: str
    ca_file: str
    username: str
    password: str
    directory: str
    command: list
    timeout: float
    process: subprocess.Popen = field(default=None, repr=False)

    @property
    def repo_url(self):
        """The HTTP chart repository (index.yaml below it)."""
        return self.url + "/charts"

    @property
    def registry(self):
        """host:port, as `helm registry login` takes it."""
        return self.url.split("://", 1)[1]

    @property
    def oci(self):
        """The oci:// prefix the seeded charts live under: oci://host:port/charts/<chart>."""
        return f"oci://{self.registry}/charts"

    @property
    def log_path(self):
        return os.path.join(self.directory, "charts.log")

    def start(self):
        self.process = spawn(self.command, self.log_path)
        wait_until(self.healthy, self.process, "chart emulator", self.log_path, self.timeout)

    def stop(self):
        terminate(self.process, 10)

    def admin(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/_sandbox/{path}", data=data, method=method)
        context = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(request, timeout=10, context=context) as response:  # nosec - loopback only
            return json.loads(response.read())

    def healthy(self):
        try:
            return self.admin("GET", "health")["status"] == "ok"
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def requests(self):
        return self.admin("GET", "requests")

    def reset_requests(self):
        return self.admin("POST", "requests/reset")

    def configure(self, **settings):
        return self.admin("PUT", "config", settings)


@contextlib.contextmanager
def running(config=None, directory=None, timeout=60):
    """Run the emulator on a free port with its own CA, user and state file; yield a Charts."""
    with contextlib.ExitStack() as stack:
        workdir = Path(directory) if directory else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sandbox-charts-")))
        files = tls.generate(workdir / "tls")
        password = secrets.token_urlsafe(18)
        credentials_file = workdir / "credentials.json"
        fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"username": USERNAME, "password": password}, handle)
        config_file = workdir / "config.json"
        config_file.write_text(json.dumps(config or {}), encoding="utf-8")
        port = free_ports()[0]
        command = [sys.executable, "-m", "tests.sandbox.charts", "--host", "127.0.0.1", "--port", str(port),
                   "--state", str(workdir / "state.json"), "--config", str(config_file),
                   "--tls-cert", str(files["cert"]), "--tls-key", str(files["key"]), "--credentials-file", str(credentials_file)]
        charts = Charts(f"https://127.0.0.1:{port}", str(files["ca"]), USERNAME, password, str(workdir), command, timeout)
        charts.start()
        stack.callback(charts.stop)  # stops the process of the latest start
        yield charts

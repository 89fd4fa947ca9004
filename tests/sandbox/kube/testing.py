"""Start the emulator as a subprocess for tests: `with running() as kube: ...`."""

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
from dataclasses import dataclass
from pathlib import Path

from tests.sandbox.kube import kubeconfig, tls
from tests.sandbox.processes import free_ports, spawn, terminate, wait_until


@dataclass
class Kube:
    """What a client needs to talk to a running emulator."""

    url: str
    token: str
    ca_file: str
    kubeconfig: str
    state: str
    directory: str
    process: subprocess.Popen

    def _context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    def request(self, method, path, body=None, token=True, content_type="application/json", accept="application/json"):
        """(status, parsed JSON or text, headers) of one raw HTTPS request."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if accept:
            req.add_header("Accept", accept)
        if token:
            req.add_header("Authorization", f"Bearer {self.token if token is True else token}")
        try:
            with urllib.request.urlopen(req, context=self._context(), timeout=30) as response:  # nosec - loopback only
                status, raw, headers = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, headers = error.code, error.read(), dict(error.headers)
        try:
            return status, json.loads(raw), headers
        except ValueError:
            return status, raw.decode(errors="replace"), headers

    def healthy(self):
        try:
            return self.request("GET", "/_sandbox/health", token=False)[0] == 200
        except (urllib.error.URLError, OSError):
            return False

    def admin(self, method, path, body=None):
        status, payload, _headers = self.request(method, "/_sandbox/" + path.lstrip("/"), body)
        if status != 200:
            raise RuntimeError(f"admin {method} {path}: {status} {payload}")
        return payload

    def configure(self, **settings):
        return self.admin("PUT", "config", settings)

    def requests(self):
        return self.admin("GET", "requests")

    def reset_requests(self):
        return self.admin("POST", "requests/reset")

    def env(self):
        """Environment for CLI clients (kubectl, ansible) pointing at this emulator."""
        env = dict(os.environ)
        env.update({"KUBECONFIG": self.kubeconfig, "K8S_AUTH_KUBECONFIG": self.kubeconfig,
                    "HOME": self.directory, "KUBECACHEDIR": os.path.join(self.directory, "kube-cache")})
        return env


@contextlib.contextmanager
def running(config=None, state=None, directory=None, timeout=30):
    """Run the emulator on a free port with a temporary state file; yield a Kube."""
    with contextlib.ExitStack() as stack:
        workdir = Path(directory) if directory else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sandbox-kube-")))
        files = tls.generate(workdir / "tls")
        token = secrets.token_urlsafe(24)
        token_file = workdir / "token"
        token_file.write_text(token, encoding="utf-8")
        config_file = workdir / "config.json"
        config_file.write_text(json.dumps(config or {}), encoding="utf-8")
        state_file = Path(state) if state else workdir / "state.json"
        port = free_ports()[0]
        url = f"https://127.0.0.1:{port}"
        kube_config = kubeconfig.write(workdir / "kubeconfig", url, files["ca"], token)
        log_path = workdir / "kube.log"
        process = spawn([sys.executable, "-m", "tests.sandbox.kube", "--host", "127.0.0.1", "--port", str(port), "--state", str(state_file),
                         "--config", str(config_file), "--tls-cert", str(files["cert"]), "--tls-key", str(files["key"]),
                         "--token-file", str(token_file)], log_path)
        stack.callback(terminate, process, 10)
        kube = Kube(url, token, str(files["ca"]), str(kube_config), str(state_file), str(workdir), process)
        wait_until(kube.healthy, process, "kube emulator", log_path, timeout)
        yield kube

"""Start the emulator as a subprocess for tests: `with running() as kube: ...`."""

import contextlib
import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import kubeconfig, tls

REPO = Path(__file__).resolve().parents[3]


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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        port = free_port()
        url = f"https://127.0.0.1:{port}"
        kube_config = kubeconfig.write(workdir / "kubeconfig", url, files["ca"], token)
        log = open(workdir / "kube.log", "ab")  # pylint: disable=consider-using-with
        stack.callback(log.close)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "tests.sandbox.kube", "--host", "127.0.0.1", "--port", str(port), "--state", str(state_file),
             "--config", str(config_file), "--tls-cert", str(files["cert"]), "--tls-key", str(files["key"]),
             "--token-file", str(token_file)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        kube = Kube(url, token, str(files["ca"]), str(kube_config), str(state_file), str(workdir), process)

        def stop():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        stack.callback(stop)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError("kube emulator exited: " + (workdir / "kube.log").read_text(errors="replace")[-3000:])
            try:
                if kube.request("GET", "/_sandbox/health", token=False)[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("kube emulator did not become healthy")
            time.sleep(0.1)
        yield kube

"""Start the Keycloak emulator for a test: `with running() as kc: ...`.

The emulator runs as a subprocess on a free loopback port with strict response validation on,
so any response body that strays from the Keycloak 23 OpenAPI document fails the test with a 500.
"""

import atexit
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

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT = 20


@dataclass
class Keycloak:
    """What a client needs to talk to a running emulator."""

    url: str
    admin_username: str
    admin_password: str
    state_path: str
    process: subprocess.Popen = field(repr=False)
    log_path: str = ""

    def sandbox(self, path, method="GET", body=None):
        """Call one of the emulator's /_sandbox/ endpoints; returns the decoded JSON."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"{self.url}/_sandbox/{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:  # nosec - loopback only
            return json.loads(response.read())

    def requests(self):
        return self.sandbox("requests")

    def set_config(self, patch):
        return self.sandbox("config", "PUT", patch)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url):
    try:
        with urllib.request.urlopen(f"{url}/_sandbox/health", timeout=1) as response:  # nosec - loopback only
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


_SHARED = {}


def shared():
    """One emulator per test process for suites that do not need their own config or state (saves start-ups).

    Started on first use with the default config (strict response validation on) and stopped when
    the interpreter exits. Callers must undo any runtime config change they make.
    """
    if "keycloak" not in _SHARED:
        context = running()
        _SHARED["keycloak"] = context.__enter__()  # pylint: disable=unnecessary-dunder-call
        atexit.register(context.__exit__, None, None, None)
    return _SHARED["keycloak"]


@contextlib.contextmanager
def running(config=None, state_path=None, port=None):
    """Run the emulator until the block ends (SIGTERM, like the orchestrator); yields a Keycloak.

    config is merged over the defaults and always turns `validate_responses` on. Pass the same
    state_path twice to test restarts.
    """
    settings = {"validate_responses": True}
    settings.update(config or {})
    with tempfile.TemporaryDirectory(prefix="keycloak-sandbox-") as workdir:
        state = state_path or os.path.join(workdir, "state.json")
        config_path = os.path.join(workdir, "config.json")
        Path(config_path).write_text(json.dumps(settings), encoding="utf-8")
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = os.path.join(workdir, "keycloak.log")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with open(log_path, "wb") as log:
            process = subprocess.Popen(  # pylint: disable=consider-using-with
                [sys.executable, "-m", "tests.sandbox.keycloak", "--host", "127.0.0.1", "--port", str(port),
                 "--state", state, "--config", config_path],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = Path(log_path).read_text(encoding="utf-8", errors="replace")
                    raise RuntimeError(f"keycloak emulator did not become healthy:\n{output[-3000:]}")
                time.sleep(0.05)
            yield Keycloak(url, settings.get("admin_username", "admin"), settings.get("admin_password", "admin"),
                           state, process, log_path)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

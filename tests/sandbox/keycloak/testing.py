"""Start the Keycloak emulator for a test: `with running() as kc: ...`.

The emulator runs as a subprocess on a free loopback port with strict response validation on,
so any response body that strays from the Keycloak 23 OpenAPI document fails the test with a 500.
"""

import atexit
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from tests.sandbox.processes import free_ports, http_ok, spawn, terminate, wait_until

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

    def admin_client(self, realm=None, skip_exists=False):
        """python-keycloak's KeycloakAdmin, signed in as the bootstrap admin; given a realm representation,
        it creates that realm and manages it."""
        client = KeycloakAdmin(connection=KeycloakOpenIDConnection(server_url=self.url, username=self.admin_username, password=self.admin_password,
                                                                   realm_name="master", client_id="admin-cli"))
        if realm is not None:
            client.create_realm(realm, skip_exists=skip_exists)
            client.change_current_realm(realm["realm"])
        return client


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
        port = port or free_ports()[0]
        url = f"http://127.0.0.1:{port}"
        log_path = os.path.join(workdir, "keycloak.log")
        process = spawn([sys.executable, "-m", "tests.sandbox.keycloak", "--host", "127.0.0.1", "--port", str(port),
                         "--state", state, "--config", config_path], log_path)
        try:
            wait_until(lambda: http_ok(f"{url}/_sandbox/health"), process, "keycloak emulator", log_path, START_TIMEOUT)
            yield Keycloak(url, settings.get("admin_username", "admin"), settings.get("admin_password", "admin"),
                           state, process, log_path)
        finally:
            terminate(process)

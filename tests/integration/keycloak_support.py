"""Helpers of the Keycloak integration tests: python-keycloak on the sandbox's emulator, its request log."""

import json
import urllib.request
import uuid

from keycloak import KeycloakAdmin


def admin(sandbox, realm="master"):
    """KeycloakAdmin as the sandbox's admin, managing `realm`."""
    creds = sandbox.credentials["keycloak"]
    return KeycloakAdmin(server_url=sandbox.endpoints["keycloak"]["url"], username=creds["admin_username"],
                         password=creds["admin_password"], realm_name=realm, user_realm_name="master")


def extra_vars(tmp_path, variables):
    """ansible-playbook arguments passing `variables` as extra vars, through a file (types kept)."""
    vars_file = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:6])
    vars_file.write_text(json.dumps(variables), encoding="utf-8")
    return ["-e", "@%s" % vars_file]


def run_task(run_playbook, tmp_path, playbook, variables, *args):
    """Run a one-task playbook with `variables` as extra vars (json callback): that task's result, with _rc and
    _output."""
    result = run_playbook(playbook, *extra_vars(tmp_path, variables), *args,
                          extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    assert "{" in result.stdout, result.output
    report = json.loads(result.stdout[result.stdout.index("{"):])
    task = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    task["_rc"], task["_output"] = result.rc, result.output
    return task


def new_realm(sandbox, prefix="mlflow"):
    """A fresh realm, so each test starts from Keycloak's defaults."""
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
    admin(sandbox).create_realm({"realm": name, "enabled": True})
    return name


def _sandbox_call(sandbox, path, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request("%s/%s" % (sandbox.endpoints["keycloak"]["admin"], path), data=data,
                                     method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        payload = response.read()
    return json.loads(payload) if payload else {}


def set_faults(sandbox, **faults):
    """Merge `faults` into the emulator's running fault injection (error_rate, error_codes, latency_ms)."""
    _sandbox_call(sandbox, "config", method="PUT", body={"faults": faults})


def reset_requests(sandbox):
    _sandbox_call(sandbox, "requests/reset", method="POST")


def requests_total(sandbox):
    """Requests Keycloak answered since the last reset_requests, token requests included."""
    return _sandbox_call(sandbox, "requests")["total"]


def faults_answered(sandbox):
    """Requests the emulator answered with an injected fault since the last reset_requests."""
    return sum(1 for entry in _sandbox_call(sandbox, "requests")["entries"] if entry["status"] in (429, 500, 503))


def admin_writes(sandbox, realm=None):
    """Admin API writes (POST, PUT, DELETE) to `realm`, or anywhere (realm creation included), since the last
    reset_requests."""
    prefix = "/admin/realms/%s" % realm if realm is not None else "/admin"
    return [entry for entry in _sandbox_call(sandbox, "requests")["entries"]
            if entry["method"] != "GET" and (entry["path"] == prefix or entry["path"].startswith(prefix + "/"))]

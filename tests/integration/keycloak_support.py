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


def new_realm(sandbox, prefix="mlflow"):
    """A fresh realm, so each test starts from Keycloak's defaults."""
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
    admin(sandbox).create_realm({"realm": name, "enabled": True})
    return name


def _sandbox_call(sandbox, path, method="GET"):
    request = urllib.request.Request("%s/%s" % (sandbox.endpoints["keycloak"]["admin"], path), method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        payload = response.read()
    return json.loads(payload) if payload else {}


def reset_requests(sandbox):
    _sandbox_call(sandbox, "requests/reset", method="POST")


def requests_total(sandbox):
    """Requests Keycloak answered since the last reset_requests, token requests included."""
    return _sandbox_call(sandbox, "requests")["total"]


def admin_writes(sandbox, realm):
    """Admin API writes (POST, PUT, DELETE) to `realm` since the last reset_requests."""
    prefix = "/admin/realms/%s" % realm
    return [entry for entry in _sandbox_call(sandbox, "requests")["entries"]
            if entry["method"] != "GET" and (entry["path"] == prefix or entry["path"].startswith(prefix + "/"))]

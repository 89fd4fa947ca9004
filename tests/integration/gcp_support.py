"""What the GCP integration tests share: googleapiclient on the sandbox's emulators, its request log, extra vars."""

import json
import urllib.request

from google.oauth2 import service_account
from googleapiclient import discovery, errors

PROJECT = "sandbox-project"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
# POSTs that only read.
READ_SUFFIXES = (":getIamPolicy", ":testIamPermissions", ":batchGet")


def api(sandbox, name, version="v1"):
    """A googleapiclient resource for one emulated API, as the sandbox admin."""
    credentials = service_account.Credentials.from_service_account_file(
        sandbox.credentials["gcp"]["admin_key_file"], scopes=SCOPES)
    return discovery.build(name, version, credentials=credentials, static_discovery=True, cache_discovery=False,
                           client_options={"api_endpoint": sandbox.endpoints["gcp"][name]})


def set_service(sandbox, service, enabled):
    services = api(sandbox, "serviceusage").services()
    name = f"projects/{PROJECT}/services/{service}"
    (services.enable(name=name, body={}) if enabled else services.disable(name=name, body={})).execute()


def gcp_admin(sandbox, path, method="GET"):
    request = urllib.request.Request(f"{sandbox.endpoints['gcp']['admin']}/{path}", method=method,
                                     data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as response:  # nosec - the sandbox on loopback
        payload = response.read()
    return json.loads(payload) if payload else {}


def reset_requests(sandbox):
    gcp_admin(sandbox, "requests/reset", method="POST")


def set_faults(sandbox, **faults):
    """Merge `faults` into the emulator's running fault injection; returns the faults set before."""
    before = gcp_admin(sandbox, "config").get("faults") or {}
    request = urllib.request.Request(f"{sandbox.endpoints['gcp']['admin']}/config", method="PUT",
                                     data=json.dumps({"faults": faults}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10):  # nosec - the sandbox on loopback
        pass
    return before


def faults_answered(sandbox):
    """Requests (token requests included) the emulator failed with an injected fault since the last reset."""
    return [entry for entry in gcp_admin(sandbox, "requests")["entries"] if entry["status"] in (429, 500, 503)]


def writes(sandbox):
    """The write requests the GCP emulator logged since the last reset (token requests and reads left out)."""
    return [entry for entry in gcp_admin(sandbox, "requests")["entries"]
            if entry["method"] in ("POST", "PUT", "PATCH", "DELETE") and entry.get("api") != "oauth2"
            and not entry["path"].endswith(READ_SUFFIXES)]


def extra_vars(**values):
    return ["-e", json.dumps(values)]


def get_or_none(request):
    """The answer of a googleapiclient request, or None on 404."""
    try:
        return request.execute()
    except errors.HttpError as error:
        if error.resp.status == 404:
            return None
        raise


def assert_changed(result, expected):
    assert result.rc == 0, result.output
    assert result.total("changed") == expected, result.output


def members(policy, role):
    """The members of a role in an IAM policy, sorted."""
    return sorted(member for binding in policy.get("bindings", []) if binding["role"] == role
                  for member in binding["members"])

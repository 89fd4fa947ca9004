# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""APIs enabled in a project (Service Usage API v1): compare the states, then enable or disable the difference."""

from __future__ import annotations

import time

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.errors import GCPError, InvalidInput

DEFAULT_ENDPOINT = "https://serviceusage.googleapis.com/"
BATCH_SIZE = 20  # batchGet and batchEnable take at most 20 services
OPERATION_TIMEOUT = 300
OPERATION_POLL = 2.0


def wait_for_operation(client, operation, sleep=time.sleep, clock=time.monotonic):
    """The finished operation; a long-running one is polled, bounded by OPERATION_TIMEOUT."""
    deadline = clock() + OPERATION_TIMEOUT
    while not operation.get("done"):
        if clock() > deadline:
            raise GCPError(f"operation {operation.get('name')} did not finish within {OPERATION_TIMEOUT}s")
        sleep(OPERATION_POLL)
        operation = client.get(f"v1/{operation['name']}")
    if operation.get("error"):
        error = operation["error"]
        raise GCPError(error.get("message", "the operation failed"), code=error.get("code"),
                       operation=operation.get("name"))
    return operation


def service_states(client, project, names):
    """Service name → ENABLED or DISABLED."""
    states = {}
    for start in range(0, len(names), BATCH_SIZE):
        batch = names[start:start + BATCH_SIZE]
        answer = client.get(f"v1/projects/{project}/services:batchGet",
                            params={"names": [f"projects/{project}/services/{name}" for name in batch]})
        for service in answer.get("services") or []:
            states[service["name"].rsplit("/", 1)[1]] = service.get("state", "DISABLED")
    return states


def enable_services(client, project, names, check_mode):
    if not names:
        return False
    if not check_mode:
        for start in range(0, len(names), BATCH_SIZE):
            operation = client.request("POST", f"v1/projects/{project}/services:batchEnable",
                                       body={"serviceIds": names[start:start + BATCH_SIZE]})
            wait_for_operation(client, operation)
    return True


def disable_services(client, project, names, disable_dependents, check_mode):
    if not names:
        return False
    if not check_mode:
        for name in names:
            operation = client.request("POST", f"v1/projects/{project}/services/{name}:disable",
                                       body={"disableDependentServices": disable_dependents})
            wait_for_operation(client, operation)
    return True


def ensure_services(client, project, params, check_mode):
    """The module's work: returns changed, the services' states and the diff."""
    names = sorted(set(params["services"]))
    malformed = [name for name in names if "." not in name or "/" in name]
    if malformed:
        raise InvalidInput(f"not service names (like biglake.googleapis.com): {', '.join(malformed)}")
    before = service_states(client, project, names)
    wanted = "ENABLED" if params["state"] == "present" else "DISABLED"
    pending = [name for name in names if before.get(name) != wanted]
    if wanted == "ENABLED":
        changed = enable_services(client, project, pending, check_mode)
    else:
        changed = disable_services(client, project, pending, params["disable_dependent_services"], check_mode)
    after = dict(before, **{name: wanted for name in pending})
    return {"changed": changed, "services": after, "diff": {"before": before, "after": after}}

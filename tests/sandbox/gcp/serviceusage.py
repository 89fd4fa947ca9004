"""Service Usage v1: which APIs are enabled in which project. The emulated APIs consult it on every call."""

import uuid

from tests.sandbox.gcp.errors import ApiError, error_info, invalid
from tests.sandbox.gcp.routing import Route, paginate
from tests.sandbox.gcp.store import SERVICE_TITLES

SERVICE = "serviceusage.googleapis.com"
# Further services a project may enable (not emulated, but Ansible roles enable them).
OTHER_SERVICES = {
    "artifactregistry.googleapis.com": "Artifact Registry API",
    "cloudkms.googleapis.com": "Cloud Key Management Service (KMS) API",
    "compute.googleapis.com": "Compute Engine API",
    "dataproc.googleapis.com": "Cloud Dataproc API",
    "logging.googleapis.com": "Cloud Logging API",
    "monitoring.googleapis.com": "Cloud Monitoring API",
    "pubsub.googleapis.com": "Cloud Pub/Sub API",
    "secretmanager.googleapis.com": "Secret Manager API",
}
MAX_BATCH = 20


def title(name):
    return SERVICE_TITLES.get(name) or OTHER_SERVICES.get(name)


def _check_known(names):
    unknown = [name for name in names if not title(name)]
    if unknown:
        raise ApiError("PERMISSION_DENIED", f"Not found or permission denied for service(s): {', '.join(unknown)}.",
                       [error_info("SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED", SERVICE,
                                   {"services": ",".join(unknown)})])


def state_of(project, name):
    return project["services"].get(name, "DISABLED")


def resource(project, name):
    parent = f"projects/{project['projectNumber']}"
    return {
        "name": f"{parent}/services/{name}",
        "parent": parent,
        "config": {"name": name, "title": title(name), "documentation": {}, "quota": {}, "authentication": {},
                   "usage": {"requirements": ["serviceusage.googleapis.com/tos/cloud"]}},
        "state": state_of(project, name),
    }


def _operation(call, kind, response, changed):
    name = f"operations/acat.p2-{call.project['projectNumber']}-{uuid.uuid4()}" if changed else "operations/noop.DONE_OPERATION"
    operation = {"name": name, "done": True,
                 "response": dict({"@type": f"type.googleapis.com/google.api.serviceusage.v1.{kind}"}, **response)}
    if changed:
        call.data["operations"][name] = operation
    return operation


def _set(call, names, state):
    changed = False
    for name in names:
        if state_of(call.project, name) != state:
            call.project["services"][name] = state
            changed = True
    if changed:
        call.store.mark_dirty()
    return changed


def get(call):
    _check_known([call.params["service"]])
    return resource(call.project, call.params["service"])


def enable(call):
    name = call.params["service"]
    _check_known([name])
    changed = _set(call, [name], "ENABLED")
    return _operation(call, "EnableServiceResponse", {"service": resource(call.project, name)}, changed)


def disable(call):
    name = call.params["service"]
    _check_known([name])
    changed = _set(call, [name], "DISABLED")
    return _operation(call, "DisableServiceResponse", {"service": resource(call.project, name)}, changed)


def batch_enable(call):
    names = call.body.get("serviceIds") or []
    if not names or len(names) > MAX_BATCH:
        raise invalid(f"serviceIds must list 1 to {MAX_BATCH} services.", "service_ids")
    _check_known(names)
    changed = _set(call, names, "ENABLED")
    return _operation(call, "BatchEnableServicesResponse",
                      {"services": [resource(call.project, name) for name in names]}, changed)


def batch_get(call):
    names = [name.rsplit("/", 1)[-1] for name in call.query.get("names") or []]
    _check_known(names)
    return {"services": [resource(call.project, name) for name in names]}


def list_services(call):
    names = sorted(set(SERVICE_TITLES) | set(OTHER_SERVICES) | set(call.project["services"]))
    wanted = (call.arg("filter") or "").replace(" ", "")
    if wanted:
        if wanted not in ("state:ENABLED", "state:DISABLED"):
            raise invalid(f"Invalid filter: {call.arg('filter')}", "filter")
        names = [name for name in names if state_of(call.project, name) == wanted.split(":", 1)[1]]
    page, token = paginate(call, [resource(call.project, name) for name in names], 50, 200)
    result = {"services": page} if page else {}
    if token:
        result["nextPageToken"] = token
    return result


def get_operation(call):
    name = f"operations/{call.params['operation']}"
    operation = call.data["operations"].get(name)
    if operation is None and name == "operations/noop.DONE_OPERATION":
        return {"name": name, "done": True}
    if operation is None:
        raise ApiError("NOT_FOUND", f"Operation {name} not found.")
    return operation


P = r"v1/projects/(?P<project>[^/]+)"
S = P + r"/services/(?P<service>[^/:]+)"
ROUTES = [
    Route("GET", S, get, permission="serviceusage.services.get", collection="services"),
    Route("POST", S + r":enable", enable, "EnableServiceRequest", "", "serviceusage.services.enable", "services"),
    Route("POST", S + r":disable", disable, "DisableServiceRequest", "", "serviceusage.services.disable", "services"),
    Route("GET", P + r"/services", list_services, permission="serviceusage.services.list", collection="services"),
    Route("POST", P + r"/services:batchEnable", batch_enable, "BatchEnableServicesRequest", "", "serviceusage.services.enable",
          "services"),
    Route("GET", P + r"/services:batchGet", batch_get, permission="serviceusage.services.get", collection="services"),
    Route("GET", r"v1/operations/(?P<operation>[^/:]+)", get_operation, collection="operations"),
]

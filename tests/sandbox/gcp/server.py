"""HTTP front of the GCP emulator: one port, one path prefix per API, Google's error shapes.

    /biglake/v1/...               BigLake v1
    /iam/v1/...                   IAM v1
    /cloudresourcemanager/v1/...  Cloud Resource Manager v1
    /serviceusage/v1/...          Service Usage v1
    /token                        OAuth2 token endpoint (JWT-bearer grant)
    /_sandbox/...                 health, request log, config (no auth, never logged or fault-injected)

googleapiclient joins a method's path ("v1/{+name}") onto client_options.api_endpoint, so an
endpoint of http://host:port/biglake/ reaches /biglake/v1/... unchanged.
"""

import json
import time
import traceback
import urllib.parse

from tests.sandbox import common
from tests.sandbox.gcp import auth, biglake, iam, resourcemanager, schema, serviceusage
from tests.sandbox.gcp.errors import STATUS_FOR_HTTP, ApiError, error_info, permission_denied
from tests.sandbox.gcp.routing import Call
from tests.sandbox.gcp.store import SERVICE_TITLES

# prefix -> (routes, service that must be enabled in the project, or None)
APIS = {
    "biglake": (biglake.ROUTES, biglake.SERVICE),
    "iam": (iam.ROUTES, iam.SERVICE),
    "cloudresourcemanager": (resourcemanager.ROUTES, resourcemanager.SERVICE),
    "serviceusage": (serviceusage.ROUTES, None),  # always reachable, or a disabled API could never be enabled again
}


def service_disabled(service, project):
    """Google's answer for a call to an API the consumer project has not enabled."""
    number = project["projectNumber"]
    title = SERVICE_TITLES.get(service, service)
    url = f"https://console.developers.google.com/apis/api/{service}/overview?project={number}"
    message = (f"{title} has not been used in project {number} before or it is disabled. Enable it by visiting {url} then retry. "
               "If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.")
    return ApiError("PERMISSION_DENIED", message, [
        error_info("SERVICE_DISABLED", "googleapis.com", {
            "service": service, "consumer": f"projects/{number}", "activationUrl": url,
            "serviceTitle": title, "containerInfo": number}),
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message},
        {"@type": "type.googleapis.com/google.rpc.Help",
         "links": [{"description": "Google developers console API activation", "url": url}]},
    ])


class Emulator(common.Emulator):
    """The store's settings behind /_sandbox/config: a change may name projects to seed."""

    def __init__(self, store):
        super().__init__(store.config, store.lock)
        self.store = store

    def config_changed(self):
        self.store.seed_projects()
        self.store.mark_dirty()


class Handler(common.Handler):
    """Dispatches one request; the emulator carries the store and the request log."""

    server_version = "sandbox-gcp"
    json_type = "application/json; charset=UTF-8"

    def encode_json(self, payload):
        return json.dumps(payload, indent=2).encode() + b"\n"

    def serve(self, body):
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        started = time.monotonic()
        entry = {"time": time.time(), "method": self.command, "path": path, "api": None, "resource": "unknown"}
        try:
            if path == "/token":
                entry.update(api="oauth2", resource="oauth2.token")
                code, payload, headers = self._token(body)
            else:
                code, payload, headers = self._api(path, query, body, entry)
        except ApiError as error:
            code, payload, headers = error.code, error.body(), error.headers
        except Exception as error:  # pylint: disable=broad-except
            traceback.print_exc()
            code, payload, headers = 500, ApiError("INTERNAL", f"Internal error: {error}").body(), {}
        entry.update(status=code, duration_ms=round((time.monotonic() - started) * 1000, 1))
        self.emulator.log.add(entry)
        self.send_json(code, payload, headers)

    def do_CONNECT(self):  # pylint: disable=invalid-name
        """Refuse tunnels: with https_proxy pointed here, a client's calls to real Google hosts fail
        locally instead of leaving the machine (google-auth looks up Regional Access Boundaries at
        iamcredentials.googleapis.com after every token refresh)."""
        self.emulator.log.add({"time": time.time(), "method": "CONNECT", "path": self.path, "api": None,
                               "resource": "egress", "status": 403})
        self.close_connection = True
        self.send_json(403, ApiError("PERMISSION_DENIED", f"The sandbox has no egress: CONNECT {self.path} refused.").body(),
                       {"Connection": "close"})

    # --- OAuth2
    def _token_audiences(self):
        audiences = {self.server.base_url + "/token", auth.GOOGLE_TOKEN_URI}
        if self.headers.get("Host"):
            audiences.add(f"http://{self.headers['Host']}/token")
        return audiences

    def _token(self, raw):
        if self.command != "POST":
            return 405, {"error": "invalid_request", "error_description": "Use POST."}, {}
        code = common.injected_fault(self.emulator.config)
        if code:  # Google's token endpoint throttles and fails as its APIs do, in OAuth's error shape
            return code, {"error": "temporarily_unavailable" if code != 500 else "server_error",
                          "error_description": "Injected fault (sandbox fault injection)."}, common.fault_headers(code)
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            form = json.loads(raw or b"{}")
        else:
            form = {key: values[0] for key, values in urllib.parse.parse_qs(raw.decode()).items()}
        store = self.emulator.store
        try:
            with store.lock:
                return 200, auth.grant(store, form, self._token_audiences()), {"Cache-Control": "no-store"}
        except auth.OAuthError as error:
            return error.code, {"error": error.error, "error_description": error.description}, {}

    # --- APIs
    def _fault(self):
        code = common.injected_fault(self.emulator.config)
        if code:
            raise ApiError(STATUS_FOR_HTTP.get(code, "UNKNOWN"), "Injected fault (sandbox fault injection).", code=code,
                           headers=common.fault_headers(code))

    def _api(self, path, query, raw, entry):
        prefix, rest = (path.lstrip("/").split("/", 1) + [""])[:2]
        if prefix not in APIS:
            raise ApiError("NOT_FOUND", f"The requested URL {path} was not found on this server.")
        routes, service = APIS[prefix]
        entry["api"] = prefix
        self._fault()
        store = self.emulator.store
        service_name = service or serviceusage.SERVICE
        matched = [route for route in routes if route.regex.fullmatch(rest)]
        route = next((route for route in matched if route.method == self.command), None)
        if route is not None:
            entry["resource"] = f"{prefix}.{route.collection}"
        with store.lock:
            caller = auth.authenticate(store, self.headers.get("Authorization"), service_name)
        entry["caller"] = caller
        if route is None:
            raise ApiError("NOT_FOUND", f"Method not found: {self.command} {path}.")
        params = route.regex.fullmatch(rest).groupdict()
        body = {}
        if route.body or raw.strip():
            try:
                body = json.loads(raw or b"{}")
            except ValueError as error:
                raise ApiError("INVALID_ARGUMENT", f"Invalid JSON payload received. {error}") from error
        with store.lock:
            project = self._project(params, route, prefix, rest)
            entry["project"] = project["projectId"] if project else None
            if project is not None and service and project["services"].get(service) != "ENABLED":
                raise service_disabled(service, project)
            if route.body:
                schema.validate(prefix, route.body, body, route.at)
            call = Call(store=store, params=params, query=query, body=body, project=project, caller=caller,
                        base_url=self.server.base_url)
            result = route.handler(call)
            return 200, json.loads(json.dumps(result)), {}

    def _project(self, params, route, prefix, rest):
        ident = params.get("project")
        if ident is None or ident == "-":
            return None
        project = self.emulator.store.project(ident)
        if project is None:
            if prefix == "cloudresourcemanager":
                raise resourcemanager.caller_denied()
            service = APIS[prefix][1] or serviceusage.SERVICE
            raise permission_denied(route.permission or f"{prefix}.unknown", f"//{service}/{rest.split('/', 1)[1]}", service)
        return project


class Server(common.Server):
    """The emulator's HTTP server; `base_url` is written into token_uri."""

    def __init__(self, address, store, verbose=False):
        super().__init__(address, Handler, Emulator(store), verbose)
        self.base_url = (store.config.get("public_url") or self.url).rstrip("/")

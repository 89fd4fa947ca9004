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
import random
import sys
import threading
import time
import traceback
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
MAX_LOG = 5000
MAX_BODY = 10 * 1024 * 1024


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


class RequestLog:
    """What /_sandbox/requests reports."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.total = 0
            self.by_verb = Counter()
            self.by_resource = Counter()
            self.entries = []

    def add(self, entry):
        with self.lock:
            self.total += 1
            self.by_verb[entry["method"]] += 1
            self.by_resource[entry["resource"]] += 1
            self.entries.append(entry)
            del self.entries[:-MAX_LOG]

    def snapshot(self):
        with self.lock:
            return {"total": self.total, "by_verb": dict(self.by_verb), "by_resource": dict(self.by_resource),
                    "entries": list(self.entries)}


class Handler(BaseHTTPRequestHandler):
    """Dispatches one request; the server object carries the store and the request log."""

    protocol_version = "HTTP/1.1"
    server_version = "sandbox-gcp"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")

    # --- plumbing
    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError("INVALID_ARGUMENT", "Request payload too large.")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self):
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():  # trailers
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()
            if len(body) > MAX_BODY:
                raise ApiError("INVALID_ARGUMENT", "Request payload too large.")

    def _send(self, code, payload, headers=None):
        body = json.dumps(payload, indent=2).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _dispatch(self):
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        raw = self._read_body()
        if path.startswith("/_sandbox/"):
            self._admin(path, raw)
            return
        started = time.monotonic()
        entry = {"time": time.time(), "method": self.command, "path": path, "api": None, "resource": "unknown"}
        try:
            if path == "/token":
                entry.update(api="oauth2", resource="oauth2.token")
                code, payload, headers = self._token(raw)
            else:
                code, payload, headers = self._api(path, query, raw, entry)
        except ApiError as error:
            code, payload, headers = error.code, error.body(), error.headers
        except Exception as error:  # pylint: disable=broad-except
            traceback.print_exc()
            code, payload, headers = 500, ApiError("INTERNAL", f"Internal error: {error}").body(), {}
        entry.update(status=code, duration_ms=round((time.monotonic() - started) * 1000, 1))
        self.server.request_log.add(entry)
        self._send(code, payload, headers)

    def do_GET(self):  # pylint: disable=invalid-name
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def do_CONNECT(self):  # pylint: disable=invalid-name
        """Refuse tunnels: with https_proxy pointed here, a client's calls to real Google hosts fail
        locally instead of leaving the machine (google-auth looks up Regional Access Boundaries at
        iamcredentials.googleapis.com after every token refresh)."""
        self.server.request_log.add({"time": time.time(), "method": "CONNECT", "path": self.path, "api": None,
                                     "resource": "egress", "status": 403})
        self.close_connection = True
        self._send(403, ApiError("PERMISSION_DENIED", f"The sandbox has no egress: CONNECT {self.path} refused.").body(),
                   {"Connection": "close"})

    # --- admin
    def _admin(self, path, raw):
        store = self.server.store
        if path == "/_sandbox/health" and self.command == "GET":
            self._send(200, {"status": "ok"})
        elif path == "/_sandbox/requests" and self.command == "GET":
            self._send(200, self.server.request_log.snapshot())
        elif path == "/_sandbox/requests/reset" and self.command == "POST":
            self.server.request_log.reset()
            self._send(200, {"status": "ok"})
        elif path == "/_sandbox/config" and self.command == "GET":
            with store.lock:
                self._send(200, store.config)
        elif path == "/_sandbox/config" and self.command == "PUT":
            try:
                patch = json.loads(raw or b"{}")
                if not isinstance(patch, dict):
                    raise ValueError("config must be a JSON object")
            except ValueError as error:
                self._send(400, {"error": f"invalid config: {error}"})
                return
            self._send(200, store.update_config(patch))
        else:
            self._send(404, {"error": f"no admin endpoint {self.command} {path}"})

    # --- OAuth2
    def _token_audiences(self):
        base = self.server.base_url
        audiences = {base + "/token", auth.GOOGLE_TOKEN_URI}
        if self.headers.get("Host"):
            audiences.add(f"http://{self.headers['Host']}/token")
        return audiences

    def _token(self, raw):
        if self.command != "POST":
            return 405, {"error": "invalid_request", "error_description": "Use POST."}, {}
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            form = json.loads(raw or b"{}")
        else:
            form = {key: values[0] for key, values in urllib.parse.parse_qs(raw.decode()).items()}
        store = self.server.store
        try:
            with store.lock:
                return 200, auth.grant(store, form, self._token_audiences()), {"Cache-Control": "no-store"}
        except auth.OAuthError as error:
            return error.code, {"error": error.error, "error_description": error.description}, {}

    # --- APIs
    def _fault(self):
        faults = self.server.store.config.get("faults") or {}
        if faults.get("latency_ms"):
            time.sleep(float(faults["latency_ms"]) / 1000)
        if faults.get("error_rate") and random.random() < float(faults["error_rate"]):  # nosec - test fault injection
            code = int(random.choice(faults.get("error_codes") or [503]))  # nosec
            status = STATUS_FOR_HTTP.get(code, "UNKNOWN")
            raise ApiError(status, "Injected fault (sandbox fault injection).", code=code)

    def _api(self, path, query, raw, entry):
        prefix, rest = (path.lstrip("/").split("/", 1) + [""])[:2]
        if prefix not in APIS:
            raise ApiError("NOT_FOUND", f"The requested URL {path} was not found on this server.")
        routes, service = APIS[prefix]
        entry["api"] = prefix
        self._fault()
        store = self.server.store
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
        project = self.server.store.project(ident)
        if project is None:
            if prefix == "cloudresourcemanager":
                raise resourcemanager.caller_denied()
            service = APIS[prefix][1] or serviceusage.SERVICE
            raise permission_denied(route.permission or f"{prefix}.unknown", f"//{service}/{rest.split('/', 1)[1]}", service)
        return project


class Server(ThreadingHTTPServer):
    """The emulator's HTTP server; `store` holds state, `base_url` is written into token_uri."""

    daemon_threads = True

    def __init__(self, address, store, base_url=None):
        super().__init__(address, Handler)
        self.store = store
        self.request_log = RequestLog()
        host, port = self.server_address[:2]
        self.base_url = (base_url or store.config.get("public_url") or f"http://{host}:{port}").rstrip("/")

"""HTTPS front end: authentication, fault injection, the request log, admin endpoints, dispatch."""

import copy
import hmac
import json
import random
import select
import ssl
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import discovery, errors
from .api import Api, Response
from .controllers import Controllers
from .errors import ApiError
from .openapi import OpenAPI
from .registry import Registry
from .store import Store

DEFAULT_CONFIG = {
    "version": "v1.30.6",
    "ready_delay_seconds": 1,
    "faults": {"error_rate": 0.0, "error_codes": [429, 500, 503], "latency_ms": 0, "never_ready": [], "failing_jobs": []},
    "job_logs": {},
}
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
MAX_ENTRIES = 5000
FAULT_REASONS = {429: "TooManyRequests", 500: "InternalError", 502: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
# kube-apiserver's own wording for these codes, so clients classify injected faults as they would real ones.
FAULT_MESSAGES = {
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: sandbox injected fault",
    502: "an error on the server (\"Bad Gateway\") has prevented the request from succeeding",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


def deep_merge(base, override):
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


class RequestLog:
    """Counters by kube verb and resource plus the most recent entries."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.total, self.by_verb, self.by_resource, self.by_status, self.entries = 0, {}, {}, {}, []
            self.dry_run_writes = 0

    def add(self, entry):
        with self.lock:
            self.total += 1
            verb, resource = entry.get("verb"), entry.get("resource")
            if verb:
                self.by_verb[verb] = self.by_verb.get(verb, 0) + 1
                # A dryRun=All write is answered but changes nothing, so it does not count as a write.
                if verb in WRITE_VERBS and "dryRun=All" in (entry.get("query") or ""):
                    self.dry_run_writes += 1
            if resource:
                self.by_resource[resource] = self.by_resource.get(resource, 0) + 1
            status = str(entry.get("status"))
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.entries.append(entry)
            del self.entries[:-MAX_ENTRIES]

    def report(self):
        with self.lock:
            writes = sum(self.by_verb.get(verb, 0) for verb in WRITE_VERBS) - self.dry_run_writes
            return {"total": self.total, "writes": writes, "dry_run_writes": self.dry_run_writes,
                    "by_verb": dict(self.by_verb), "by_resource": dict(self.by_resource),
                    "by_status": dict(self.by_status), "entries": list(self.entries)}


class Emulator:
    """Everything the handler needs, built once."""

    def __init__(self, state_path=None, config=None, token=None, host="127.0.0.1", port=0):
        self.config = deep_merge(copy.deepcopy(DEFAULT_CONFIG), config or {})
        self.token = token
        self.openapi = OpenAPI()
        self.registry = Registry(self.openapi)
        self.store = Store(state_path)
        self.api = Api(self.store, self.registry, self.config)
        self.discovery = discovery.Discovery(self.registry, f"{host}:{port}")
        self.log = RequestLog()
        self.controllers = Controllers(self.api, self.config)
        if self.store.load():
            for crd in self.store.list(("apiextensions.k8s.io", "customresourcedefinitions"))[0]:
                self.registry.add_crd(crd)
        self._seed()

    def _seed(self):
        with self.store.lock:
            namespaces = self.registry.storage_resource("", "namespaces")
            for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
                if not self.store.exists(("", "namespaces"), "", name):
                    self.store.put(("", "namespaces"), self.api.new_object(namespaces, {"metadata": {"name": name}}), "ADDED")
            self.controllers.ensure_node()

    def start(self):
        self.store.start_saver()
        self.controllers.start()
        # build the OpenAPI v3 documents now rather than on kubectl's first request
        threading.Thread(target=lambda: [self.openapi.v3_document(gv) for gv in self.openapi.group_versions()],
                         name="openapi-warmup", daemon=True).start()

    def stop(self):
        self.controllers.stop()
        self.store.close()


def _query(raw):
    return {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}


class Handler(BaseHTTPRequestHandler):
    """One request; keep-alive HTTP/1.1, chunked watch streams."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small header/body writes otherwise meet delayed ACKs: 40 ms per request
    server_version = "sandbox-kube"
    sys_version = ""

    @property
    def emu(self):
        return self.server.emulator

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def do_PUT(self):
        self._serve()

    def do_PATCH(self):
        self._serve()

    def do_DELETE(self):
        self._serve()

    # --- plumbing
    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _send(self, response):
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in response.headers.items():
            self.send_header(key, value)
        if response.stream is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            try:
                for chunk in response.stream:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    else:  # probe: an empty write does nothing, so poll the socket for a hang-up instead
                        if self._client_gone():
                            self.close_connection = True
                            return
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True
            finally:
                response.stream.close()
            return
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _client_gone(self):
        # a watching client sends nothing more: anything readable is its hang-up (FIN or TLS close_notify)
        try:
            return bool(select.select([self.connection], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def _error(self, error):
        return Response(error.code, error.body(), headers=error.headers)

    def _authorised(self):
        token = self.emu.token
        if not token:
            return True
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[7:].strip().encode(), token.encode())

    # --- dispatch
    def _serve(self):
        started = time.monotonic()
        url = urlsplit(self.path)
        path, query = url.path.rstrip("/") or "/", _query(url.query)
        body = self._read_body()
        if path.startswith("/_sandbox"):
            self._send(self._admin(path, body))
            return
        entry = {"method": self.command, "path": url.path, "query": url.query, "verb": None, "resource": None,
                 "user_agent": self.headers.get("User-Agent", ""), "time": time.time(),
                 "content_type": self.headers.get("Content-Type"), "accept": self.headers.get("Accept")}
        response = None
        try:
            target = None
            if not self._authorised():
                raise errors.unauthorized()
            try:
                target = self.emu.api.parse(path)
            except ApiError:
                entry["verb"] = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(self.command)
                raise
            if target is not None:
                entry["verb"] = target.verb(self.command, query)
                entry["resource"] = target.res.plural + (f"/{target.sub}" if target.sub else "")
                entry["namespace"], entry["name"] = target.namespace, target.name
                self._inject_faults(resource_request=True)
                response = self.emu.api.handle(target, self.command, query, self.headers, body)
            else:
                entry["verb"] = "get" if self.command == "GET" else self.command.lower()
                self._inject_faults(resource_request=False)
                response = self._non_resource(path, query)
        except ApiError as error:
            response = self._error(error)
        except Exception as error:  # pylint: disable=broad-except  # a bug must still answer like kube does
            traceback.print_exc()
            response = self._error(ApiError(500, "InternalError", f"Internal error occurred: {error}"))
        entry["status"] = response.status
        entry["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        self.emu.log.add(entry)
        self._send(response)

    def _inject_faults(self, resource_request):
        faults = self.emu.config.get("faults") or {}
        latency = float(faults.get("latency_ms") or 0)
        if latency > 0:
            time.sleep(latency / 1000.0)
        rate = float(faults.get("error_rate") or 0)
        if resource_request and rate > 0 and random.random() < rate:
            codes = faults.get("error_codes") or [503]
            code = int(random.choice(codes))
            reason = FAULT_REASONS.get(code, "InternalError")
            headers = {"Retry-After": "1"} if code == 429 else {}
            message = FAULT_MESSAGES.get(code, f"an error on the server (\"sandbox fault {code}\") has prevented the request from succeeding")
            details = {"retryAfterSeconds": 1} if code in (429, 503) else None
            raise ApiError(code, reason, message, details, headers)

    def _non_resource(self, path, query):
        emu, accept = self.emu, self.headers.get("Accept") or ""
        if path == "/version":
            return Response(200, discovery.version_info(emu.config.get("version")))
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, "ok", content_type="text/plain; charset=utf-8")
        if path in ("/api", "/apis"):
            if discovery.wants_aggregated(accept):
                return Response(200, emu.discovery.aggregated(core=path == "/api"), content_type=discovery.AGGREGATED_TYPE,
                                headers={"Vary": "Accept"})
            body = emu.discovery.api_versions() if path == "/api" else emu.discovery.api_group_list()
            return Response(200, body, headers={"Vary": "Accept"})
        if path == "/api/v1":
            return Response(200, emu.discovery.resource_list("", "v1"))
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2:
            body = emu.discovery.api_group(parts[1])
            if body is not None:
                return Response(200, body)
        if parts[0] == "apis" and len(parts) == 3:
            body = emu.discovery.resource_list(parts[1], parts[2])
            if body is not None:
                return Response(200, body)
        if path == "/openapi/v2":
            if "json" not in accept and "*/*" not in accept and accept:
                # protobuf-only clients fall back (kubectl uses OpenAPI v3 first)
                return self._error(ApiError(406, "NotAcceptable", "only application/json is supported for /openapi/v2"))
            return Response(200, emu.openapi.v2_bytes, headers={"ETag": f'"{emu.openapi.v2_etag}"'})
        if path == "/openapi/v3":
            paths = {gv: {"serverRelativeURL": f"/openapi/v3/{gv}?hash={emu.openapi.v3_hash(gv)}"} for gv in self._v3_group_versions()}
            return Response(200, {"paths": paths})
        if path.startswith("/openapi/v3/"):
            gv = path[len("/openapi/v3/"):]
            entry = emu.openapi.v3_document(gv) if gv in self._v3_group_versions() else None
            if entry is not None:
                cache = "public, immutable" if query.get("hash") == entry[1] else "no-cache, private"
                return Response(200, entry[0], headers={"ETag": f'"{entry[1]}"', "Cache-Control": cache})
        raise errors.unknown_resource()

    def _v3_group_versions(self):
        served = {f"apis/{g}/{v}" if g else f"api/{v}" for g, versions in self.emu.registry.groups().items() for v in versions}
        return [gv for gv in self.emu.openapi.group_versions() if gv in served]

    # --- admin
    def _admin(self, path, body):
        emu = self.emu
        if path == "/_sandbox/health":
            return Response(200, {"status": "ok"})
        if not self._authorised() and path != "/_sandbox/health" and self.server.admin_auth:
            return self._error(errors.unauthorized())
        if path == "/_sandbox/requests" and self.command == "GET":
            return Response(200, emu.log.report())
        if path == "/_sandbox/requests/reset" and self.command == "POST":
            emu.log.reset()
            return Response(200, {"status": "ok"})
        if path == "/_sandbox/config":
            if self.command == "PUT":
                try:
                    update = json.loads(body or b"{}")
                except ValueError:
                    return self._error(errors.bad_request("config must be JSON"))
                if not isinstance(update, dict):
                    return self._error(errors.bad_request("config must be a JSON object"))
                with emu.store.lock:
                    deep_merge(emu.config, update)
                emu.controllers.wake.set()
                return Response(200, emu.config)
            return Response(200, emu.config)
        if path == "/_sandbox/state" and self.command == "GET":
            return Response(200, emu.store.snapshot())
        return self._error(errors.unknown_resource())


class Server(ThreadingHTTPServer):
    """Threaded HTTPS server that carries the emulator."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, emulator, tls_cert=None, tls_key=None, verbose=False, admin_auth=False):
        super().__init__(address, Handler)
        self.emulator, self.verbose, self.admin_auth = emulator, verbose, admin_auth
        if tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
            context.set_alpn_protocols(["http/1.1"])
            self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def finish_request(self, request, client_address):
        # the TLS handshake runs in the request's thread so one slow client cannot block accept()
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(30)
                request.do_handshake()
                request.settimeout(None)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

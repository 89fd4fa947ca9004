"""HTTPS front end: authentication, fault injection, the request log, admin endpoints, dispatch."""

import hmac
import select
import ssl
import threading
import time
import traceback
from urllib.parse import parse_qs, urlsplit

from tests.sandbox import common
from tests.sandbox.kube import discovery, errors
from tests.sandbox.kube.api import Api, Response
from tests.sandbox.kube.controllers import Controllers
from tests.sandbox.kube.errors import ApiError
from tests.sandbox.kube.openapi import OpenAPI
from tests.sandbox.kube.registry import Registry
from tests.sandbox.kube.store import Store

DEFAULT_CONFIG = {
    "version": "v1.30.6",
    "ready_delay_seconds": 1,
    "faults": {"error_rate": 0.0, "error_codes": [429, 500, 503], "latency_ms": 0, "never_ready": [], "failing_jobs": []},
    "job_logs": {},
}
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
FAULT_REASONS = {429: "TooManyRequests", 500: "InternalError", 502: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
# kube-apiserver's own wording for these codes, so clients classify injected faults as they would real ones.
FAULT_MESSAGES = {
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: sandbox injected fault",
    502: "an error on the server (\"Bad Gateway\") has prevented the request from succeeding",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


class RequestLog(common.RequestLog):
    """Counts by kube verb, resource and status; `writes` are the write verbs but for dryRun=All requests."""

    verb_field = "verb"

    def tally(self, entry):
        super().tally(entry)
        self.count_by("status", str(entry.get("status")))
        # A dryRun=All write is answered but changes nothing, so it does not count as a write.
        if entry.get("verb") in WRITE_VERBS and "dryRun=All" in (entry.get("query") or ""):
            self.counters["dry_run_writes"] += 1

    def summary(self):
        dry_run_writes = self.counters["dry_run_writes"]
        writes = sum(self.breakdown["verb"][verb] for verb in WRITE_VERBS) - dry_run_writes
        return {"total": self.total, "writes": writes, "dry_run_writes": dry_run_writes,
                "by_verb": self.counted_by("verb"), "by_resource": self.counted_by("resource"), "by_status": self.counted_by("status")}


class Emulator(common.Emulator):
    """Everything the handler needs, built once; the config is merged and read under the store's lock."""

    def __init__(self, state_path=None, config=None, token=None, host="127.0.0.1", port=0):
        self.store = Store(state_path)
        super().__init__(common.merge(DEFAULT_CONFIG, config), self.store.lock, RequestLog())
        self.token = token
        self.openapi = OpenAPI()
        self.registry = Registry(self.openapi)
        self.api = Api(self.store, self.registry, self.config)
        self.discovery = discovery.Discovery(self.registry, f"{host}:{port}")
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

    def config_changed(self):
        self.controllers.wake.set()

    def admin(self, method, path, body):
        if (method, path) == ("GET", "/_sandbox/state"):
            return 200, self.store.snapshot()
        return super().admin(method, path, body)


def _query(raw):
    return {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}


class Handler(common.Handler):
    """One request; chunked watch streams."""

    server_version = "sandbox-kube"
    sys_version = ""

    def send_response(self, code, message=None):
        super().send_response(code, message)
        self.send_header("Cache-Control", "no-cache, private")  # on every answer, as kube-apiserver does

    def _send(self, response):
        if response.stream is None:
            self.send_body(response.status, response.body, response.content_type, response.headers)
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
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

    def _client_gone(self):
        # a watching client sends nothing more: anything readable is its hang-up (FIN or TLS close_notify)
        try:
            return bool(select.select([self.connection], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def _error(self, error):
        return Response(error.code, error.body(), headers=error.headers)

    def _authorised(self):
        token = self.emulator.token
        if not token:
            return True
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[7:].strip().encode(), token.encode())

    # --- dispatch
    def serve(self, body):
        started = time.monotonic()
        url = urlsplit(self.path)
        path, query = url.path.rstrip("/") or "/", _query(url.query)
        entry = {"method": self.command, "path": url.path, "query": url.query, "verb": None, "resource": None,
                 "user_agent": self.headers.get("User-Agent", ""), "time": time.time(),
                 "content_type": self.headers.get("Content-Type"), "accept": self.headers.get("Accept")}
        response = None
        try:
            target = None
            if not self._authorised():
                raise errors.unauthorized()
            try:
                target = self.emulator.api.parse(path)
            except ApiError:
                entry["verb"] = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(self.command)
                raise
            if target is not None:
                entry["verb"] = target.verb(self.command, query)
                entry["resource"] = target.res.plural + (f"/{target.sub}" if target.sub else "")
                entry["namespace"], entry["name"] = target.namespace, target.name
                self._inject_faults(resource_request=True)
                response = self.emulator.api.handle(target, self.command, query, self.headers, body)
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
        self.emulator.log.add(entry)
        self._send(response)

    def _inject_faults(self, resource_request):
        code = common.injected_fault(self.emulator.config, errors=resource_request)
        if code:
            reason = FAULT_REASONS.get(code, "InternalError")
            message = FAULT_MESSAGES.get(code, f"an error on the server (\"sandbox fault {code}\") has prevented the request from succeeding")
            details = {"retryAfterSeconds": 1} if code in (429, 503) else None
            # kube-apiserver writes a Status's retryAfterSeconds as the Retry-After header too (client-go waits and
            # retries on it); a 500 carries neither.
            headers = {"Retry-After": "1"} if details else {}
            raise ApiError(code, reason, message, details, headers)

    def _non_resource(self, path, query):
        emu, accept = self.emulator, self.headers.get("Accept") or ""
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
        served = {f"apis/{g}/{v}" if g else f"api/{v}" for g, versions in self.emulator.registry.groups().items() for v in versions}
        return [gv for gv in self.emulator.openapi.group_versions() if gv in served]


class Server(common.Server):
    """Threaded HTTPS server that carries the emulator (plain HTTP without a certificate)."""

    def __init__(self, address, emulator, tls_cert=None, tls_key=None, verbose=False):
        super().__init__(address, Handler, emulator, verbose)
        if tls_cert:
            self.scheme = "https"
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

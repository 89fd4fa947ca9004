"""HTTP server of the Keycloak emulator: request log, sandbox admin endpoints, faults, lifecycle."""

import argparse
import copy
import json
import random
import signal
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.sandbox.keycloak import api, oidc, schema, store

DEFAULT_CONFIG = {
    "admin_username": "admin",
    "admin_password": "admin",
    "token_lifespan_seconds": 300,
    "refresh_token_lifespan_seconds": 1800,
    "validate_responses": False,
    "admin_users": [],
    "admin_service_accounts": [],
    "frontend_url": None,
    "request_log_limit": 5000,
    "faults": {"error_rate": 0.0, "error_codes": [500, 503], "latency_ms": 0},
}


def merge(base, override):
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class RequestLog:
    """What clients asked, for the referees and the orchestrator: /_sandbox/requests."""

    def __init__(self, limit):
        self.lock = threading.Lock()
        self.limit = limit
        self.reset()

    def reset(self):
        with self.lock:
            self.entries = []
            self.total = 0
            self.by_verb = Counter()
            self.by_resource = Counter()
            self.schema_violations = 0

    def add(self, entry):
        with self.lock:
            self.total += 1
            self.by_verb[entry["method"]] += 1
            self.by_resource[entry["resource"]] += 1
            if entry.get("schema_error"):
                self.schema_violations += 1
            self.entries.append(entry)
            del self.entries[:-self.limit]

    def report(self):
        with self.lock:
            return {"total": self.total, "by_verb": dict(self.by_verb), "by_resource": dict(self.by_resource),
                    "schema_violations": self.schema_violations, "entries": list(self.entries)}


class Emulator:
    """The running service: store, token service, admin API, config and request log."""

    def __init__(self, state_path, config):
        self.config = merge(DEFAULT_CONFIG, config)
        self.store = store.Store(state_path, self.config["admin_username"], self.config["admin_password"])
        self.tokens = oidc.TokenService(self.store, self.config)
        self.document = schema.OpenApiDocument()
        self.api = api.AdminApi(self.store, self.tokens, self.document, self.config)
        self.log = RequestLog(int(self.config["request_log_limit"]))

    def update_config(self, patch):
        # Merge in place: the token service and the API hold this very dict.
        merged = merge(self.config, patch)
        self.config.clear()
        self.config.update(merged)

    def sandbox(self, method, path, body):
        """The /_sandbox/ endpoints: never logged, never fault-injected."""
        if path == "/_sandbox/health" and method == "GET":
            return 200, {"status": "ok"}
        if path == "/_sandbox/requests" and method == "GET":
            return 200, self.log.report()
        if path == "/_sandbox/requests/reset" and method == "POST":
            self.log.reset()
            return 200, {"status": "ok"}
        if path == "/_sandbox/config" and method == "GET":
            return 200, self.config
        if path == "/_sandbox/config" and method == "PUT":
            try:
                patch = json.loads(body or b"{}")
            except ValueError:
                return 400, {"error": "config must be a JSON object"}
            if not isinstance(patch, dict):
                return 400, {"error": "config must be a JSON object"}
            self.update_config(patch)
            return 200, self.config
        return 404, {"error": "unknown sandbox endpoint"}

    def fault(self):
        faults = self.config.get("faults") or {}
        latency = float(faults.get("latency_ms") or 0)
        if latency:
            time.sleep(latency / 1000.0)
        rate = float(faults.get("error_rate") or 0)
        if rate and random.random() < rate:  # nosec - fault injection, not security
            code = random.choice(faults.get("error_codes") or [500])  # nosec
            return api.Result(code, {"error": "sandbox_injected_fault"}, template="fault")
        return None

    def handle(self, request):
        """Serve one non-sandbox request; returns a Result."""
        injected = self.fault()
        if injected:
            return injected
        if request.path.startswith("/admin/"):
            return self.api.dispatch_admin(request)
        if request.path.startswith("/realms/"):
            return self.api.dispatch_realm(request)
        return api.Result(404, {"error": "Unable to find matching target resource method"}, template="unknown")


def make_handler(emulator):
    class Handler(BaseHTTPRequestHandler):
        """One HTTP exchange; Keycloak answers JSON everywhere the emulator is concerned."""

        server_version = "keycloak-sandbox"
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; without this, Nagle plus delayed ACK adds 40 ms per request.
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            del format, args  # the request log replaces the access log

        def _send(self, status, body, headers=None, html=None):
            payload = b"" if body is None else json.dumps(body).encode("utf-8")
            self.send_response(status)
            if html is not None:
                payload = html.encode("utf-8")
                self.send_header("Content-Type", "text/html;charset=utf-8")
            elif body is not None:
                self.send_header("Content-Type", "application/json")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)

        def _serve(self):
            started = time.monotonic()
            path, dummy, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if path.startswith("/_sandbox/"):
                status, payload = emulator.sandbox(self.command, path, body)
                self._send(status, payload)
                return
            request = api.Request(self.command, path, query, self.headers, body)
            frontend = emulator.config.get("frontend_url")
            request.base = (frontend or f"http://{self.headers.get('Host') or self.server.server_address[0]}").rstrip("/")
            try:
                result = emulator.handle(request)
            except Exception as error:  # pylint: disable=broad-except
                # An emulator bug must surface as a 500 the test sees, not a dropped connection.
                print(f"keycloak emulator: unhandled error on {self.command} {path}: {error!r}", file=sys.stderr, flush=True)
                result = api.Result(500, {"error": "unknown_error", "errorMessage": repr(error)}, template="error")
            if result.schema_error:
                print(f"keycloak emulator: RESPONSE SCHEMA VIOLATION {self.command} {path}: {result.schema_error}",
                      file=sys.stderr, flush=True)
            self._send(result.status, result.body, result.headers, result.html)
            entry = {"method": self.command, "path": path, "status": result.status, "resource": result.template or "unknown",
                     "query": query, "duration_ms": round((time.monotonic() - started) * 1000, 2),
                     "response_validated": result.validated}
            if result.schema_error:
                entry["schema_error"] = result.schema_error
            if result.status >= 400 and isinstance(result.body, dict):
                entry["error"] = result.body
            emulator.log.add(entry)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.keycloak", description="Keycloak 23 emulator for the sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", required=True, help="JSON snapshot, loaded at start and rewritten after changes")
    parser.add_argument("--config", default=None, help="JSON settings (see DEFAULT_CONFIG in server.py)")
    args = parser.parse_args(argv)
    config = json.loads(Path(args.config).read_text(encoding="utf-8")) if args.config else {}
    emulator = Emulator(args.state, config)
    emulator.store.save()
    emulator.store.start_saver()
    httpd = ThreadingHTTPServer((args.host, args.port), make_handler(emulator))
    httpd.daemon_threads = True

    def stop(signum, frame):
        del signum, frame
        # shutdown() blocks until serve_forever returns, so it must run off the serving thread.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"keycloak emulator listening on http://{args.host}:{args.port} (state {args.state})", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.05)
    finally:
        httpd.server_close()
        with emulator.store.lock:
            emulator.store.prune_sessions(int(emulator.config["refresh_token_lifespan_seconds"]))
        emulator.store.close()
    return 0

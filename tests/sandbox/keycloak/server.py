"""HTTP server of the Keycloak emulator: its settings, request log entries, faults and dispatch."""

import sys
import time
from http.client import responses

from tests.sandbox import common
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
    "faults": {"error_rate": 0.0, "error_codes": [429, 500, 503], "latency_ms": 0},
}


class RequestLog(common.RequestLog):
    """Also counts the responses strict mode found off the OpenAPI document."""

    def tally(self, entry):
        super().tally(entry)
        if entry.get("schema_error"):
            self.counters["schema_violations"] += 1

    def summary(self):
        return dict(super().summary(), schema_violations=self.counters["schema_violations"])


class Emulator(common.Emulator):
    """The running service: store, token service, admin API, config and request log."""

    def __init__(self, state_path, config):
        config = common.merge(DEFAULT_CONFIG, config)
        self.store = store.Store(state_path, config["admin_username"], config["admin_password"])
        # The token service and the API hold this very config dict: /_sandbox/config changes it in place.
        super().__init__(config, self.store.lock, RequestLog(int(config["request_log_limit"])))
        self.tokens = oidc.TokenService(self.store, self.config)
        self.document = schema.OpenApiDocument()
        self.api = api.AdminApi(self.store, self.tokens, self.document, self.config)

    def fault(self):
        """An injected failure as Keycloak (or the proxy in front of it) answers one: an HTTP error with a JSON body,
        never a dropped connection; 429 says when to come back."""
        code = common.injected_fault(self.config)
        if not code:
            return None
        body = {"error": "unknown_error"} if code == 500 else {"error": f"HTTP {code} {responses.get(code, 'Error')}"}
        return api.Result(code, body, common.fault_headers(code) or None, template="fault")

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

    def close(self):
        with self.store.lock:
            self.store.prune_sessions(int(self.config["refresh_token_lifespan_seconds"]))
        self.store.close()


class Handler(common.Handler):
    """One HTTP exchange; Keycloak answers JSON everywhere the emulator is concerned."""

    server_version = "keycloak-sandbox"
    do_HEAD = common.Handler.handle_exchange

    def serve(self, body):
        started = time.monotonic()
        emulator = self.emulator
        path, dummy, query = self.path.partition("?")
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
        if result.html is not None:
            self.send_body(result.status, result.html.encode("utf-8"), "text/html;charset=utf-8", result.headers)
        else:
            self.send_json(result.status, result.body, result.headers)
        entry = {"method": self.command, "path": path, "status": result.status, "resource": result.template or "unknown",
                 "query": query, "duration_ms": round((time.monotonic() - started) * 1000, 2),
                 "response_validated": result.validated}
        if result.schema_error:
            entry["schema_error"] = result.schema_error
        if result.status >= 400 and isinstance(result.body, dict):
            entry["error"] = result.body
        emulator.log.add(entry)

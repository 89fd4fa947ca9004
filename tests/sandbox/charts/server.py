"""HTTPS front of the chart emulator: one port, three parts, one user.

    /charts/index.yaml, /charts/<chart>-<version>.tgz   a Helm chart repository (Basic authentication)
    /v2/...                                             an OCI registry (bearer tokens, oci.py)
    /token                                              the registry's token service
    /_sandbox/...                                       health, request log, config (CONTRACT.md)
"""

import base64
import hmac
import time
import traceback
from urllib.parse import parse_qs, urlsplit

from tests.sandbox import common
from tests.sandbox.charts import oci
from tests.sandbox.kube import server as kube_server

DEFAULT_CONFIG = {
    "charts": [{"path": "tests/charts/checked", "versions": ["0.2.0", "0.3.0"]}],
    "token_lifetime_seconds": 300,
    "faults": {"error_rate": 0.0, "error_codes": [500, 503], "latency_ms": 0},
}
REALM = "sandbox-charts"


class RequestLog(common.RequestLog):
    """Counts by method, by resource (index, archive, ping, token, manifests, blobs, tags, upload) and by status;
    `downloads` counts the chart archives that went out, from the repository or as registry layers."""

    def tally(self, entry):
        super().tally(entry)
        self.count_by("status", str(entry.get("status")))
        if entry.get("status") == 200 and entry.get("method") == "GET" and entry.get("chart_content"):
            self.counters["downloads"] += 1

    def summary(self):
        return dict(super().summary(), by_status=self.counted_by("status"), downloads=self.counters["downloads"])


class Emulator(common.Emulator):
    def __init__(self, store, config, username, password):
        super().__init__(config, store.lock, RequestLog())
        self.store = store
        self.username = username
        self.password = password
        self.tokens = oci.Tokens(config["token_lifetime_seconds"])
        self.registry = oci.Registry(store, self.tokens)

    def user(self, username, password):
        """username when the pair is the emulator's user, else None (compared in constant time)."""
        if username is None or password is None:
            return None
        matches = hmac.compare_digest(username.encode(), self.username.encode())
        matches &= hmac.compare_digest(password.encode(), self.password.encode())
        return username if matches else None


def basic_credentials(header):
    """(username, password) of a Basic Authorization header, or (None, None)."""
    if not (header or "").startswith("Basic "):
        return None, None
    try:
        username, _colon, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, None
    return username, password


class Refusal(Exception):
    """A non-registry answer: status, plain-text message, headers."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class Handler(common.Handler):
    server_version = "sandbox-charts"
    sys_version = ""
    do_HEAD = common.Handler.handle_exchange  # registries answer HEAD for manifests and blobs

    def serve(self, body):
        started = time.monotonic()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        entry = {"time": time.time(), "method": self.command, "path": url.path, "resource": None, "user": None}
        try:
            status, payload, content_type, headers = self._dispatch(url.path, query, body, entry)
        except oci.RegistryError as error:
            status, headers = error.status, error.headers
            payload, content_type = self.encode_json(error.body()), self.json_type
        except Refusal as error:
            status, headers, payload, content_type = error.status, error.headers, f"{error}\n".encode(), "text/plain; charset=utf-8"
        except Exception as error:  # pylint: disable=broad-except  # a bug must still answer
            traceback.print_exc()
            status, headers, payload, content_type = 500, {}, f"internal error: {error}\n".encode(), "text/plain; charset=utf-8"
        entry.update(status=status, duration_ms=round((time.monotonic() - started) * 1000, 1))
        self.emulator.log.add(entry)
        if url.path.startswith("/v2"):
            headers = dict(headers, **{"Docker-Distribution-API-Version": "registry/2.0"})
        self.send_body(status, payload, content_type, headers)

    def _dispatch(self, path, query, body, entry):
        code = common.injected_fault(self.emulator.config)
        if code:
            raise Refusal(code, f"sandbox injected fault {code}", common.fault_headers(code))
        if path == "/token":
            entry["resource"] = "token"
            return self._token(query, body, entry)
        if path == "/v2" or path.startswith("/v2/"):
            realm = f"https://{self.headers.get('Host') or '127.0.0.1'}/token"
            answer = self.emulator.registry.handle(self.command, path, query, self.headers, body, realm, entry)
            entry["chart_content"] = entry["resource"] == "blobs" and answer[1][:2] == b"\x1f\x8b"
            return answer
        if path.startswith("/charts/"):
            return self._repository(path[len("/charts/"):], entry)
        raise Refusal(404, f"no such path {path}")

    def _token(self, query, body, entry):
        username, password, scopes = oci.token_request(self.command, query, body, basic_credentials(self.headers.get("Authorization")))
        user = self.emulator.user(username, password)
        if user is None:
            raise oci.RegistryError(401, "UNAUTHORIZED", "authentication required",
                                    {"WWW-Authenticate": f'Basic realm="{REALM}"'})
        entry["user"] = user
        with self.emulator.lock:
            token = self.emulator.tokens.issue(user, scopes)
        return 200, self.encode_json(token), self.json_type, {"Cache-Control": "no-store"}

    def _repository(self, name, entry):
        if self.command not in ("GET", "HEAD"):
            raise Refusal(405, f"{self.command} is not supported by the chart repository")
        user = self.emulator.user(*basic_credentials(self.headers.get("Authorization")))
        if user is None:
            raise Refusal(401, "401 Unauthorized", {"WWW-Authenticate": f'Basic realm="{REALM}"'})
        entry["user"] = user
        store = self.emulator.store
        if name == "index.yaml":
            entry["resource"] = "index"
            return 200, store.index, "application/x-yaml", {}
        entry["resource"] = "archive"
        if name not in store.archives:
            raise Refusal(404, f"chart archive {name} not found")
        entry["chart_content"] = True
        return 200, store.archives[name], "application/gzip", {}


class Server(kube_server.Server):
    """The kube emulator's HTTPS server (its TLS handshake runs in the request's thread), answering with this Handler."""

    def __init__(self, address, emulator, tls_cert, tls_key, verbose=False):
        super().__init__(address, emulator, tls_cert, tls_key, verbose)
        self.RequestHandlerClass = Handler

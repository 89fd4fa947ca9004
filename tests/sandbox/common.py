"""What every emulator of the sandbox shares (CONTRACT.md): the request log, the `/_sandbox/` admin
endpoints, fault injection, and the HTTP server with its command line and lifecycle.

An emulator subclasses Emulator (its settings, request log and any admin endpoint of its own) and
Handler (its API, in `serve`), runs a Server, and builds its `__main__` from arguments(), parse()
and serve_until_stopped().
"""

import argparse
import copy
import json
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ADMIN_PREFIX = "/_sandbox/"
MAX_ENTRIES = 5000
MAX_BODY = 10 * 1024 * 1024
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def merge(base, override):
    """A deep copy of base with override merged in: nested dicts are merged, anything else is replaced."""
    return merge_into(copy.deepcopy(base), override)


def merge_into(base, override):
    """merge(), in place: holders of base (or of its nested dicts) see the change. Returns base."""
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_into(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


class RequestLog:
    """GET /_sandbox/requests: the total, counts by verb and by resource, and the latest entries.

    An emulator that reports more counts it in `tally` and adds it in `summary` (both run under the lock).
    """

    verb_field = "method"

    def __init__(self, limit=MAX_ENTRIES):
        self.lock = threading.Lock()
        self.limit = limit
        self.reset()

    def reset(self):
        with self.lock:
            self.total = 0
            self.breakdown = defaultdict(Counter)  # entry field -> its value -> requests, reported as by_<field>
            self.counters = Counter()  # whatever else an emulator counts
            self.entries = []

    def add(self, entry):
        with self.lock:
            self.total += 1
            self.tally(entry)
            self.entries.append(entry)
            del self.entries[:-self.limit]

    def tally(self, entry):
        self.count_by("verb", entry.get(self.verb_field))
        self.count_by("resource", entry.get("resource"))

    def count_by(self, field, value):
        if value is not None:
            self.breakdown[field][value] += 1

    def counted_by(self, field):
        return dict(self.breakdown[field])

    def summary(self):
        return {"total": self.total, "by_verb": self.counted_by("verb"), "by_resource": self.counted_by("resource")}

    def report(self):
        with self.lock:
            return dict(self.summary(), entries=list(self.entries))


def injected_fault(config, errors=True):
    """Apply the `faults` settings to one request: sleep `latency_ms`, then return the HTTP status to fail it
    with (`error_rate` of the requests, drawn from `error_codes`), or None. errors=False adds only the latency."""
    faults = config.get("faults") or {}
    latency = float(faults.get("latency_ms") or 0)
    if latency > 0:
        time.sleep(latency / 1000.0)
    rate = float(faults.get("error_rate") or 0)
    if errors and rate > 0 and random.random() < rate:  # nosec - fault injection, not security
        return int(random.choice(faults.get("error_codes") or [503]))  # nosec
    return None


def fault_headers(code):
    """The headers of an injected fault: a 429 says when to come back, as CONTRACT.md promises."""
    return {"Retry-After": "1"} if code == 429 else {}


class Emulator:
    """An emulator's settings and request log, and the /_sandbox/ endpoints that read and change them.

    `lock` guards `config`: pass the lock under which the service reads its settings.
    """

    def __init__(self, config, lock, log=None):
        self.config = config
        self.lock = lock
        self.log = log or RequestLog()

    def config_changed(self):
        """Runs under the lock after PUT /_sandbox/config merged a change."""

    def admin(self, method, path, body):
        """Answer one /_sandbox/ request (path without a trailing slash): (status, JSON payload)."""
        route = (method, path)
        if route == ("GET", "/_sandbox/health"):
            return 200, {"status": "ok"}
        if route == ("GET", "/_sandbox/requests"):
            return 200, self.log.report()
        if route == ("POST", "/_sandbox/requests/reset"):
            self.log.reset()
            return 200, {"status": "ok"}
        if route == ("GET", "/_sandbox/config"):
            with self.lock:
                return 200, copy.deepcopy(self.config)
        if route == ("PUT", "/_sandbox/config"):
            try:
                patch = json.loads(body or b"{}")
                if not isinstance(patch, dict):
                    raise ValueError("config must be a JSON object")
            except ValueError as error:
                return 400, {"error": f"invalid config: {error}"}
            with self.lock:
                merge_into(self.config, patch)
                self.config_changed()
                return 200, copy.deepcopy(self.config)
        return 404, {"error": f"no admin endpoint {method} {path}"}


class BodyTooLarge(Exception):
    """A request body over MAX_BODY."""


class Handler(BaseHTTPRequestHandler):
    """One exchange on a keep-alive HTTP/1.1 connection: /_sandbox/ goes to the emulator's admin endpoints
    (never logged, never fault-injected), everything else to `serve`."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle plus delayed ACK adds 40 ms per request.
    disable_nagle_algorithm = True
    json_type = "application/json"

    @property
    def emulator(self):
        return self.server.emulator

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.verbose:  # otherwise the request log replaces the access log
            super().log_message(format, *args)

    def handle_exchange(self):
        try:
            body = self.read_body()
        except BodyTooLarge:
            self.close_connection = True  # the rest of the body is never read
            self.send_json(413, {"error": f"request body over {MAX_BODY} bytes"})
            return
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PREFIX):
            self.send_json(*self.emulator.admin(self.command, path.rstrip("/"), body))
        else:
            self.serve(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_exchange

    def serve(self, body):
        """Answer one API request (self.command, self.path, self.headers and the read body) and log it."""
        raise NotImplementedError

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY:
                    raise BodyTooLarge()
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise BodyTooLarge()
        return self.rfile.read(length) if length else b""

    def send_body(self, status, body, content_type=None, headers=None):
        """A complete response; HEAD gets the headers only."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, payload, headers=None):
        """payload None: an empty body without a Content-Type."""
        if payload is None:
            self.send_body(status, b"", None, headers)
        else:
            self.send_body(status, self.encode_json(payload), self.json_type, headers)

    def encode_json(self, payload):
        return json.dumps(payload).encode("utf-8")


class Server(ThreadingHTTPServer):
    """A threaded server carrying its emulator; `verbose` turns the access log on."""

    daemon_threads = True
    request_queue_size = 128
    scheme = "http"

    def __init__(self, address, handler, emulator, verbose=False):
        super().__init__(address, handler)
        self.emulator = emulator
        self.verbose = verbose

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host}:{port}"


def arguments(service, description, port=None, state_required=True):
    """The command line every emulator takes (CONTRACT.md); the service adds its own flags."""
    parser = argparse.ArgumentParser(prog=f"python -m tests.sandbox.{service}", description=description)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=port, required=port is None)
    parser.add_argument("--state", required=state_required, help="JSON snapshot, loaded at start and rewritten after changes")
    parser.add_argument("--config", help="JSON settings merged over the service's defaults (its README lists them)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def parse(parser, argv=None):
    """The parsed command line; `settings` holds the --config file's content ({} without one)."""
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        parser.error("the emulator binds only to a loopback address")
    args.settings = json.loads(Path(args.config).read_text(encoding="utf-8") or "{}") if args.config else {}
    return args


def serve_until_stopped(server, service, close):
    """Serve until SIGTERM or SIGINT, then close the server and call close() (which writes the state); returns 0."""
    def stop(_signum, _frame):
        # shutdown() blocks until serve_forever returns, so it must run off the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{service} emulator listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        close()
    return 0

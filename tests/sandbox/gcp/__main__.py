"""`python -m tests.sandbox.gcp --host H --port N --state PATH [--config PATH] [--admin-key-out PATH]`."""

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from tests.sandbox.gcp import bootstrap
from tests.sandbox.gcp.server import Server
from tests.sandbox.gcp.store import Store


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.gcp", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", required=True, help="JSON snapshot, loaded at start and rewritten after changes")
    parser.add_argument("--config", help="JSON settings merged over the defaults (see store.DEFAULT_CONFIG)")
    parser.add_argument("--admin-key-out", help="where to write the sandbox admin's service-account key file")
    args = parser.parse_args(argv)
    config = json.loads(Path(args.config).read_text(encoding="utf-8") or "{}") if args.config else {}
    store = Store(args.state, config)
    server = Server((args.host, args.port), store)
    document = bootstrap.ensure_admin(store, server.base_url + "/token")
    if args.admin_key_out:
        bootstrap.write_key_file(args.admin_key_out, document)
    store.save()
    store.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    worker.start()
    print(f"gcp emulator listening on {server.base_url} (state {args.state})", file=sys.stderr, flush=True)
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m tests.sandbox.kube`: run the Kubernetes API emulator in the foreground."""

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .server import Emulator, Server


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.kube", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--state", default=None, help="JSON snapshot loaded at start and rewritten after changes")
    parser.add_argument("--config", default=None, help="JSON settings: version, ready_delay_seconds, faults, job_logs")
    parser.add_argument("--tls-cert", default=None, help="server certificate (PEM); plain HTTP without it")
    parser.add_argument("--tls-key", default=None, help="server key (PEM)")
    parser.add_argument("--token-file", default=None, help="file holding the bearer token every API request must carry")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the emulator binds only to a loopback address")

    config = json.loads(Path(args.config).read_text(encoding="utf-8") or "{}") if args.config else {}
    token = Path(args.token_file).read_text(encoding="utf-8").strip() if args.token_file else None
    emulator = Emulator(state_path=args.state, config=config, token=token, host=args.host, port=args.port)
    server = Server((args.host, args.port), emulator, args.tls_cert, args.tls_key, verbose=args.verbose)

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    emulator.start()
    scheme = "https" if args.tls_cert else "http"
    print(f"kube emulator listening on {scheme}://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        emulator.stop()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

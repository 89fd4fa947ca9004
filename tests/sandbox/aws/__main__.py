"""`python -m tests.sandbox.aws --host H --port N`: moto's server, behind the gate that refuses unknown regions.

It runs as `moto_server` does (werkzeug, threaded, moto's request handler; the recorder is set up through the
environment, see aws.environment) and exits 0 on SIGTERM/SIGINT.
"""

import argparse
import os
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from tests.sandbox import common
from tests.sandbox.aws.regions import RegionGate


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.aws", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.host not in common.LOOPBACK:
        parser.error("moto binds only to a loopback address")
    # moto's recorder replays into the server it runs in: it finds it through MOTO_PORT.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    signal.signal(signal.SIGINT, lambda _signum, _frame: sys.exit(0))
    print(f"aws (moto) listening on http://{args.host}:{args.port}", flush=True)
    run_simple(args.host, args.port, RegionGate(DomainDispatcherApplication(create_backend_app)), threaded=True,
               request_handler=MotoRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())

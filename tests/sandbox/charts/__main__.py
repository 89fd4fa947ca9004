"""`python -m tests.sandbox.charts`: run the chart repository and OCI registry emulator in the foreground."""

import json
import sys
from pathlib import Path

from tests.sandbox import common
from tests.sandbox.charts.server import DEFAULT_CONFIG, Emulator, Server
from tests.sandbox.charts.store import Store


def main(argv=None):
    parser = common.arguments("charts", __doc__, state_required=False)
    parser.add_argument("--tls-cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--tls-key", required=True, help="server key (PEM)")
    parser.add_argument("--credentials-file", required=True, help='JSON {"username": ..., "password": ...} of the one user')
    args = common.parse(parser, argv)
    credentials = json.loads(Path(args.credentials_file).read_text(encoding="utf-8"))
    config = common.merge(DEFAULT_CONFIG, args.settings)
    store = Store(args.state, config["charts"])
    emulator = Emulator(store, config, credentials["username"], credentials["password"])
    server = Server((args.host, args.port), emulator, args.tls_cert, args.tls_key, verbose=args.verbose)
    return common.serve_until_stopped(server, "charts", store.close)


if __name__ == "__main__":
    sys.exit(main())

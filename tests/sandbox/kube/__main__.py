"""`python -m tests.sandbox.kube`: run the Kubernetes API emulator in the foreground."""

import sys
from pathlib import Path

from tests.sandbox import common
from tests.sandbox.kube.server import Emulator, Server


def main(argv=None):
    parser = common.arguments("kube", __doc__, port=6443, state_required=False)
    parser.add_argument("--tls-cert", default=None, help="server certificate (PEM); plain HTTP without it")
    parser.add_argument("--tls-key", default=None, help="server key (PEM)")
    parser.add_argument("--token-file", default=None, help="file holding the bearer token every API request must carry")
    args = common.parse(parser, argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    token = Path(args.token_file).read_text(encoding="utf-8").strip() if args.token_file else None
    emulator = Emulator(state_path=args.state, config=args.settings, token=token, host=args.host, port=args.port)
    server = Server((args.host, args.port), emulator, args.tls_cert, args.tls_key, verbose=args.verbose)
    emulator.start()
    return common.serve_until_stopped(server, "kube", emulator.stop)


if __name__ == "__main__":
    sys.exit(main())

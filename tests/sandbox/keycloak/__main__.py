"""`python -m tests.sandbox.keycloak`: run the Keycloak 23 emulator in the foreground."""

import sys

from tests.sandbox import common
from tests.sandbox.keycloak.server import Emulator, Handler


def main(argv=None):
    args = common.parse(common.arguments("keycloak", __doc__), argv)
    emulator = Emulator(args.state, args.settings)
    emulator.store.save()
    emulator.store.start_saver()
    server = common.Server((args.host, args.port), Handler, emulator, verbose=args.verbose)
    return common.serve_until_stopped(server, "keycloak", emulator.close)


if __name__ == "__main__":
    sys.exit(main())

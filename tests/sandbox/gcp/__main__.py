"""`python -m tests.sandbox.gcp --host H --port N --state PATH [--config PATH] [--admin-key-out PATH]`."""

import sys

from tests.sandbox import common
from tests.sandbox.gcp import bootstrap
from tests.sandbox.gcp.server import Server
from tests.sandbox.gcp.store import Store


def main(argv=None):
    parser = common.arguments("gcp", __doc__)
    parser.add_argument("--admin-key-out", help="where to write the sandbox admin's service-account key file")
    args = common.parse(parser, argv)
    store = Store(args.state, args.settings)
    server = Server((args.host, args.port), store, verbose=args.verbose)
    document = bootstrap.ensure_admin(store, server.base_url + "/token")
    if args.admin_key_out:
        bootstrap.write_key_file(args.admin_key_out, document)
    store.save()
    store.start()
    return common.serve_until_stopped(server, "gcp", store.close)


if __name__ == "__main__":
    sys.exit(main())

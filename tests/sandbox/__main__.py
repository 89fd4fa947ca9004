"""`python -m tests.sandbox up|down|status`: start, stop or inspect the cloud-free sandbox."""

import argparse
import sys

from tests.sandbox import orchestrator


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox", description=__doc__)
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--dir", default=None,
                        help="where the sandbox keeps kubeconfig, endpoints, credentials, state and logs "
                             "(default: $SANDBOX_DIR or ./.sandbox)")
    parser.add_argument("--port-base", type=int, default=None,
                        help="first port of the block the services listen on (default 16000; kept in the sandbox dir)")
    parser.add_argument("--config", default=None,
                        help="JSON or YAML file with per-service settings merged over tests/sandbox/defaults.yml")
    args = parser.parse_args(argv)
    sandbox = orchestrator.Sandbox(orchestrator.sandbox_dir(args.dir))
    if args.action == "up":
        return sandbox.up(port_base=args.port_base, config_file=args.config)
    if args.action == "down":
        return sandbox.down()
    return sandbox.status()


if __name__ == "__main__":
    sys.exit(main())

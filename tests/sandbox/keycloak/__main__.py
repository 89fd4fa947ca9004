"""Entry point: `python -m tests.sandbox.keycloak`."""

import sys

from tests.sandbox.keycloak.server import main

if __name__ == "__main__":
    sys.exit(main())

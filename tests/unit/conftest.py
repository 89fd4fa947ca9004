"""Unit tests import the collection's source as ansible_collections.mlplatform.selfhosted.

A symlink to this checkout in a temporary directory on sys.path makes the import name resolve to the
working tree, so the tests need no built collection and test exactly what is checked out.
"""

import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    root = Path(tempfile.mkdtemp(prefix="mlplatform-collection-"))
    namespace = root / "ansible_collections" / "mlplatform"
    namespace.mkdir(parents=True)
    (namespace / "selfhosted").symlink_to(REPO, target_is_directory=True)
    sys.path.insert(0, str(root))

    def remove():
        sys.path.remove(str(root))
        shutil.rmtree(root)

    config.add_cleanup(remove)

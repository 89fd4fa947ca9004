"""Stand-in for the get-pip.py bootstrap script ansible-test downloads into ~/.ansible/test/cache.

ansible-test runs that script inside each fresh sanity virtual environment with pip's `install`
arguments. Its download host is not reachable from the machines this project runs on, so this
script does the same with the standard library's bundled pip: ensurepip, then `pip install` with
the arguments ansible-test passed (the packages then come from PyPI as usual).
"""

import ensurepip
import os
import runpy
import sys

# get-pip.py's own flags: leave setuptools and wheel out, which plain `pip install` does anyway.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

config_before = os.environ.get("PIP_CONFIG_FILE")
ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null and leaves it there; the install below must see the
# machine's pip configuration (its certificate bundle, its indexes) like any other pip run.
if config_before is None:
    os.environ.pop("PIP_CONFIG_FILE", None)
else:
    os.environ["PIP_CONFIG_FILE"] = config_before
sys.argv = ["pip", "install"] + [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
runpy.run_module("pip", run_name="__main__", alter_sys=True)

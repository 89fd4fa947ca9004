# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which Helm engine runs a release: the option ``engine`` and what the controller has."""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import cli, sdk
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import HelmEngineError


def select_engine(choice, settings, host, binary_path=None, charts=None):
    """engine=auto: a helm >= 3.8 binary (binary_path or PATH) when there is one, else the Go SDK.

    choice: auto, cli or sdk; settings: the ConnectionSettings; host: what the module runs on, with
    AnsibleModule's ``get_bin_path``, ``run_command`` and ``warn``; charts: the engine's source.ChartCache.
    """
    binary = binary_path or (host.get_bin_path("helm") if choice != "sdk" else None)
    if choice in ("auto", "cli") and binary:
        try:
            version = cli.helm_version(binary, host.run_command)
        except HelmEngineError as error:
            if choice == "cli":
                raise
            host.warn("ignoring %s: %s; using the Helm SDK" % (binary, error))
        else:
            if version >= cli.MIN_VERSION:
                return cli.CliEngine(binary, settings, host.run_command, charts)
            if choice == "cli":
                raise HelmEngineError("%s is Helm %s; engine=cli needs 3.8 or newer" % (binary, ".".join(map(str, version))))
    if choice == "cli":
        raise HelmEngineError("engine=cli: no helm binary at binary_path or on PATH")
    return sdk.SdkEngine(settings, charts)

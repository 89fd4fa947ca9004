# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""helm_release_checked's two halves for the common module runner: its clients, and ensure()."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.yaml import HAS_YAML

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import MissingDependency
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.core import connection_settings, kube_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import InvalidInput
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import ReleaseSpec, RepoAuth
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.runner import ReleaseOptions, ReleaseRunner
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.selection import select_engine
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.source import ChartCache
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.values import leaf_paths, load_values


class ReleaseClients:
    """The module's own KubeClient, whose requests the result counts, and the Helm engine."""

    def __init__(self, kube, engine):
        self.kube = kube
        self.engine = engine

    @property
    def request_count(self):
        return self.kube.request_count

    def close(self):
        self.engine.close()


def make_client(module):
    """The clients of the module's connection options, with the engine option ``engine`` selects."""
    settings = connection_settings(module.params)
    kube = kube_client(settings)
    if not HAS_YAML:  # PyYAML comes with ansible-core on the controller, not necessarily on the host the module runs on
        raise MissingDependency(missing_required_lib("PyYAML"))
    charts = ChartCache(module.params.get("chart_cache_dir"), attempts=module.params["transient_attempts"])
    return ReleaseClients(kube, select_engine(module.params["engine"], settings, module, module.params.get("binary_path"), charts))


def release_options(params):
    """The ReleaseOptions of the module's params (InvalidInput for a bad preflight range or attempt count)."""
    return ReleaseOptions(
        state=params["state"],
        atomic=params["atomic"],
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
        preflight=params.get("preflight") or {},
        validation_jobs=params.get("validation_jobs") or [],
        secret_paths=(params.get("values_secret_paths") or []) + leaf_paths(params.get("secret_values") or {}),
        transient_attempts=params["transient_attempts"],
        recover_pending=params["recover_pending"],
    )


def release_spec(params):
    """The ReleaseSpec of the module's params, values files read (InvalidInput for one that cannot be)."""
    values = load_values(params.get("values_files"), params.get("values"), params.get("secret_values"))
    auth = RepoAuth(params.get("chart_repo_username"), params.get("chart_repo_password"), params.get("chart_repo_ca_file"),
                    bool(params.get("chart_repo_insecure_skip_tls_verify")))
    return ReleaseSpec(params["name"], params["release_namespace"], params.get("chart_ref"), values,
                       chart_version=params.get("chart_version"), chart_repo_url=params.get("chart_repo_url"),
                       create_namespace=params["create_namespace"], timeout=params["wait_timeout"], repo_auth=auth)


def ensure(client, params, check_mode, diff_mode=False):
    """The release as the params describe it: the runner's result, with the engine that ran it."""
    if params["state"] == "present" and not params.get("chart_ref"):
        # required_if counts an option given as null as present; a release needs a chart all the same.
        raise InvalidInput("chart_ref is required when state is present")
    options = release_options(params)
    runner = ReleaseRunner(client.engine, client.kube, release_spec(params), options, check_mode=check_mode,
                           diff_mode=diff_mode)
    result = runner.run()
    result["engine"] = client.engine.name
    return result

# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Helm engine as Helm's Go SDK, through helm-python-sdk (no ``helm`` binary needed).

Pulls pass a chart repository's credentials to Helm's pull, and log in to an ``oci://`` registry with a
registry client of their own whose credentials file lives in a 0700 directory removed after the pull
(never the user's Helm registry config). A CA file reaches Helm through the options of libhelm_c's
``helm_pull`` and ``helm_registry_login`` (its ABI since 0.2.2), which helm_python's wrappers do not pass
on: for an ``oci://`` chart, Helm's SDK sets a registry's TLS only at a login, so a CA file or skipping
verification needs the registry's credentials with this engine.
"""

from __future__ import annotations

import json
import os
import traceback

from ansible.module_utils.common.yaml import yaml_dump

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import MissingDependency
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import InvalidInput
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    HelmEngine,
    ReleaseNotFound,
    engine_error,
    release_from_helm_json,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.source import (
    ChartCache,
    is_oci,
    oci_registry,
    private_directory,
)

try:
    import helm_python
    from helm_python import _native as native  # for the options the wrappers do not pass on (module docstring)
    HAS_HELM_SDK = True
    HELM_SDK_IMPORT_ERROR = None
    HELM_SDK_IMPORT_TRACEBACK = None
except ImportError as import_error:  # the library bundles a native Helm; not every controller has it
    HAS_HELM_SDK = False
    HELM_SDK_IMPORT_ERROR = import_error
    HELM_SDK_IMPORT_TRACEBACK = traceback.format_exc()


def _wrap(action, error):
    message = "helm %s failed: %s" % (action, error)
    if isinstance(error, helm_python.HelmNotFoundError):
        return ReleaseNotFound(message)
    return engine_error(message)


def _options(**options):
    """A libhelm_c options argument: JSON, unset options left out."""
    return json.dumps({key: value for key, value in options.items() if value is not None})


class SdkEngine(HelmEngine):
    name = "sdk"

    def __init__(self, connection, charts=None):
        """charts: the source.ChartCache, a default one when None."""
        if not HAS_HELM_SDK:
            raise MissingDependency("the helm-python-sdk library is required for engine=sdk: %s" % HELM_SDK_IMPORT_ERROR,
                                    traceback=HELM_SDK_IMPORT_TRACEBACK)
        super().__init__(charts or ChartCache())
        self.connection = connection
        self._configs = {}

    def _config(self, namespace):
        """One SDK configuration per namespace (its release storage lives there)."""
        if namespace not in self._configs:
            conn = self.connection
            options = {"namespace": namespace}
            if isinstance(conn.kubeconfig, dict):
                options["kubeconfig_content"] = yaml_dump(conn.kubeconfig)
            elif conn.kubeconfig:
                options["kubeconfig_path"] = conn.kubeconfig
            if conn.context:
                options["kube_context"] = conn.context
            if conn.host:
                options["kube_apiserver"] = conn.host
            if conn.api_key:
                options["kube_token"] = conn.api_key
            if conn.ca_cert:
                options["kube_ca_file"] = conn.ca_cert
            if not conn.validate_certs:
                options["kube_insecure_skip_tls_verify"] = True
            self._configs[namespace] = helm_python.Config(**options)
        return self._configs[namespace]

    def pull(self, spec, destination):
        auth = spec.repo_auth
        oci = is_oci(spec.chart_ref)
        if oci and not auth.username and (auth.ca_file or auth.insecure_skip_tls_verify):
            raise InvalidInput("engine=sdk sets an oci:// registry's TLS at its login: chart_repo_ca_file and "
                               "chart_repo_insecure_skip_tls_verify need chart_repo_username and chart_repo_password")
        options = {"dest_dir": destination, "version": spec.chart_version, "ca_file": auth.ca_file,
                   "insecure_skip_tls_verify": auth.insecure_skip_tls_verify or None}
        try:
            if not oci:
                native.call_string("helm_pull", native.HANDLE(0), spec.chart_ref,
                                   _options(repo_url=spec.chart_repo_url, username=auth.username, password=auth.password, **options))
            elif auth.username:
                self._pull_logged_in(spec, options)
            else:
                helm_python.pull(spec.chart_ref, destination=destination, version=spec.chart_version)
        except helm_python.HelmError as error:
            raise _wrap("pull", error)

    @staticmethod
    def _pull_logged_in(spec, options):
        """Log in to the chart's registry with a client of its own, then pull through that client."""
        auth = spec.repo_auth
        with private_directory("helm-registry-") as config_dir:
            with helm_python.RegistryClient(credentials_file=os.path.join(config_dir, "registry.json")) as client:
                handle = client._raw()
                native.call_status("helm_registry_login", handle, oci_registry(spec.chart_ref), auth.username, auth.password,
                                   _options(ca_file=auth.ca_file, insecure=auth.insecure_skip_tls_verify or None))
                native.call_string("helm_pull", handle, spec.chart_ref, _options(**options))

    def upgrade_install(self, spec, dry_run=False):
        chart = self.chart_path(spec)
        config = self._config(spec.namespace)
        common = {"namespace": spec.namespace, "timeout": spec.timeout, "dry_run": "server" if dry_run else None}
        try:
            exists = self._exists(config, spec.name)
            if exists:
                release = config.upgrade(chart, spec.name, spec.values or {}, **common)
            else:
                release = config.install(chart, spec.name, spec.values or {}, create_namespace=spec.create_namespace, **common)
        except helm_python.HelmError as error:
            raise _wrap("upgrade" if exists else "install", error)
        return release_from_helm_json(release)

    @staticmethod
    def _exists(config, name):
        try:
            config.history(name, max_revisions=1)
        except helm_python.HelmNotFoundError:
            return False
        except helm_python.HelmError as error:
            raise _wrap("history", error)
        return True

    def rollback(self, name, namespace, revision, wait, timeout):
        try:
            self._config(namespace).rollback(name, version=revision, timeout=timeout, wait="watcher" if wait else None)
        except helm_python.HelmError as error:
            raise _wrap("rollback", error)

    def uninstall(self, name, namespace, wait, timeout):
        try:
            self._config(namespace).uninstall(name, timeout=timeout, wait="watcher" if wait else None)
        except helm_python.HelmError as error:
            raise _wrap("uninstall", error)

    def close(self):
        """Close the SDK configurations (each holds a handle in Helm's Go library), and the charts pulled for the task."""
        for config in self._configs.values():
            config.close()
        self._configs.clear()
        super().close()

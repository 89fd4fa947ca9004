# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Helm engine as Helm's Go SDK, through helm-python-sdk (no ``helm`` binary needed)."""

from __future__ import annotations

import traceback

from ansible.module_utils.common.yaml import yaml_dump, yaml_load

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import MissingDependency
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    HelmEngine,
    ReleaseNotFound,
    engine_error,
    release_from_helm_json,
)

try:
    import helm_python
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


class SdkEngine(HelmEngine):
    name = "sdk"

    def __init__(self, connection):
        if not HAS_HELM_SDK:
            raise MissingDependency("the helm-python-sdk library is required for engine=sdk: %s" % HELM_SDK_IMPORT_ERROR,
                                    traceback=HELM_SDK_IMPORT_TRACEBACK)
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

    def chart_metadata(self, spec):
        try:
            text = helm_python.show(spec.chart_ref, output_format="chart", version=spec.chart_version,
                                    repo_url=spec.chart_repo_url)
        except helm_python.HelmError as error:
            raise _wrap("show chart", error)
        return yaml_load(text) or {}

    def upgrade_install(self, spec, dry_run=False):
        config = self._config(spec.namespace)
        common = {
            "namespace": spec.namespace,
            "timeout": spec.timeout,
            "dry_run": "server" if dry_run else None,
            "chart_version": spec.chart_version,
            "chart_repo_url": spec.chart_repo_url,
        }
        try:
            exists = self._exists(config, spec.name)
            if exists:
                release = config.upgrade(spec.chart_ref, spec.name, spec.values or {}, **common)
            else:
                release = config.install(spec.chart_ref, spec.name, spec.values or {},
                                         create_namespace=spec.create_namespace, **common)
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
        """Close the SDK configurations (each holds a handle in Helm's Go library)."""
        for config in self._configs.values():
            config.close()
        self._configs.clear()

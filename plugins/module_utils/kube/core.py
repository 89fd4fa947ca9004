# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Kubernetes modules: the connection options (doc fragment mlplatform.selfhosted.kube) and the client."""

from __future__ import annotations

import os

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import module as common_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import MissingDependency
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.client import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    KUBERNETES_IMPORT_TRACEBACK,
    ConnectionSettings,
    KubeClient,
)

# Names, aliases and environment variables as kubernetes.core's.
CONNECTION_ARGUMENT_SPEC = dict(
    kubeconfig=dict(type="raw", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
    context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
    host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=(env_fallback, ["K8S_AUTH_SSL_CA_CERT"])),
    validate_certs=dict(type="bool", default=True, aliases=["verify_ssl"], fallback=(env_fallback, ["K8S_AUTH_VERIFY_SSL"])),
)


def kube_module(argument_spec, **kwargs):
    """An AnsibleModule with the Kubernetes connection options added; every module supports check mode."""
    return common_module.build_module(CONNECTION_ARGUMENT_SPEC, argument_spec, **kwargs)


def connection_settings(params):
    """The connection options of a module's params; a kubeconfig path may start with ``~``."""
    kubeconfig = params.get("kubeconfig")
    if isinstance(kubeconfig, str):
        kubeconfig = os.path.expanduser(kubeconfig)
    return ConnectionSettings(kubeconfig=kubeconfig, context=params.get("context"), host=params.get("host"),
                              api_key=params.get("api_key"), ca_cert=params.get("ca_cert"),
                              validate_certs=params.get("validate_certs"))


def kube_client(settings):
    """A KubeClient for settings; MissingDependency when the kubernetes library is not installed."""
    if not HAS_KUBERNETES:
        raise MissingDependency("%s: %s" % (missing_required_lib("kubernetes"), KUBERNETES_IMPORT_ERROR),
                                traceback=KUBERNETES_IMPORT_TRACEBACK)
    return KubeClient(settings)

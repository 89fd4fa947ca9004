# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The connection options of doc fragment mlplatform.selfhosted.kube, as an argument spec."""

from __future__ import annotations

import os

from ansible.module_utils.basic import env_fallback

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.client import ConnectionSettings

CONNECTION_ARGS = {
    "kubeconfig": {"type": "raw", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "host": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_HOST"])},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_API_KEY"])},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"], "fallback": (env_fallback, ["K8S_AUTH_SSL_CA_CERT"])},
    "validate_certs": {"type": "bool", "default": True, "aliases": ["verify_ssl"],
                       "fallback": (env_fallback, ["K8S_AUTH_VERIFY_SSL"])},
}


def connection_settings(params):
    kubeconfig = params.get("kubeconfig")
    if isinstance(kubeconfig, str):
        kubeconfig = os.path.expanduser(kubeconfig)
    return ConnectionSettings(kubeconfig=kubeconfig, context=params.get("context"), host=params.get("host"),
                              api_key=params.get("api_key"), ca_cert=params.get("ca_cert"),
                              validate_certs=params.get("validate_certs"))

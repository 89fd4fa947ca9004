# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every module that talks to Kubernetes; names and environment variables
    # follow kubernetes.core so existing inventories and AWX credentials keep working.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig content as a dictionary.
      - When neither O(kubeconfig) nor O(host) is set, the default resolution applies
        (E(KUBECONFIG), then C(~/.kube/config)).
      - Can also be set with E(K8S_AUTH_KUBECONFIG).
    type: raw
  context:
    description:
      - The kubeconfig context to use; its current context when not set.
      - Can also be set with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the Kubernetes API server; overrides the kubeconfig's.
      - Can also be set with E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API server; overrides the kubeconfig's credentials.
      - Can also be set with E(K8S_AUTH_API_KEY).
    type: str
  ca_cert:
    description:
      - Path to the CA certificate that signed the API server's certificate.
      - Can also be set with E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description:
      - Verify the API server's TLS certificate.
      - Can also be set with E(K8S_AUTH_VERIFY_SSL).
    type: bool
    default: true
    aliases: [verify_ssl]
notes:
  - The connection options are the same as kubernetes.core's, and read the same environment variables.
"""

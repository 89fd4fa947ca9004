#!/usr/bin/python
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_oidc_role
short_description: An IAM role that Kubernetes service accounts assume through the cluster's OIDC issuer (IRSA)
version_added: 0.1.0
description:
  - Creates, updates or deletes an IAM role whose trust policy lets the given Kubernetes service accounts
    assume it with their projected token (C(sts:AssumeRoleWithWebIdentity)), and optionally lets other AWS
    principals assume it with an external ID (C(sts:AssumeRole)).
  - The OIDC issuer comes from an EKS cluster (O(cluster_name)), an issuer URL or an IAM OIDC provider ARN.
  - Manages the role's inline policies, attached managed policies, permissions boundary, description,
    maximum session duration and tags.
  - Policies are compared on meaning, not text (statement order, single values versus lists, principal forms,
    JSON versus YAML), so a role already in the declared state reports no change.
  - Throttled calls are retried with jittered backoff; any other AWS error fails with its code and message.
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
options:
  name:
    description: Name of the IAM role.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the role.
      - V(absent) detaches its managed policies, deletes its inline policies and deletes it. The OIDC provider is
        left alone (the cluster and other roles use it).
    type: str
    choices: [present, absent]
    default: present
  cluster_name:
    description:
      - EKS cluster whose OIDC issuer the role trusts; read with C(eks:DescribeCluster).
      - One of O(cluster_name), O(oidc_issuer_url) and O(oidc_provider_arn) is needed when O(state=present).
    type: str
  oidc_issuer_url:
    description: OIDC issuer URL the role trusts, such as V(https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE).
    type: str
  oidc_provider_arn:
    description: ARN of the IAM OIDC provider the role trusts.
    type: str
  create_oidc_provider:
    description:
      - Create the IAM OIDC provider for the issuer (audience C(sts.amazonaws.com)) when it does not exist.
      - When V(false) and the provider does not exist, the module warns.
    type: bool
    default: false
  oidc_thumbprints:
    description: Server certificate thumbprints for a provider this module creates; AWS does not need them for EKS.
    type: list
    elements: str
  service_accounts:
    description:
      - Service accounts allowed to assume the role; each becomes a C(sub) of C(system:serviceaccount:NAMESPACE:NAME),
        with C(aud) C(sts.amazonaws.com).
      - Matched with C(StringEquals); an entry with O(service_accounts[].wildcard=true) is matched with C(StringLike).
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: Namespace of the service account.
        type: str
        required: true
      name:
        description: Name of the service account.
        type: str
        required: true
      wildcard:
        description:
          - Match O(service_accounts[].namespace) and O(service_accounts[].name) as patterns (C(*), C(?)).
          - Without it, a C(*) or C(?) in them is an error rather than a silently broader trust.
        type: bool
        default: false
  trusted_principals:
    description:
      - AWS principals (account IDs or ARNs) allowed to assume the role with C(sts:AssumeRole), such as a vendor's
        control plane.
    type: list
    elements: str
    default: []
  external_id:
    description: External ID the O(trusted_principals) must present (condition C(sts:ExternalId)).
    type: str
  inline_policies:
    description:
      - Inline policies, name to policy document (a mapping, or a JSON or YAML string).
      - With O(purge_policies=true), inline policies not listed are deleted. Not set leaves them alone.
    type: dict
  managed_policy_arns:
    description:
      - Managed policies to attach.
      - With O(purge_policies=true), attached policies not listed are detached. Not set leaves them alone.
    type: list
    elements: str
  purge_policies:
    description: Make O(inline_policies) and O(managed_policy_arns) the exact sets, removing others.
    type: bool
    default: true
  permissions_boundary:
    description: ARN of the managed policy that bounds the role's permissions; V("") removes the boundary.
    type: str
  path:
    description: Path of the role. IAM cannot change the path of an existing role; the module fails instead.
    type: str
    default: /
  max_session_duration:
    description: Maximum session duration in seconds (3600 to 43200).
    type: int
  description:
    description: Description of the role.
    type: str
extends_documentation_fragment:
  - mlplatform.selfhosted.aws
  - mlplatform.selfhosted.attributes
  - mlplatform.selfhosted.tags
attributes:
  diff_mode:
    description: Shows the role's trust policy, policies and settings before and after, as JSON.
notes:
  - Throttled calls are retried up to 8 times with jittered exponential backoff.
seealso:
  - module: amazon.aws.iam_role
"""

EXAMPLES = r"""
- name: Role for the MLflow server's service account, on the EKS cluster's issuer
  mlplatform.selfhosted.iam_oidc_role:
    name: mlflow-artifacts
    cluster_name: ml-prod
    service_accounts:
      - namespace: mlflow
        name: mlflow
    inline_policies:
      artifacts:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [s3:GetObject, s3:PutObject, s3:DeleteObject]
            Resource: arn:aws:s3:::ml-prod-mlflow/*
          - Effect: Allow
            Action: s3:ListBucket
            Resource: arn:aws:s3:::ml-prod-mlflow
    tags:
      platform: mlflow
  register: mlflow_role

- name: Annotate the service account with the role
  kubernetes.core.k8s:
    kind: ServiceAccount
    namespace: mlflow
    name: mlflow
    definition:
      metadata:
        annotations: "{{ mlflow_role.service_account_annotations }}"

- name: Role for every service account of a namespace, plus a vendor's control plane with an external ID
  mlplatform.selfhosted.iam_oidc_role:
    name: jfrogml-data-plane
    oidc_issuer_url: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE
    create_oidc_provider: true
    service_accounts:
      - namespace: jfrogml
        name: "*"
        wildcard: true
    trusted_principals:
      - "111122223333"
    external_id: "{{ jfrogml_external_id }}"
    managed_policy_arns:
      - arn:aws:iam::aws:policy/AmazonAthenaFullAccess
    max_session_duration: 7200

- name: Delete the role
  mlplatform.selfhosted.iam_oidc_role:
    name: jfrogml-data-plane
    state: absent
"""

RETURN = r"""
arn:
  description: ARN of the role (predicted from the account and path in check mode when the role does not exist yet).
  returned: when the role exists or would be created
  type: str
  sample: arn:aws:iam::123456789012:role/mlflow-artifacts
role_name:
  description: Name of the role.
  returned: always
  type: str
  sample: mlflow-artifacts
role_id:
  description: Unique ID of the role.
  returned: when the role exists
  type: str
  sample: AROA1234567890EXAMPLE
trust_policy:
  description: The role's trust policy, normalised (statements sorted, values as lists).
  returned: when O(state=present)
  type: dict
  sample:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Action: [sts:AssumeRoleWithWebIdentity]
        Principal:
          Federated: [arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE]
        Condition:
          StringEquals:
            "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:aud": [sts.amazonaws.com]
            "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:sub": ["system:serviceaccount:mlflow:mlflow"]
inline_policies:
  description: The role's inline policies, name to normalised document.
  returned: when O(state=present)
  type: dict
attached_policies:
  description: ARNs of the managed policies attached to the role.
  returned: when O(state=present)
  type: list
  elements: str
tags:
  description: The role's tags.
  returned: when O(state=present)
  type: dict
oidc_provider_arn:
  description: ARN of the IAM OIDC provider the trust policy names.
  returned: when O(state=present)
  type: str
  sample: arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE
service_account_annotations:
  description: The annotation to put on the Kubernetes service accounts so that their pods assume the role.
  returned: when O(state=present)
  type: dict
  sample:
    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/mlflow-artifacts
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.core import TAGS_ARGUMENT_SPEC, aws_module, run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.oidc_role import ensure_oidc_role

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    cluster_name=dict(type="str"),
    oidc_issuer_url=dict(type="str"),
    oidc_provider_arn=dict(type="str"),
    create_oidc_provider=dict(type="bool", default=False),
    oidc_thumbprints=dict(type="list", elements="str"),
    service_accounts=dict(type="list", elements="dict", default=[], options=dict(
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        wildcard=dict(type="bool", default=False),
    )),
    trusted_principals=dict(type="list", elements="str", default=[]),
    external_id=dict(type="str"),
    inline_policies=dict(type="dict"),
    managed_policy_arns=dict(type="list", elements="str"),
    purge_policies=dict(type="bool", default=True),
    permissions_boundary=dict(type="str"),
    path=dict(type="str", default="/"),
    max_session_duration=dict(type="int"),
    description=dict(type="str"),
    **TAGS_ARGUMENT_SPEC,
)


def main():
    module = aws_module(
        ARGUMENT_SPEC,
        mutually_exclusive=[["cluster_name", "oidc_issuer_url", "oidc_provider_arn"]],
        required_if=[["state", "present", ["cluster_name", "oidc_issuer_url", "oidc_provider_arn"], True]],
    )
    run_module(module, ensure_oidc_role)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gcp_iam_binding
short_description: Members of roles in the IAM policy of a project, a service account or a bucket
version_added: 0.1.0
description:
  - Adds members to (or removes them from) roles in the IAM policy of a project (Resource Manager API v1), a
    service account (IAM API v1, for example Workload Identity's C(roles/iam.workloadIdentityUser)) or a Cloud
    Storage bucket (JSON API v1).
  - Additive, like C(gcloud ... add-iam-policy-binding) - other members and roles are left alone, and so are
    conditional bindings.
  - Reads the policy and writes it back with its etag; when another writer changed it in between, the whole
    read-modify-write is repeated (at most 3 times).
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
options:
  resource_type:
    description: What the policy belongs to.
    type: str
    choices: [project, service_account, bucket]
    default: project
  resource:
    description:
      - Project id, service-account email or bucket name.
      - Not set with O(resource_type=project) means O(project).
    type: str
  bindings:
    description: Roles and the members to add to (or remove from) each.
    type: list
    elements: dict
    required: true
    suboptions:
      role:
        description: Role name, for example V(roles/biglake.admin).
        type: str
        required: true
      members:
        description:
          - Principals, for example V(serviceAccount:jfrogml-sa@ml-prod.iam.gserviceaccount.com) or
            V(serviceAccount:ml-prod.svc.id.goog[mlflow/mlflow]).
        type: list
        elements: str
        required: true
  state:
    description: V(present) adds the members, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  api_endpoint:
    description:
      - Root URL of the API instead of Google's - Resource Manager's for a project, IAM's for a service account,
        Cloud Storage's JSON API (ending in C(/storage/v1/)) for a bucket.
    type: str
extends_documentation_fragment:
  - mlplatform.selfhosted.gcp
  - mlplatform.selfhosted.attributes
attributes:
  diff_mode:
    description: Shows the members of the declared roles before and after.
seealso:
  - module: google.cloud.gcp_resourcemanager_project
"""

EXAMPLES = r"""
- name: Project roles of the JFrog ML service account
  mlplatform.selfhosted.gcp_iam_binding:
    project: ml-prod
    bindings:
      - role: roles/biglake.admin
        members: [serviceAccount:jfrogml-sa@ml-prod.iam.gserviceaccount.com]
      - role: roles/bigquery.admin
        members: [serviceAccount:jfrogml-sa@ml-prod.iam.gserviceaccount.com]

- name: Let the Kubernetes service account mlflow/mlflow act as the Google service account (Workload Identity)
  mlplatform.selfhosted.gcp_iam_binding:
    resource_type: service_account
    resource: mlflow-artifacts@ml-prod.iam.gserviceaccount.com
    bindings:
      - role: roles/iam.workloadIdentityUser
        members: ["serviceAccount:ml-prod.svc.id.goog[mlflow/mlflow]"]

- name: Object access on the MLflow bucket
  mlplatform.selfhosted.gcp_iam_binding:
    resource_type: bucket
    resource: ml-prod-mlflow
    bindings:
      - role: roles/storage.objectAdmin
        members: [serviceAccount:mlflow-artifacts@ml-prod.iam.gserviceaccount.com]
"""

RETURN = r"""
resource:
  description: The project, service account or bucket whose policy was read.
  returned: always
  type: str
bindings:
  description: Each declared role to its members after the run (predicted in check mode), sorted.
  returned: always
  type: dict
  sample:
    roles/biglake.admin:
      - serviceAccount:jfrogml-sa@ml-prod.iam.gserviceaccount.com
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.core import gcp_module, run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.iam import (
    IAM_ENDPOINT,
    RESOURCE_MANAGER_ENDPOINT,
    STORAGE_ENDPOINT,
    ensure_iam_binding,
)

ARGUMENT_SPEC = dict(
    resource_type=dict(type="str", choices=["project", "service_account", "bucket"], default="project"),
    resource=dict(type="str"),
    bindings=dict(type="list", elements="dict", required=True, options=dict(
        role=dict(type="str", required=True),
        members=dict(type="list", elements="str", required=True),
    )),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)
ENDPOINTS = {"project": RESOURCE_MANAGER_ENDPOINT, "service_account": IAM_ENDPOINT, "bucket": STORAGE_ENDPOINT}


def main():
    module = gcp_module(ARGUMENT_SPEC)
    resource_type = module.params["resource_type"]
    run_module(module, ensure_iam_binding, ENDPOINTS[resource_type], needs_project=resource_type == "project"
               and not module.params["resource"])


if __name__ == "__main__":
    main()

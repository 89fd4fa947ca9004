#!/usr/bin/python
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: athena_workgroup
short_description: An Amazon Athena workgroup with its query result location and encryption
version_added: 0.1.0
description:
  - Creates, updates or deletes an Athena workgroup. Neither amazon.aws nor community.aws has a module for
    Athena workgroups.
  - Options left unset keep the workgroup's current value (or Athena's default on creation).
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
options:
  name:
    description: Name of the workgroup.
    type: str
    required: true
  state:
    description: V(present) creates or updates the workgroup, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Description of the workgroup.
    type: str
  output_location:
    description: S3 location for query results, such as V(s3://my-bucket/athena/).
    type: str
  encryption_option:
    description: How query results are encrypted.
    type: str
    choices: [SSE_S3, SSE_KMS, CSE_KMS]
  kms_key:
    description: KMS key ARN or ID for V(SSE_KMS) and V(CSE_KMS).
    type: str
  enforce_workgroup_configuration:
    description: Whether the workgroup's settings override the settings of each query.
    type: bool
  publish_cloudwatch_metrics_enabled:
    description: Whether the workgroup publishes query metrics to CloudWatch.
    type: bool
  recursive_delete:
    description: With O(state=absent), delete the workgroup's named queries and prepared statements too.
    type: bool
    default: false
extends_documentation_fragment:
  - mlplatform.selfhosted.aws
  - mlplatform.selfhosted.attributes
  - mlplatform.selfhosted.tags
attributes:
  diff_mode:
    description: Shows the workgroup's settings and tags before and after.
"""

EXAMPLES = r"""
- name: Workgroup whose query results land, encrypted, in the platform's bucket
  mlplatform.selfhosted.athena_workgroup:
    name: jfrogml
    output_location: s3://ml-prod-jfrogml/athena-results/
    encryption_option: SSE_S3
    enforce_workgroup_configuration: true
    tags:
      platform: jfrogml

- name: Delete the workgroup and its saved queries
  mlplatform.selfhosted.athena_workgroup:
    name: jfrogml
    state: absent
    recursive_delete: true
"""

RETURN = r"""
name:
  description: Name of the workgroup.
  returned: always
  type: str
  sample: jfrogml
arn:
  description: ARN of the workgroup.
  returned: when O(state=present)
  type: str
  sample: arn:aws:athena:us-east-1:123456789012:workgroup/jfrogml
workgroup:
  description: The workgroup's settings and tags after the task.
  returned: when O(state=present)
  type: dict
  sample:
    description: ""
    output_location: s3://ml-prod-jfrogml/athena-results/
    encryption_option: SSE_S3
    kms_key: ""
    enforce_workgroup_configuration: true
    publish_cloudwatch_metrics_enabled: false
    tags:
      platform: jfrogml
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.athena import ensure_workgroup
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.core import TAGS_ARGUMENT_SPEC, aws_module, run_module

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    description=dict(type="str"),
    output_location=dict(type="str"),
    encryption_option=dict(type="str", choices=["SSE_S3", "SSE_KMS", "CSE_KMS"]),
    kms_key=dict(type="str", no_log=False),
    enforce_workgroup_configuration=dict(type="bool"),
    publish_cloudwatch_metrics_enabled=dict(type="bool"),
    recursive_delete=dict(type="bool", default=False),
    **TAGS_ARGUMENT_SPEC,
)


def main():
    module = aws_module(ARGUMENT_SPEC, required_if=[["encryption_option", "SSE_KMS", ["kms_key"]],
                                                    ["encryption_option", "CSE_KMS", ["kms_key"]]])
    run_module(module, ensure_workgroup)


if __name__ == "__main__":
    main()

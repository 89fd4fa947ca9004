#!/usr/bin/python
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gcp_service
short_description: Enable or disable Google Cloud APIs in a project
version_added: 0.1.0
description:
  - Enables or disables services (APIs) such as V(biglake.googleapis.com) in a project through the Service Usage
    API v1, in batches of 20, and waits for the operations to finish.
  - Only the services whose state differs are changed, so a second run reports no change.
  - Unlike C(google.cloud.gcp_serviceusage_service), it takes a list and honours O(api_endpoint).
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
options:
  services:
    description: Service names, for example V(biglake.googleapis.com).
    type: list
    elements: str
    required: true
  state:
    description: V(present) enables the services, V(absent) disables them.
    type: str
    choices: [present, absent]
    default: present
  disable_dependent_services:
    description: With O(state=absent), also disable the services that depend on these; without it Google refuses.
    type: bool
    default: false
extends_documentation_fragment:
  - mlplatform.selfhosted.gcp
  - mlplatform.selfhosted.attributes
attributes:
  check_mode:
    description: Reports which services would change and changes none.
  diff_mode:
    description: Shows each service's state (ENABLED, DISABLED) before and after.
seealso:
  - module: google.cloud.gcp_serviceusage_service
"""

EXAMPLES = r"""
- name: Enable what JFrog ML needs
  mlplatform.selfhosted.gcp_service:
    project: ml-prod
    services:
      - biglake.googleapis.com
      - bigquery.googleapis.com
"""

RETURN = r"""
services:
  description: Service name to its state after the run (predicted in check mode).
  returned: always
  type: dict
  sample:
    biglake.googleapis.com: ENABLED
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.core import gcp_module, run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.serviceusage import DEFAULT_ENDPOINT, ensure_services

ARGUMENT_SPEC = dict(
    services=dict(type="list", elements="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    disable_dependent_services=dict(type="bool", default=False),
)


def main():
    run_module(gcp_module(ARGUMENT_SPEC), ensure_services, DEFAULT_ENDPOINT)


if __name__ == "__main__":
    main()

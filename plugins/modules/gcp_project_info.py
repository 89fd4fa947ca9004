#!/usr/bin/python
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gcp_project_info
short_description: Read a Google Cloud project, to check it before anything is written to it
version_added: 0.1.0
description:
  - Reads a project through the Resource Manager API v1 (C(projects.get)) and returns its id, number, name,
    lifecycle state and labels.
  - Google answers C(PERMISSION_DENIED) both for a project that does not exist and for one the credentials may not
    read; the module's error says so and names the project id it was given, so a playbook can check its project
    before its first write.
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
options: {}
extends_documentation_fragment:
  - mlplatform.selfhosted.gcp
  - mlplatform.selfhosted.attributes
attributes:
  check_mode:
    description: A read; it runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so it has no diff.
seealso:
  - module: mlplatform.selfhosted.gcp_service
"""

EXAMPLES = r"""
- name: Check the project before any write
  mlplatform.selfhosted.gcp_project_info:
    project: ml-prod
  register: ml_prod

- name: Stop unless the project is active
  ansible.builtin.assert:
    that: ml_prod.project.lifecycle_state == 'ACTIVE'
"""

RETURN = r"""
project:
  description: The project as Resource Manager shows it.
  returned: success
  type: dict
  contains:
    project_id:
      description: The project id.
      type: str
      sample: ml-prod
    project_number:
      description: The project number, as a string.
      type: str
      sample: "123456789012"
    name:
      description: The project's display name.
      type: str
      sample: ML production
    lifecycle_state:
      description: V(ACTIVE), V(DELETE_REQUESTED) or V(DELETE_IN_PROGRESS).
      type: str
      sample: ACTIVE
    labels:
      description: The project's labels.
      type: dict
      sample: {}
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.core import gcp_module, run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.project import DEFAULT_ENDPOINT, project_info

ARGUMENT_SPEC = {}


def main():
    run_module(gcp_module(ARGUMENT_SPEC), project_info, DEFAULT_ENDPOINT)


if __name__ == "__main__":
    main()

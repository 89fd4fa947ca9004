#!/usr/bin/python
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gcp_service_account
short_description: A Google Cloud service account
version_added: 0.1.0
description:
  - Creates, updates (display name, description) or deletes a service account
    C(NAME@PROJECT.iam.gserviceaccount.com) through the IAM API v1.
  - Unlike C(google.cloud.gcp_iam_service_account), it honours O(api_endpoint).
  - Its keys are managed by M(mlplatform.selfhosted.gcp_service_account_key), its roles by
    M(mlplatform.selfhosted.gcp_iam_binding).
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
options:
  name:
    description: Account id, the part of the email before C(@) (6 to 30 characters), for example V(jfrogml-sa).
    type: str
    required: true
  display_name:
    description: Display name. Not set keeps the current one.
    type: str
  description:
    description: Description. Not set keeps the current one.
    type: str
  state:
    description: V(present) creates or updates the account, V(absent) deletes it (and so its keys).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - mlplatform.selfhosted.gcp
  - mlplatform.selfhosted.attributes
attributes:
  diff_mode:
    description: Shows the account's email, display name and description before and after.
seealso:
  - module: google.cloud.gcp_iam_service_account
"""

EXAMPLES = r"""
- name: The JFrog ML service account
  mlplatform.selfhosted.gcp_service_account:
    project: ml-prod
    name: jfrogml-sa
    display_name: JFrog ML
  register: jfrogml_sa
"""

RETURN = r"""
email:
  description: Email of the account.
  returned: always
  type: str
  sample: jfrogml-sa@ml-prod.iam.gserviceaccount.com
member:
  description: The account as an IAM principal.
  returned: when O(state=present)
  type: str
  sample: serviceAccount:jfrogml-sa@ml-prod.iam.gserviceaccount.com
service_account:
  description: The account resource as the API returns it (in check mode, for an account that would be created, its name).
  returned: always
  type: dict
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.core import gcp_module, run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.iam import IAM_ENDPOINT, ensure_service_account

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    display_name=dict(type="str"),
    description=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


def main():
    run_module(gcp_module(ARGUMENT_SPEC), ensure_service_account, IAM_ENDPOINT)


if __name__ == "__main__":
    main()

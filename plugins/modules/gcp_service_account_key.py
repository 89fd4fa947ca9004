#!/usr/bin/python
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gcp_service_account_key
short_description: A key of a Google Cloud service account, created only when the one you hold is gone
version_added: 0.1.0
description:
  - Google returns a key's private part only when it creates the key. So this module takes the id of the key you
    already hold (O(key_id), for example read from where you stored the key file) and creates a new key only when
    that key no longer exists, is disabled, or none is given. A second run with the returned key's id reports no
    change.
  - The new key file is returned once, in RV(private_key_data) and RV(key_file); store it (for example as a
    Kubernetes secret) in a task with C(no_log). It never appears in the diff.
  - Unlike C(google.cloud.gcp_iam_service_account_key), it writes no file, honours O(api_endpoint) and is idempotent.
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
options:
  service_account:
    description: Email of the service account.
    type: str
    required: true
  key_id:
    description:
      - Id of the key you hold (the C(private_key_id) of its key file).
      - With O(state=present), a new key is created unless this key exists and is enabled.
      - With O(state=absent), only this key is deleted; not set deletes every user-managed key of the account.
    type: str
  state:
    description: V(present) makes sure a usable key is held, V(absent) deletes keys.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - mlplatform.selfhosted.gcp
  - mlplatform.selfhosted.attributes
attributes:
  check_mode:
    description: Reports whether a key would be created or deleted and writes nothing.
  diff_mode:
    description: Shows the ids of the account's user-managed keys before and after; never key material.
seealso:
  - module: mlplatform.selfhosted.gcp_service_account
  - module: google.cloud.gcp_iam_service_account_key
"""

EXAMPLES = r"""
- name: A key for jfrogml-sa, unless the one stored in the cluster is still valid
  mlplatform.selfhosted.gcp_service_account_key:
    service_account: jfrogml-sa@ml-prod.iam.gserviceaccount.com
    key_id: "{{ stored_key_id | default(omit) }}"
  register: jfrogml_key
  no_log: true

- name: Delete every user-managed key of the account
  mlplatform.selfhosted.gcp_service_account_key:
    service_account: jfrogml-sa@ml-prod.iam.gserviceaccount.com
    state: absent
"""

RETURN = r"""
key_id:
  description: Id of the usable key (the one given, or the one created).
  returned: when O(state=present), except in check mode when a key would be created
  type: str
  sample: 1a2b3c4d5e6f
key_ids:
  description: Ids of the account's enabled user-managed keys after the run.
  returned: always
  type: list
  elements: str
private_key_data:
  description: The new key file, base64-encoded JSON, as Google returns it. Secret.
  returned: when a key was created
  type: str
key_file:
  description: The new key file as a mapping (type, project_id, private_key_id, private_key, client_email...). Secret.
  returned: when a key was created
  type: dict
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.core import gcp_module, run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.iam import IAM_ENDPOINT, ensure_service_account_key

ARGUMENT_SPEC = dict(
    service_account=dict(type="str", required=True),
    key_id=dict(type="str", no_log=False),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


def main():
    run_module(gcp_module(ARGUMENT_SPEC), ensure_service_account_key, IAM_ENDPOINT, needs_project=False)


if __name__ == "__main__":
    main()

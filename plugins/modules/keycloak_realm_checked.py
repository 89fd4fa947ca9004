#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: keycloak_realm_checked
short_description: A Keycloak realm's existence, display name and enabled flag, written only where they differ
version_added: 0.1.0
description:
  - Creates the realm O(realm) when it is missing, then compares its display name and enabled flag with the
    options and writes only the settings that differ, in one partial update that leaves every other setting as it
    is. A realm that is already as declared is only read, so a converged run makes no write request.
  - With O(state=absent), removes the realm and everything in it.
  - The input and the credentials are checked before the first write, so such errors change nothing; a failure
    during the writes reports what was already done in RV(ignore:changes_made).
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
extends_documentation_fragment:
  - mlplatform.selfhosted.keycloak
  - mlplatform.selfhosted.attributes
attributes:
  check_mode:
    description: Reads only and reports what would change.
  diff_mode:
    description: Before and after of the realm's name, display name and enabled flag.
  platform:
    description: Runs wherever Keycloak is reachable, usually the controller.
options:
  realm:
    description:
      - Name of the realm, as in its URLs (C(/realms/<realm>)); 1 to 255 characters without C(/), a backslash or
        surrounding spaces.
    type: str
    required: true
  display_name:
    description: The realm's display name; left alone when not set.
    type: str
  enabled:
    description: Whether users can log in to the realm.
    type: bool
    default: true
  state:
    description:
      - V(absent) removes the realm with its clients, groups and users. The C(master) realm cannot be removed.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Owns only the settings it has options for; the realm's other settings, set by hand or by other tools, are
    never written.
seealso:
  - module: community.general.keycloak_realm
  - module: mlplatform.selfhosted.mlflow_oidc_client
"""

EXAMPLES = r"""
- name: Realm for MLflow single sign-on
  mlplatform.selfhosted.keycloak_realm_checked:
    auth_keycloak_url: https://sso.example.com/auth
    auth_username: admin
    auth_password: "{{ vault_keycloak_admin_password }}"
    realm: mlplatform
    display_name: ML platform

- name: Close the realm to logins, keeping it
  mlplatform.selfhosted.keycloak_realm_checked:
    auth_keycloak_url: https://sso.example.com/auth
    auth_username: admin
    auth_password: "{{ vault_keycloak_admin_password }}"
    realm: mlplatform
    enabled: false

- name: Remove the realm
  mlplatform.selfhosted.keycloak_realm_checked:
    auth_keycloak_url: https://sso.example.com/auth
    auth_username: admin
    auth_password: "{{ vault_keycloak_admin_password }}"
    realm: mlplatform
    state: absent
"""

RETURN = r"""
realm:
  description: The realm's name.
  returned: always
  type: str
  sample: mlplatform
id:
  description: The realm's id in Keycloak; null in check mode before the realm exists.
  returned: when O(state=present)
  type: str
  sample: 0f6a3b52-2d0c-4f55-9a43-6a1f8e3c9b10
display_name:
  description: The realm's display name (null when it has none).
  returned: when O(state=present)
  type: str
  sample: ML platform
enabled:
  description: Whether the realm is enabled.
  returned: when O(state=present)
  type: bool
  sample: true
changes_made:
  description: What was written before a failure.
  returned: on failure
  type: list
  elements: str
api_requests:
  description: Requests made to Keycloak (token requests included).
  returned: always
  type: int
  sample: 2
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.core import keycloak_module, run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.realm import ensure_realm

ARGUMENT_SPEC = dict(
    realm=dict(type="str", required=True),
    display_name=dict(type="str"),
    enabled=dict(type="bool", default=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


def main():
    run_module(keycloak_module(ARGUMENT_SPEC), ensure_realm)


if __name__ == "__main__":
    main()

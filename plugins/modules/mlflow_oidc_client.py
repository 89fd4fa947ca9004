#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mlflow_oidc_client
short_description: Keycloak client, groups scope and groups for MLflow single sign-on (mlflow-oidc-auth)
version_added: 0.1.0
description:
  - Ensures in a Keycloak realm what MLflow's mlflow-oidc-auth plugin needs, as one idempotent task.
  - A confidential OpenID Connect client with the standard flow, redirect URI O(mlflow_url) + C(/callback)
    (plus O(extra_redirect_uris)) and web origins.
  - A client scope O(groups_scope) with a group-membership mapper (claim O(groups_claim), C(full.path) off, in the
    ID token, access token and userinfo), assigned to the client as a default scope with C(profile) and C(email)
    (C(openid) is implicit in Keycloak).
  - The groups O(admin_group) (full access in MLflow) and O(users_group) (basic access), and the user memberships
    of O(memberships).
  - Returns the client secret and C(mlflow_env), the environment mlflow-oidc-auth reads.
  - The realm, the credentials and every user named are checked before the first write, so such errors change
    nothing; a failure during the writes reports what was already done in RV(ignore:changes_made).
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
extends_documentation_fragment:
  - mlplatform.selfhosted.keycloak
  - mlplatform.selfhosted.attributes
attributes:
  check_mode:
    description: Reads only and reports what would change.
  diff_mode:
    description: Before and after of the client, the scope, the groups and the memberships; the secret is masked.
  platform:
    description: Runs wherever Keycloak is reachable, usually the controller.
options:
  realm:
    description: Realm of the client. It must exist.
    type: str
    required: true
  client_id:
    description: The client's C(clientId).
    type: str
    default: mlflow
  client_name:
    description: The client's display name; left alone when not set.
    type: str
  description:
    description: The client's description; left alone when not set.
    type: str
  mlflow_url:
    description:
      - External URL of MLflow, such as V(https://mlflow.example.com). The redirect URI is this plus C(/callback).
      - Required when O(state=present).
    type: str
  extra_redirect_uris:
    description: More valid redirect URIs (a trailing C(*) is a wildcard, as in Keycloak).
    type: list
    elements: str
    default: []
  web_origins:
    description: Allowed CORS origins; the origin of O(mlflow_url) when not set.
    type: list
    elements: str
  direct_access_grants:
    description: Allow the password grant on the client (Keycloak's "Direct access grants").
    type: bool
    default: false
  groups_scope:
    description: Name of the client scope that carries the group claim.
    type: str
    default: groups
  groups_claim:
    description: Name of the claim (and of its mapper) that lists the user's groups.
    type: str
    default: groups
  admin_group:
    description: Group whose members are MLflow administrators.
    type: str
    default: mlflow-admins
  users_group:
    description: Group whose members may use MLflow.
    type: str
    default: mlflow-users
  memberships:
    description:
      - Users to put into groups. Memberships are only added, never removed.
      - Each user must exist; each group must be O(admin_group), O(users_group) or an existing group.
    type: list
    elements: dict
    default: []
    suboptions:
      username:
        description: The user's username.
        type: str
        required: true
      groups:
        description: Names of the groups the user must be in.
        type: list
        elements: str
        required: true
  regenerate_secret:
    description: Rotate the client secret (reported as a change). Otherwise the secret is kept.
    type: bool
    default: false
  issuer_base_url:
    description:
      - Keycloak's URL as browsers and MLflow reach it, with its relative path; the issuer and discovery URL are
        built from it. O(auth_keycloak_url) when not set.
    type: str
  state:
    description:
      - V(absent) removes the client; the groups stay unless O(remove_groups), the client scope stays.
    type: str
    choices: [present, absent]
    default: present
  remove_groups:
    description: With O(state=absent), also remove O(admin_group) and O(users_group).
    type: bool
    default: false
notes:
  - RV(client_secret) and RV(mlflow_env) hold the client secret. A module cannot hide part of its result from
    Ansible's output (C(-v) prints results), so run the task with C(no_log) when you register the result;
    the secret is never part of the diff, a message or the module's invocation.
seealso:
  - module: community.general.keycloak_client
  - name: mlflow-oidc-auth
    description: The MLflow plugin the client is for.
    link: https://github.com/mlflow-oidc/mlflow-oidc-auth
"""

EXAMPLES = r"""
- name: Keycloak client for MLflow single sign-on
  mlplatform.selfhosted.mlflow_oidc_client:
    auth_keycloak_url: https://sso.example.com/auth
    auth_username: admin
    auth_password: "{{ vault_keycloak_admin_password }}"
    realm: mlplatform
    mlflow_url: https://mlflow.example.com
    memberships:
      - username: alice
        groups: [mlflow-admins]
  register: mlflow_sso
  no_log: true

- name: Hand the environment to the MLflow role
  ansible.builtin.set_fact:
    mlflow_oidc_env: "{{ mlflow_sso.mlflow_env }}"
  no_log: true

- name: Rotate the client secret
  mlplatform.selfhosted.mlflow_oidc_client:
    auth_keycloak_url: https://sso.example.com/auth
    auth_username: admin
    auth_password: "{{ vault_keycloak_admin_password }}"
    realm: mlplatform
    mlflow_url: https://mlflow.example.com
    regenerate_secret: true
  no_log: true

- name: Remove the client and its groups
  mlplatform.selfhosted.mlflow_oidc_client:
    auth_keycloak_url: https://sso.example.com/auth
    auth_username: admin
    auth_password: "{{ vault_keycloak_admin_password }}"
    realm: mlplatform
    state: absent
    remove_groups: true
"""

RETURN = r"""
client_id:
  description: The client's C(clientId).
  returned: always
  type: str
  sample: mlflow
id:
  description: The client's UUID in Keycloak; null in check mode before the client exists.
  returned: when O(state=present)
  type: str
  sample: 5d1b4c2e-7f0a-4a7e-9a55-1f0c1b2d3e4f
client_secret:
  description: The client secret; null in check mode before the client exists. Sensitive - run the task with C(no_log).
  returned: when O(state=present)
  type: str
issuer:
  description: The realm's issuer URL.
  returned: when O(state=present)
  type: str
  sample: https://sso.example.com/auth/realms/mlplatform
discovery_url:
  description: The realm's OpenID Connect discovery document.
  returned: when O(state=present)
  type: str
  sample: https://sso.example.com/auth/realms/mlplatform/.well-known/openid-configuration
redirect_uris:
  description: The client's redirect URIs.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [https://mlflow.example.com/callback]
groups:
  description: The admin and users group names.
  returned: when O(state=present)
  type: dict
  sample: {admin: mlflow-admins, users: mlflow-users}
mlflow_env:
  description:
    - The environment mlflow-oidc-auth reads, for the MLflow role. Holds the client secret - run the task with C(no_log).
  returned: when O(state=present)
  type: dict
  sample:
    OIDC_DISCOVERY_URL: https://sso.example.com/auth/realms/mlplatform/.well-known/openid-configuration
    OIDC_CLIENT_ID: mlflow
    OIDC_CLIENT_SECRET: "********"
    OIDC_REDIRECT_URI: https://mlflow.example.com/callback
    OIDC_SCOPE: openid,profile,email,groups
    OIDC_GROUPS_ATTRIBUTE: groups
    OIDC_ADMIN_GROUP_NAME: mlflow-admins
    OIDC_GROUP_NAME: mlflow-users
changes_made:
  description: What was written before a failure.
  returned: on failure
  type: list
  elements: str
api_requests:
  description: Requests made to Keycloak (token requests included).
  returned: always
  type: int
  sample: 9
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.core import keycloak_module, run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.mlflow_client import ensure_mlflow_client

ARGUMENT_SPEC = dict(
    realm=dict(type="str", required=True),
    client_id=dict(type="str", default="mlflow"),
    client_name=dict(type="str"),
    description=dict(type="str"),
    mlflow_url=dict(type="str"),
    extra_redirect_uris=dict(type="list", elements="str", default=[]),
    web_origins=dict(type="list", elements="str"),
    direct_access_grants=dict(type="bool", default=False),
    groups_scope=dict(type="str", default="groups"),
    groups_claim=dict(type="str", default="groups"),
    admin_group=dict(type="str", default="mlflow-admins"),
    users_group=dict(type="str", default="mlflow-users"),
    memberships=dict(type="list", elements="dict", default=[], options=dict(
        username=dict(type="str", required=True),
        groups=dict(type="list", elements="str", required=True),
    )),
    regenerate_secret=dict(type="bool", default=False, no_log=False),
    issuer_base_url=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    remove_groups=dict(type="bool", default=False),
)


def main():
    run_module(keycloak_module(ARGUMENT_SPEC, required_if=[("state", "present", ["mlflow_url"])]), ensure_mlflow_client)


if __name__ == "__main__":
    main()

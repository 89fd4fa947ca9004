# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Keycloak connection options and client, on the common module runner."""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import module as common_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.client import KeycloakClient

# Names, aliases and defaults as community.general's keycloak modules; see doc_fragments/keycloak.py.
CONNECTION_ARGUMENT_SPEC = dict(
    auth_keycloak_url=dict(type="str", required=True, aliases=["url"], no_log=False),
    auth_realm=dict(type="str", default="master"),
    auth_client_id=dict(type="str", default="admin-cli"),
    auth_client_secret=dict(type="str", no_log=True),
    auth_username=dict(type="str", aliases=["username"]),
    auth_password=dict(type="str", aliases=["password"], no_log=True),
    token=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=True),
    connection_timeout=dict(type="int", default=10),
    http_agent=dict(type="str", default="Ansible"),
)
CONNECTION_CONSTRAINTS = dict(
    required_one_of=[["token", "auth_username", "auth_client_secret"]],
    required_together=[["auth_username", "auth_password"]],
)


def keycloak_module(argument_spec, **kwargs):
    """An AnsibleModule with the Keycloak connection options added; every module supports check mode."""
    return common_module.build_module(CONNECTION_ARGUMENT_SPEC, argument_spec, CONNECTION_CONSTRAINTS, **kwargs)


def make_client(module):
    return KeycloakClient.from_module_params(module.params)


def run_module(module, ensure):
    """Exit with ensure(client, params, check_mode), or fail with Keycloak's message and what was done before."""
    common_module.run_module(module, make_client, ensure, count_requests=True)

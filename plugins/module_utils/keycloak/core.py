# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module wrapper: connection options, the client, typed errors to fail_json."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.client import KeycloakClient
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.keycloak.errors import KeycloakError

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


def keycloak_module(argument_spec, **kwargs):
    """An AnsibleModule with the Keycloak connection options added; every module supports check mode."""
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    kwargs["required_one_of"] = list(kwargs.get("required_one_of", [])) + [
        ["token", "auth_username", "auth_client_secret"]]
    kwargs["required_together"] = list(kwargs.get("required_together", [])) + [["auth_username", "auth_password"]]
    return AnsibleModule(argument_spec=spec, **kwargs)


def run_module(module, ensure):
    """Call ensure(client, params, check_mode) and exit with its result, or fail with Keycloak's message."""
    client = None
    try:
        client = KeycloakClient.from_module_params(module.params)
        result = ensure(client, module.params, module.check_mode)
    except KeycloakError as error:
        done = getattr(error, "done", [])
        message = str(error)
        if done:
            message += "; already done before the failure: " + ", ".join(done)
        module.fail_json(msg=message, error=error.as_dict(), changes_made=done, changed=bool(done),
                         api_requests=client.requests if client else 0)
    result["api_requests"] = client.requests
    module.exit_json(**result)

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module wrapper: connection options, the google-auth dependency check, typed errors to fail_json."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp import client as gcp_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.errors import GCPError, InvalidInput

# Names and environment fallbacks as google.cloud's where the idea is the same; see doc_fragments/gcp.py.
CONNECTION_ARGUMENT_SPEC = dict(
    project=dict(type="str", fallback=(env_fallback, ["GCP_PROJECT"])),
    auth_kind=dict(type="str", default="application", choices=["application", "serviceaccount", "accesstoken"],
                   fallback=(env_fallback, ["GCP_AUTH_KIND"])),
    service_account_file=dict(type="path", fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_FILE"])),
    service_account_contents=dict(type="jsonarg", no_log=True, fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_CONTENTS"])),
    access_token=dict(type="str", no_log=True, fallback=(env_fallback, ["GCP_ACCESS_TOKEN"])),
    impersonate_service_account=dict(type="str"),
    scopes=dict(type="list", elements="str", fallback=(env_fallback, ["GCP_SCOPES"])),
    api_endpoint=dict(type="str"),
    validate_certs=dict(type="bool", default=True),
)


def gcp_module(argument_spec, **kwargs):
    """An AnsibleModule with the GCP connection options added; every module supports check mode."""
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    kwargs["mutually_exclusive"] = list(kwargs.get("mutually_exclusive", [])) + [
        ["service_account_file", "service_account_contents"]]
    return AnsibleModule(argument_spec=spec, **kwargs)


def run_module(module, ensure, default_endpoint, needs_project=True):
    """Call ensure(client, project, params, check_mode) and exit with its result, or fail with Google's error."""
    if not gcp_client.HAS_GOOGLE_AUTH:
        module.fail_json(msg=missing_required_lib("google-auth and requests"),
                         exception=gcp_client.GOOGLE_AUTH_IMPORT_ERROR)
    try:
        client, project = gcp_client.GCPClient.from_module_params(module.params, default_endpoint)
        if needs_project and not project:
            raise InvalidInput("no project: set project (or GCP_PROJECT), or use credentials that name one")
        result = ensure(client, project, module.params, module.check_mode)
    except GCPError as error:
        module.fail_json(msg=str(error), error=error.as_dict())
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)

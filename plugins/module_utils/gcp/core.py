# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""GCP modules: the connection options, and the client the common module runner hands to ensure()."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import module as common_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import MissingDependency
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp import client as gcp_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.errors import InvalidInput

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
CONNECTION_CONSTRAINTS = {"mutually_exclusive": [["service_account_file", "service_account_contents"]]}


def gcp_module(argument_spec, **kwargs):
    """An AnsibleModule with the GCP connection options added; every module supports check mode."""
    return common_module.build_module(CONNECTION_ARGUMENT_SPEC, argument_spec, CONNECTION_CONSTRAINTS, **kwargs)


def run_module(module, ensure, default_endpoint, needs_project=True):
    """Exit with ensure(client, project, params, check_mode), or fail with Google's error.

    default_endpoint: the API's root unless api_endpoint points elsewhere; needs_project: fail before any
    call when neither the options nor the credentials name a project.
    """

    def make_client(module):
        if not gcp_client.HAS_GOOGLE_AUTH:
            raise MissingDependency(missing_required_lib("google-auth and requests"),
                                    traceback=gcp_client.GOOGLE_AUTH_IMPORT_ERROR)
        client = gcp_client.GCPClient.from_module_params(module.params, default_endpoint)
        if needs_project and not client.project:
            raise InvalidInput("no project: set project (or GCP_PROJECT), or use credentials that name one")
        return client

    common_module.run_module(module, make_client,
                             lambda client, params, check_mode: ensure(client, client.project, params, check_mode))

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS modules: the connection options, and the client the common module runner hands to ensure()."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws import client as aws_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import module as common_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import MissingDependency

# Names and aliases as amazon.aws's, documented in doc_fragments/aws.py.
CONNECTION_ARGUMENT_SPEC = dict(
    access_key=dict(type="str", aliases=["aws_access_key_id", "aws_access_key"], no_log=False),
    secret_key=dict(type="str", aliases=["aws_secret_access_key", "aws_secret_key"], no_log=True),
    session_token=dict(type="str", aliases=["aws_session_token"], no_log=True),
    profile=dict(type="str", aliases=["aws_profile"]),
    region=dict(type="str", aliases=["aws_region"]),
    endpoint_url=dict(type="str", aliases=["aws_endpoint_url"]),
    validate_certs=dict(type="bool", default=True),
)
# The tag options of doc_fragments/tags.py.
TAGS_ARGUMENT_SPEC = dict(
    tags=dict(type="dict"),
    purge_tags=dict(type="bool", default=True),
)
CONNECTION_CONSTRAINTS = {
    "mutually_exclusive": [["profile", "access_key"], ["profile", "secret_key"], ["profile", "session_token"]],
}


def aws_module(argument_spec, **kwargs):
    """An AnsibleModule with the AWS connection options added; every module supports check mode."""
    return common_module.build_module(CONNECTION_ARGUMENT_SPEC, argument_spec, CONNECTION_CONSTRAINTS, **kwargs)


def make_client(module):
    if not aws_client.HAS_BOTO3:
        raise MissingDependency(missing_required_lib("boto3 and botocore"), traceback=aws_client.BOTO3_IMPORT_ERROR)
    return aws_client.AWSClient.from_module_params(module.params)


def run_module(module, ensure):
    """Exit with ensure(client, params, check_mode), or fail with AWS's code and message."""
    common_module.run_module(module, make_client, ensure)

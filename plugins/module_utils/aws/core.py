# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module wrapper: connection options, the boto3 dependency check, typed errors to fail_json."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws import client as aws_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.errors import AWSError

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


def aws_module(argument_spec, **kwargs):
    """An AnsibleModule with the AWS connection options added; every module supports check mode."""
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    kwargs["mutually_exclusive"] = list(kwargs.get("mutually_exclusive", [])) + [
        ["profile", "access_key"], ["profile", "secret_key"], ["profile", "session_token"]]
    return AnsibleModule(argument_spec=spec, **kwargs)


def run_module(module, ensure):
    """Call ensure(client, params, check_mode) and exit with its result, or fail with AWS's code and message."""
    if not aws_client.HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3 and botocore"), exception=aws_client.BOTO3_IMPORT_ERROR)
    try:
        client = aws_client.AWSClient.from_module_params(module.params)
        result = ensure(client, module.params, module.check_mode)
    except AWSError as error:
        details = {"code": error.code, "message": error.message, "operation": error.operation}
        module.fail_json(msg=str(error), error=details)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)

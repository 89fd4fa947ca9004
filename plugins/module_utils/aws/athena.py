# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""An Athena workgroup kept in its declared state: compare → check mode → act, per attribute."""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.errors import AWSError, NotFound

SETTINGS = ("description", "output_location", "encryption_option", "kms_key", "enforce_workgroup_configuration",
            "publish_cloudwatch_metrics_enabled")


def workgroup_arn(client, name):
    return f"arn:{client.partition}:athena:{client.region}:{client.account_id}:workgroup/{name}"


def current_workgroup(client, name):
    """The workgroup's state in the shape of desired_workgroup; None when it does not exist."""
    try:
        workgroup = client.call("athena", "get_work_group", WorkGroup=name).get("WorkGroup")
    except AWSError as error:
        # Athena reports a missing workgroup as an invalid request.
        if isinstance(error, NotFound) or (error.code == "InvalidRequestException" and "not found" in error.message):
            return None
        raise
    if not workgroup:
        return None
    configuration = workgroup.get("Configuration", {})
    result = configuration.get("ResultConfiguration", {})
    encryption = result.get("EncryptionConfiguration", {})
    tags = client.call("athena", "list_tags_for_resource", ResourceARN=workgroup_arn(client, name)).get("Tags", [])
    return {
        "description": workgroup.get("Description", ""),
        "output_location": result.get("OutputLocation", ""),
        "encryption_option": encryption.get("EncryptionOption", ""),
        "kms_key": encryption.get("KmsKey", ""),
        "enforce_workgroup_configuration": configuration.get("EnforceWorkGroupConfiguration", True),
        "publish_cloudwatch_metrics_enabled": configuration.get("PublishCloudWatchMetricsEnabled", False),
        "tags": {tag["Key"]: tag["Value"] for tag in tags},
    }


def desired_workgroup(params, before):
    before = before or {"description": "", "output_location": "", "encryption_option": "", "kms_key": "",
                        "enforce_workgroup_configuration": True, "publish_cloudwatch_metrics_enabled": False,
                        "tags": {}}
    after = dict(before)
    for option in SETTINGS:
        if params.get(option) is not None:
            after[option] = params[option]
    if params.get("tags") is not None:
        tags = {key: str(value) for key, value in params["tags"].items()}
        after["tags"] = tags if params["purge_tags"] else dict(before["tags"], **tags)
    return after


def _result_configuration(state):
    configuration = {"OutputLocation": state["output_location"]}
    if state["encryption_option"]:
        encryption = {"EncryptionOption": state["encryption_option"]}
        if state["kms_key"]:
            encryption["KmsKey"] = state["kms_key"]
        configuration["EncryptionConfiguration"] = encryption
    return configuration


def update_settings(client, name, before, after, check_mode):
    if all(before[option] == after[option] for option in SETTINGS):
        return False
    if not check_mode:
        result_updates = {"OutputLocation": after["output_location"]}
        if after["encryption_option"]:
            result_updates["EncryptionConfiguration"] = _result_configuration(after)["EncryptionConfiguration"]
        else:
            result_updates["RemoveEncryptionConfiguration"] = True
        updates = {
            "EnforceWorkGroupConfiguration": after["enforce_workgroup_configuration"],
            "PublishCloudWatchMetricsEnabled": after["publish_cloudwatch_metrics_enabled"],
            "ResultConfigurationUpdates": result_updates,
        }
        client.call("athena", "update_work_group", WorkGroup=name, Description=after["description"],
                    ConfigurationUpdates=updates)
    return True


def update_tags(client, name, before, after, check_mode):
    to_set = {key: value for key, value in after["tags"].items() if before["tags"].get(key) != value}
    to_remove = sorted(set(before["tags"]) - set(after["tags"]))
    if check_mode:
        return bool(to_set or to_remove)
    arn = workgroup_arn(client, name)
    if to_set:
        client.call("athena", "tag_resource", ResourceARN=arn,
                    Tags=[{"Key": key, "Value": value} for key, value in to_set.items()])
    if to_remove:
        client.call("athena", "untag_resource", ResourceARN=arn, TagKeys=to_remove)
    return bool(to_set or to_remove)


def create_workgroup(client, name, after):
    request = {"Name": name, "Description": after["description"], "Configuration": {
        "ResultConfiguration": _result_configuration(after),
        "EnforceWorkGroupConfiguration": after["enforce_workgroup_configuration"],
        "PublishCloudWatchMetricsEnabled": after["publish_cloudwatch_metrics_enabled"],
    }}
    if after["tags"]:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in after["tags"].items()]
    client.call("athena", "create_work_group", **request)


def ensure_workgroup(client, params, check_mode):
    """Bring the workgroup to params['state']; returns the module result."""
    name = params["name"]
    before = current_workgroup(client, name)
    if params["state"] == "absent":
        changed = before is not None
        if changed and not check_mode:
            client.call("athena", "delete_work_group", WorkGroup=name,
                        RecursiveDeleteOption=params["recursive_delete"])
        return {"changed": changed, "name": name, "diff": {"before": before or {}, "after": {}}}
    after = desired_workgroup(params, before)
    if before is None:
        changed = True
        if not check_mode:
            create_workgroup(client, name, after)
    else:
        changed = False
        for update in (update_settings, update_tags):
            changed |= update(client, name, before, after, check_mode)
    return {"changed": changed, "name": name, "arn": workgroup_arn(client, name), "workgroup": after,
            "diff": {"before": before or {}, "after": after}}

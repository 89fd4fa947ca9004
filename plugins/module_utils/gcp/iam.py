# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Service accounts, their keys (IAM API v1) and IAM policy bindings on projects, service accounts and buckets.

Each attribute follows one pattern: compare the normalised current and desired values; equal → no
change; check mode → report the change; otherwise call the API; `changed |= ...`.
"""

from __future__ import annotations

import base64
import json
import re

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors as common_errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.retry import Retry
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.errors import Conflict, InvalidInput, NotFound

IAM_ENDPOINT = "https://iam.googleapis.com/"
RESOURCE_MANAGER_ENDPOINT = "https://cloudresourcemanager.googleapis.com/"
STORAGE_ENDPOINT = "https://storage.googleapis.com/storage/v1/"
ACCOUNT_ID = re.compile(r"^[a-z]([-a-z0-9]{4,28}[a-z0-9])$")
POLICY_ATTEMPTS = 3  # read-modify-write retries when another writer changed the policy in between
POLICY_BACKOFF_BASE = 0.1
POLICY_BACKOFF_CAP = 1.0


class PolicyChanged(Conflict, common_errors.Transient):
    """The policy's etag moved on between read and write; retried from a fresh read, a Conflict once retries run out."""


def account_email(account_id, project):
    return f"{account_id}@{project}.iam.gserviceaccount.com"


def account_path(project, email):
    return f"v1/projects/{project or '-'}/serviceAccounts/{email}"


# --- service accounts


def account_view(resource):
    return {"email": resource["email"], "display_name": resource.get("displayName", ""),
            "description": resource.get("description", "")}


def ensure_service_account(client, project, params, check_mode):
    """The module gcp_service_account's work."""
    account_id = params["name"]
    if not ACCOUNT_ID.match(account_id):
        raise InvalidInput(f"name '{account_id}' is not a valid account id: 6 to 30 lower-case letters, digits or "
                           "dashes, starting with a letter and not ending with a dash")
    email = account_email(account_id, project)
    path = account_path(project, email)
    current = client.get_or_none(path)
    before = account_view(current) if current else {}
    if params["state"] == "absent":
        changed = current is not None
        if changed and not check_mode:
            client.request("DELETE", path)
        return {"changed": changed, "email": email, "service_account": {}, "diff": {"before": before, "after": {}}}
    desired = dict(before or {"email": email, "display_name": "", "description": ""})
    for option in ("display_name", "description"):
        if params.get(option) is not None:
            desired[option] = params[option]
    fields = {"displayName": desired["display_name"], "description": desired["description"]}
    changed = desired != before
    resource = current
    if current is None:
        resource = {"email": email, "name": f"projects/{project}/serviceAccounts/{email}", "projectId": project}
        if not check_mode:
            resource = client.request("POST", f"v1/projects/{project}/serviceAccounts",
                                      body={"accountId": account_id,
                                            "serviceAccount": {key: value for key, value in fields.items() if value}})
    elif changed and not check_mode:
        resource = client.request("PATCH", path, body={"serviceAccount": fields, "updateMask": "displayName,description"})
    return {"changed": changed, "email": email, "member": f"serviceAccount:{email}",
            "service_account": resource, "diff": {"before": before, "after": desired}}


# --- keys


def key_id_of(resource):
    return resource["name"].rsplit("/", 1)[1]


def usable_key_ids(client, email):
    """Ids of the account's user-managed keys that are not disabled."""
    keys = client.get(f"{account_path(None, email)}/keys", params={"keyTypes": "USER_MANAGED"}).get("keys") or []
    return sorted(key_id_of(key) for key in keys if not key.get("disabled"))


def ensure_service_account_key(client, project, params, check_mode):
    """The module gcp_service_account_key's work. A new key's private data is returned once, never in the diff."""
    del project  # keys are addressed by the account's email
    email = params["service_account"]
    try:
        before = usable_key_ids(client, email)
    except NotFound:
        raise NotFound(f"service account {email} does not exist") from None
    key_id = params.get("key_id")
    if params["state"] == "absent":
        doomed = [key_id] if key_id in before else ([] if key_id else before)
        if not check_mode:
            for doomed_id in doomed:
                client.request("DELETE", f"{account_path(None, email)}/keys/{doomed_id}")
        after = [item for item in before if item not in doomed]
        diff = {"before": {"key_ids": before}, "after": {"key_ids": after}}
        return {"changed": bool(doomed), "key_ids": after, "diff": diff}
    if key_id and key_id in before:
        return {"changed": False, "key_id": key_id, "key_ids": before,
                "diff": {"before": {"key_ids": before}, "after": {"key_ids": before}}}
    result = {"changed": True}
    after = before + ["(new key)"]
    if not check_mode:
        created = client.request("POST", f"{account_path(None, email)}/keys",
                                 body={"privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE", "keyAlgorithm": "KEY_ALG_RSA_2048"})
        result["key_id"] = key_id_of(created)
        result["private_key_data"] = created["privateKeyData"]
        result["key_file"] = json.loads(base64.b64decode(created["privateKeyData"]))
        after = sorted(before + [result["key_id"]])
    result.update(key_ids=after, diff={"before": {"key_ids": before}, "after": {"key_ids": after}})
    return result


# --- IAM policy bindings


def policy_calls(resource_type, resource):
    """(read, write) for the policy of a project, a service account or a bucket: each takes the client."""
    if resource_type == "bucket":
        path = f"b/{resource}/iam"
        return (lambda client: client.get(path),
                lambda client, policy: client.request("PUT", path, body=policy))
    path = f"v1/projects/{resource}" if resource_type == "project" else account_path(None, resource)
    return (lambda client: client.request("POST", f"{path}:getIamPolicy", body={}),
            lambda client, policy: client.request("POST", f"{path}:setIamPolicy", body={"policy": policy}))


def members_by_role(policy, roles):
    """Role → sorted members of the policy's unconditional bindings, for the given roles."""
    view = {role: set() for role in roles}
    for binding in policy.get("bindings") or []:
        if binding.get("condition") or binding.get("role") not in view:
            continue
        view[binding["role"]].update(binding.get("members") or [])
    return {role: sorted(members) for role, members in sorted(view.items())}


def check_bindings(bindings):
    for binding in bindings:
        if not re.match(r"^(roles/|projects/[^/]+/roles/|organizations/[^/]+/roles/)", binding["role"]):
            raise InvalidInput(f"'{binding['role']}' is not a role name (roles/..., projects/P/roles/...)")
        for member in binding["members"]:
            if ":" not in member:
                raise InvalidInput(f"'{member}' is not a principal (user:, serviceAccount:, group:, domain:, ...)")


def desired_members(current, bindings, state):
    after = {role: set(members) for role, members in current.items()}
    for binding in bindings:
        if state == "present":
            after[binding["role"]] |= set(binding["members"])
        else:
            after[binding["role"]] -= set(binding["members"])
    return {role: sorted(members) for role, members in sorted(after.items())}


def apply_members(policy, desired):
    """The policy with the unconditional bindings of the desired roles replaced (other bindings kept)."""
    kept = [binding for binding in policy.get("bindings") or []
            if binding.get("condition") or binding.get("role") not in desired]
    new = [{"role": role, "members": members} for role, members in desired.items() if members]
    return dict(policy, bindings=kept + new)


def ensure_iam_binding(client, project, params, check_mode):
    """The module gcp_iam_binding's work: add (or remove) members of roles, leaving other bindings alone."""
    resource_type = params["resource_type"]
    resource = params.get("resource") or (project if resource_type == "project" else None)
    if not resource:
        raise InvalidInput(f"resource is required for resource_type={resource_type}")
    bindings = params["bindings"]
    check_bindings(bindings)
    roles = sorted({binding["role"] for binding in bindings})
    read, write = policy_calls(resource_type, resource)

    def converge_once():
        try:
            policy = read(client)
        except NotFound:
            raise NotFound(f"{resource_type.replace('_', ' ')} {resource} does not exist") from None
        before = members_by_role(policy, roles)
        after = desired_members(before, bindings, params["state"])
        result = {"changed": before != after, "resource": resource, "bindings": after,
                  "diff": {"before": before, "after": after}}
        if before == after or check_mode:
            return result
        try:
            write(client, apply_members(policy, after))
        except Conflict:
            raise PolicyChanged(f"the IAM policy of {resource} kept changing while it was being updated") from None
        return result

    # Another writer changed the policy between our read and write (etag mismatch): read again and retry.
    return Retry(POLICY_ATTEMPTS, base=POLICY_BACKOFF_BASE, cap=POLICY_BACKOFF_CAP).call(converge_once)

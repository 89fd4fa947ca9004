# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""An IAM role that Kubernetes service accounts assume with their token (IRSA), kept in its declared state.

Each attribute is updated by the collection's compare → check mode → act → diff pattern
(docs/ARCHITECTURE.md): the functions of UPDATES, each returning whether it changed something.
"""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.errors import InvalidInput, NotFound
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.policy import (
    normalized_policy,
    policies_equal,
    policy_from_input,
    policy_json,
)

STS_AUDIENCE = "sts.amazonaws.com"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
WILDCARD_CHARACTERS = ("*", "?")


# --- the trust policy


def issuer_host(issuer_url):
    """The issuer as IAM names it in provider ARNs and condition keys: no scheme, no trailing slash."""
    host = issuer_url.strip()
    for scheme in ("https://", "http://"):
        if host.startswith(scheme):
            host = host[len(scheme):]
    return host.rstrip("/")


def cluster_issuer_url(client, cluster_name):
    """The OIDC issuer URL of an EKS cluster; NotFound names the cluster and region."""
    try:
        cluster = client.call("eks", "describe_cluster", name=cluster_name)["cluster"]
    except NotFound as error:
        raise NotFound(f"EKS cluster '{cluster_name}' not found in region {client.region}: {error.message}",
                       code=error.code, operation=error.operation) from None
    issuer = cluster.get("identity", {}).get("oidc", {}).get("issuer")
    if not issuer:
        raise InvalidInput(f"EKS cluster '{cluster_name}' has no OIDC issuer")
    return issuer


def oidc_provider(client, params):
    """(issuer host, provider ARN) from cluster_name, oidc_issuer_url or oidc_provider_arn."""
    if params.get("oidc_provider_arn"):
        arn = params["oidc_provider_arn"]
        if ":oidc-provider/" not in arn:
            raise InvalidInput(f"oidc_provider_arn '{arn}' is not an IAM OIDC provider ARN")
        return arn.split(":oidc-provider/", 1)[1], arn
    if params.get("cluster_name"):
        host = issuer_host(cluster_issuer_url(client, params["cluster_name"]))
    else:
        host = issuer_host(params["oidc_issuer_url"])
    return host, f"arn:{client.partition}:iam::{client.account_id}:oidc-provider/{host}"


def service_account_subject(entry):
    """The token subject of one service_accounts entry; wildcards only where the entry asks for them."""
    namespace, name = entry["namespace"], entry["name"]
    if not entry.get("wildcard") and any(char in namespace + name for char in WILDCARD_CHARACTERS):
        raise InvalidInput(f"service account {namespace}/{name} contains a wildcard; "
                           "set wildcard: true on that entry if that is intended")
    return f"system:serviceaccount:{namespace}:{name}"


def trust_policy(host, provider_arn, service_accounts, trusted_principals, external_id):
    """The trust policy document: web identity for the service accounts, AssumeRole for the principals."""
    statements = []
    for operator, wildcard in (("StringEquals", False), ("StringLike", True)):
        subjects = [service_account_subject(entry) for entry in service_accounts
                    if bool(entry.get("wildcard")) == wildcard]
        if not subjects:
            continue
        conditions = {"StringEquals": {f"{host}:aud": STS_AUDIENCE}}
        conditions.setdefault(operator, {})[f"{host}:sub"] = subjects
        statements.append({"Effect": "Allow", "Principal": {"Federated": provider_arn},
                           "Action": "sts:AssumeRoleWithWebIdentity", "Condition": conditions})
    if trusted_principals:
        statement = {"Effect": "Allow", "Principal": {"AWS": list(trusted_principals)}, "Action": "sts:AssumeRole"}
        if external_id:
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        statements.append(statement)
    elif external_id:
        raise InvalidInput("external_id needs trusted_principals: it guards their sts:AssumeRole")
    if not statements:
        raise InvalidInput("the role trusts nobody: give service_accounts or trusted_principals")
    return normalized_policy({"Version": "2012-10-17", "Statement": statements})


# --- the OIDC provider


def provider_exists(client, provider_arn):
    providers = client.call("iam", "list_open_id_connect_providers")["OpenIDConnectProviderList"]
    return any(provider["Arn"] == provider_arn for provider in providers)


def ensure_oidc_provider(client, host, provider_arn, thumbprints, check_mode):
    """Create the IAM OIDC provider for the issuer unless it exists; True when it was (or would be) created."""
    if provider_exists(client, provider_arn):
        return False
    if check_mode:
        return True
    request = {"Url": f"https://{host}", "ClientIDList": [STS_AUDIENCE]}
    if thumbprints:
        request["ThumbprintList"] = list(thumbprints)
    client.call("iam", "create_open_id_connect_provider", **request)
    return True


# --- the role's current and desired state


def current_role(client, name):
    """The role's state in the shape of desired_state, plus its ARN and id; None when it does not exist."""
    try:
        role = client.call("iam", "get_role", RoleName=name)["Role"]
    except NotFound:
        return None
    inline = {policy_name: normalized_policy(client.call("iam", "get_role_policy", RoleName=name,
                                                         PolicyName=policy_name)["PolicyDocument"])
              for policy_name in client.iam_list("list_role_policies", "PolicyNames", RoleName=name)}
    attached = client.iam_list("list_attached_role_policies", "AttachedPolicies", RoleName=name)
    tags = client.iam_list("list_role_tags", "Tags", RoleName=name)
    state = {
        "path": role.get("Path", "/"),
        "trust_policy": normalized_policy(role["AssumeRolePolicyDocument"]),
        "description": role.get("Description", ""),
        "max_session_duration": role.get("MaxSessionDuration", 3600),
        "permissions_boundary": role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn", ""),
        "inline_policies": inline,
        "managed_policy_arns": sorted(policy["PolicyArn"] for policy in attached),
        "tags": {tag["Key"]: tag["Value"] for tag in tags},
    }
    return {"arn": role["Arn"], "role_id": role["RoleId"], "state": state}


def desired_state(params, trust, before):
    """What the role should look like; options left unset keep the current (or AWS's default) value."""
    before = before or {"path": "/", "description": "", "max_session_duration": 3600, "permissions_boundary": "",
                        "inline_policies": {}, "managed_policy_arns": [], "tags": {}}
    purge_policies = params["purge_policies"]
    after = dict(before, trust_policy=trust, path=params["path"])
    for option in ("description", "max_session_duration", "permissions_boundary"):
        if params.get(option) is not None:
            after[option] = params[option]
    if params.get("inline_policies") is not None:
        given = {name: normalized_policy(policy_from_input(document, f"inline_policies.{name}"))
                 for name, document in params["inline_policies"].items()}
        after["inline_policies"] = given if purge_policies else dict(before["inline_policies"], **given)
    if params.get("managed_policy_arns") is not None:
        given = set(params["managed_policy_arns"])
        after["managed_policy_arns"] = sorted(given if purge_policies else given | set(before["managed_policy_arns"]))
    if params.get("tags") is not None:
        tags = {key: str(value) for key, value in params["tags"].items()}
        after["tags"] = tags if params["purge_tags"] else dict(before["tags"], **tags)
    return after


# --- per-attribute updates: compare → check mode → act


def update_trust_policy(client, name, before, after, check_mode):
    if policies_equal(before["trust_policy"], after["trust_policy"]):
        return False
    if not check_mode:
        client.call("iam", "update_assume_role_policy", RoleName=name, PolicyDocument=policy_json(after["trust_policy"]))
    return True


def update_settings(client, name, before, after, check_mode):
    """Description and maximum session duration, which one UpdateRole call sets."""
    request = {}
    if before["description"] != after["description"]:
        request["Description"] = after["description"]
    if before["max_session_duration"] != after["max_session_duration"]:
        request["MaxSessionDuration"] = after["max_session_duration"]
    if not request:
        return False
    if not check_mode:
        client.call("iam", "update_role", RoleName=name, **request)
    return True


def update_permissions_boundary(client, name, before, after, check_mode):
    if before["permissions_boundary"] == after["permissions_boundary"]:
        return False
    if not check_mode:
        if after["permissions_boundary"]:
            client.call("iam", "put_role_permissions_boundary", RoleName=name,
                        PermissionsBoundary=after["permissions_boundary"])
        else:
            client.call("iam", "delete_role_permissions_boundary", RoleName=name)
    return True


def update_inline_policies(client, name, before, after, check_mode):
    changed = False
    for policy_name, document in after["inline_policies"].items():
        if policies_equal(before["inline_policies"].get(policy_name), document):
            continue
        changed = True
        if not check_mode:
            client.call("iam", "put_role_policy", RoleName=name, PolicyName=policy_name,
                        PolicyDocument=policy_json(document))
    for policy_name in set(before["inline_policies"]) - set(after["inline_policies"]):
        changed = True
        if not check_mode:
            client.call("iam", "delete_role_policy", RoleName=name, PolicyName=policy_name)
    return changed


def update_managed_policies(client, name, before, after, check_mode):
    to_attach = set(after["managed_policy_arns"]) - set(before["managed_policy_arns"])
    to_detach = set(before["managed_policy_arns"]) - set(after["managed_policy_arns"])
    if check_mode:
        return bool(to_attach or to_detach)
    for arn in sorted(to_attach):
        client.call("iam", "attach_role_policy", RoleName=name, PolicyArn=arn)
    for arn in sorted(to_detach):
        client.call("iam", "detach_role_policy", RoleName=name, PolicyArn=arn)
    return bool(to_attach or to_detach)


def update_tags(client, name, before, after, check_mode):
    to_set = {key: value for key, value in after["tags"].items() if before["tags"].get(key) != value}
    to_remove = sorted(set(before["tags"]) - set(after["tags"]))
    if check_mode:
        return bool(to_set or to_remove)
    if to_set:
        client.call("iam", "tag_role", RoleName=name, Tags=[{"Key": key, "Value": value} for key, value in to_set.items()])
    if to_remove:
        client.call("iam", "untag_role", RoleName=name, TagKeys=to_remove)
    return bool(to_set or to_remove)


UPDATES = (update_trust_policy, update_settings, update_permissions_boundary, update_inline_policies,
           update_managed_policies, update_tags)


def create_role(client, name, after, check_mode):
    """Create the role with its trust policy and settings; the policies follow through UPDATES."""
    if check_mode:
        return None
    request = {"RoleName": name, "Path": after["path"], "AssumeRolePolicyDocument": policy_json(after["trust_policy"]),
               "Description": after["description"], "MaxSessionDuration": after["max_session_duration"]}
    if after["permissions_boundary"]:
        request["PermissionsBoundary"] = after["permissions_boundary"]
    if after["tags"]:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in after["tags"].items()]
    return client.call("iam", "create_role", **request)["Role"]


def delete_role(client, name):
    """Detach and delete everything that blocks DeleteRole, then the role."""
    for policy in client.iam_list("list_attached_role_policies", "AttachedPolicies", RoleName=name):
        client.call("iam", "detach_role_policy", RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy_name in client.iam_list("list_role_policies", "PolicyNames", RoleName=name):
        client.call("iam", "delete_role_policy", RoleName=name, PolicyName=policy_name)
    for profile in client.iam_list("list_instance_profiles_for_role", "InstanceProfiles", RoleName=name):
        client.call("iam", "remove_role_from_instance_profile", RoleName=name,
                    InstanceProfileName=profile["InstanceProfileName"])
    client.call("iam", "delete_role", RoleName=name)


# --- the module's entry point


def _result(changed, name, arn, role_id, before, after, provider_arn, warnings):
    return {
        "changed": changed,
        "diff": {"before": before or {}, "after": after or {}},
        "role_name": name,
        "arn": arn,
        "role_id": role_id,
        "trust_policy": (after or {}).get("trust_policy"),
        "inline_policies": (after or {}).get("inline_policies", {}),
        "attached_policies": (after or {}).get("managed_policy_arns", []),
        "tags": (after or {}).get("tags", {}),
        "oidc_provider_arn": provider_arn,
        "service_account_annotations": {ROLE_ARN_ANNOTATION: arn} if arn and after else {},
        "warnings": warnings,
    }


def ensure_oidc_role(client, params, check_mode):
    """Bring the role to params['state']; returns the module result."""
    name = params["name"]
    current = current_role(client, name)
    before = current["state"] if current else None
    if params["state"] == "absent":
        if current is None:
            return _result(False, name, None, None, None, None, None, [])
        if not check_mode:
            delete_role(client, name)
        return _result(True, name, current["arn"], current["role_id"], before, None, None, [])

    # Everything is resolved and validated before the first write, so bad input writes nothing.
    host, provider_arn = oidc_provider(client, params)
    trust = trust_policy(host, provider_arn, params["service_accounts"], params["trusted_principals"],
                         params.get("external_id"))
    after = desired_state(params, trust, before)
    if current and before["path"] != after["path"]:
        raise InvalidInput(f"role {name} exists with path {before['path']}; IAM cannot move it to {after['path']}. "
                           "Delete it first (state: absent) to change the path")
    warnings = []
    changed = False
    if params["create_oidc_provider"]:
        changed |= ensure_oidc_provider(client, host, provider_arn, params.get("oidc_thumbprints"), check_mode)
    elif params.get("service_accounts") and not provider_exists(client, provider_arn):
        warnings.append(f"IAM OIDC provider {provider_arn} does not exist; service accounts cannot assume "
                        f"role {name} until it does (create_oidc_provider: true creates it)")

    if current is None:
        created = create_role(client, name, after, check_mode)
        changed = True
        arn = created["Arn"] if created else f"arn:{client.partition}:iam::{client.account_id}:role{after['path']}{name}"
        role_id = created["RoleId"] if created else None
        # The new role has its trust policy, settings and tags; only the policies are left to apply.
        created_state = dict(after, inline_policies={}, managed_policy_arns=[])
        for update in (update_inline_policies, update_managed_policies):
            update(client, name, created_state, after, check_mode)
    else:
        arn, role_id = current["arn"], current["role_id"]
        for update in UPDATES:
            changed |= update(client, name, before, after, check_mode)
    return _result(changed, name, arn, role_id, before, after, provider_arn, warnings)

"""IAM policies as Google stores them on projects and service accounts: bindings, version, etag."""

import base64
import copy
import os
import re

from tests.sandbox.gcp.errors import aborted, invalid

EMPTY_ETAG = "ACAB"  # what Google returns for a resource that never had a policy
CONCURRENT = "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."
ROLE = re.compile(r"^(roles/[A-Za-z0-9_.]+|(projects|organizations)/[^/]+/roles/[A-Za-z0-9_.]+)$")
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
MEMBER = re.compile(
    rf"^(allUsers|allAuthenticatedUsers|(user|group|serviceAccount):{EMAIL}|domain:[A-Za-z0-9.-]+"
    r"|serviceAccount:[a-z0-9-]+\.svc\.id\.goog\[[^/\]]+/[^/\]]+\]|principal(Set)?://\S+|deleted:\S+"
    r"|project(Owner|Editor|Viewer):\S+)$")
WORKLOAD_IDENTITY = re.compile(r"^serviceAccount:(?P<project>[a-z0-9-]+)\.svc\.id\.goog\[(?P<ns>[^/\]]+)/(?P<ksa>[^/\]]+)\]$")
SERVICE_ACCOUNT = re.compile(r"^serviceAccount:(?P<email>[^@]+@(?P<project>[^.]+)\.iam\.gserviceaccount\.com)$")


def new_etag():
    return base64.b64encode(b"\x00" + os.urandom(7)).decode()


def read(policy, requested_version=None):
    """The policy as getIamPolicy returns it (empty bindings omitted, as Google does)."""
    del requested_version  # conditions are stored as given; version is what was set
    result = {"version": policy.get("version", 1), "etag": policy.get("etag", EMPTY_ETAG)}
    if policy.get("bindings"):
        result["bindings"] = copy.deepcopy(policy["bindings"])
    if policy.get("auditConfigs"):
        result["auditConfigs"] = copy.deepcopy(policy["auditConfigs"])
    return result


def write(current, request, store, allowed_roles=None):
    """Apply a SetIamPolicyRequest to the stored policy `current`; returns the new stored policy.

    A request whose policy carries an etag other than the current one loses the read-modify-write
    race: 409 ABORTED, like Google.
    """
    policy = request.get("policy")
    if not isinstance(policy, dict):
        raise invalid("Request contains an invalid argument.", "policy")
    etag = policy.get("etag")
    if etag and etag != current.get("etag", EMPTY_ETAG):
        raise aborted(CONCURRENT)
    mask = [path.strip() for path in (request.get("updateMask") or "bindings,etag").split(",") if path.strip()]
    version = int(policy.get("version") or 1)
    if version not in (0, 1, 3):
        raise invalid(f"Invalid policy version {version}: must be 1 or 3.", "policy.version")
    merged = {}
    for index, binding in enumerate(policy.get("bindings") or []):
        role = binding.get("role") or ""
        if not ROLE.match(role):
            raise invalid(f"Invalid role: {role!r}.", f"policy.bindings[{index}].role")
        if allowed_roles is not None and role not in allowed_roles:
            raise invalid(f"Role {role} is not supported for this resource.", f"policy.bindings[{index}].role")
        if binding.get("condition") and version < 3:
            raise invalid("Invalid argument: policies with conditions must be set with version 3.", "policy.version")
        for member in binding.get("members") or []:
            _check_member(member, store, f"policy.bindings[{index}].members")
        key = (role, repr(sorted((binding.get("condition") or {}).items())))
        entry = merged.setdefault(key, {"role": role, "members": set(), "condition": binding.get("condition")})
        entry["members"].update(binding.get("members") or [])
    bindings = []
    for entry in sorted(merged.values(), key=lambda item: (item["role"], repr(item["condition"]))):
        if not entry["members"]:
            continue  # Google drops bindings without members
        binding = {"role": entry["role"], "members": sorted(entry["members"])}
        if entry["condition"]:
            binding["condition"] = entry["condition"]
        bindings.append(binding)
    result = copy.deepcopy(current)
    if "bindings" in mask:
        result["bindings"] = bindings
    if "auditConfigs" in mask or "audit_configs" in mask:
        result["auditConfigs"] = policy.get("auditConfigs") or []
    result["version"] = max(version, 1)
    result["etag"] = new_etag()
    return result


def _check_member(member, store, field):
    if not isinstance(member, str) or not MEMBER.match(member):
        raise invalid(f"Invalid principal: {member!r}. Principals must look like user:EMAIL, serviceAccount:EMAIL, ...", field)
    account = SERVICE_ACCOUNT.match(member)
    if account and store.project(account.group("project")) is not None \
            and account.group("email") not in store.data["serviceAccounts"]:
        raise invalid(f"Service account {account.group('email')} does not exist.", field)
    pool = WORKLOAD_IDENTITY.match(member)
    if pool and store.project(pool.group("project")) is None:
        raise invalid(f"Identity Pool does not exist ({pool.group('project')}.svc.id.goog). Please check that you specified "
                      "a valid resource name as returned in the `name` attribute in the configuration API.", field)

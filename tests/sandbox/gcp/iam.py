"""IAM v1: service accounts, their keys and their IAM policies (where Workload Identity bindings live)."""

import base64
import re

from tests.sandbox.gcp import auth, policy
from tests.sandbox.gcp.errors import ApiError, already_exists, failed_precondition, invalid, not_found
from tests.sandbox.gcp.routing import Route, paginate
from tests.sandbox.gcp.store import numeric_id

SERVICE = "iam.googleapis.com"
ACCOUNT_ID = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])$")
MAX_KEYS = 10
# Roles Google accepts on a service-account resource (others: "Role X is not supported for this resource").
ACCOUNT_ROLES = {
    "roles/owner", "roles/editor", "roles/viewer", "roles/iam.serviceAccountAdmin", "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountKeyAdmin", "roles/iam.serviceAccountOpenIdTokenCreator",
    "roles/iam.workloadIdentityUser", "roles/iam.securityAdmin", "roles/iam.securityReviewer", "roles/iam.roleViewer",
    "roles/iam.serviceAccountViewer",
}
SA = r"v1/projects/(?P<project>[^/]+)/serviceAccounts/(?P<account>[^/:]+)"


def email_for(account_id, project_id):
    return f"{account_id}@{project_id}.iam.gserviceaccount.com"


def _public(account):
    result = {key: value for key, value in account.items() if key != "iamPolicy"}
    if not result.get("disabled"):
        result.pop("disabled", None)
    return result


def find_account(call, required=True):
    """Resolve projects/{p|-}/serviceAccounts/{email|uniqueId}."""
    wanted = call.params["account"]
    accounts = call.data["serviceAccounts"]
    account = accounts.get(wanted)
    if account is None:
        account = next((item for item in accounts.values() if item["uniqueId"] == wanted), None)
    project = call.params["project"]
    if account is not None and project != "-" and call.project is not None \
            and account["projectId"] != call.project["projectId"]:
        account = None
    if account is None and required:
        raise not_found(f"Unknown service account: {wanted}" if "@" in wanted else "Unknown service account")
    return account


def create_account(store, project, account_id, display_name="", description=""):
    email = email_for(account_id, project["projectId"])
    unique_id = numeric_id(21)
    account = {
        "name": f"projects/{project['projectId']}/serviceAccounts/{email}",
        "projectId": project["projectId"],
        "uniqueId": unique_id,
        "email": email,
        "etag": policy.new_etag(),
        "oauth2ClientId": unique_id,
        "iamPolicy": {"version": 1, "etag": policy.EMPTY_ETAG, "bindings": []},
    }
    if display_name:
        account["displayName"] = display_name
    if description:
        account["description"] = description
    store.data["serviceAccounts"][email] = account
    store.mark_dirty()
    return account


def create(call):
    if call.project is None:
        raise invalid("A project id is required: projects/- names no project to create the account in.", "name")
    account_id = call.body.get("accountId") or ""
    if not ACCOUNT_ID.match(account_id) or not 6 <= len(account_id) <= 30:
        raise invalid(f"Invalid account ID '{account_id}'. Account IDs must be 6 to 30 characters of lowercase letters, digits "
                      "or dashes, start with a letter and not end with a dash.", "account_id")
    if email_for(account_id, call.project["projectId"]) in call.data["serviceAccounts"]:
        raise already_exists(f"Service account {account_id} already exists within project projects/{call.project['projectId']}.")
    fields = call.body.get("serviceAccount") or {}
    return _public(create_account(call.store, call.project, account_id, fields.get("displayName", ""), fields.get("description", "")))


def list_accounts(call):
    accounts = sorted((item for item in call.data["serviceAccounts"].values()
                       if call.project is None or item["projectId"] == call.project["projectId"]), key=lambda item: item["name"])
    page, token = paginate(call, accounts, 20, 100)
    result = {}
    if page:
        result["accounts"] = [_public(item) for item in page]
    if token:
        result["nextPageToken"] = token
    return result


def get(call):
    return _public(find_account(call))


def _update(account, fields, paths):
    for path in paths:
        if path not in ("displayName", "description", "display_name"):
            raise invalid(f"Invalid update mask path: {path}", "update_mask")
        key = "displayName" if path in ("displayName", "display_name") else "description"
        if fields.get(key):
            account[key] = fields[key]
        else:
            account.pop(key, None)
    account["etag"] = policy.new_etag()


def patch(call):
    account = find_account(call)
    mask = [path.strip() for path in (call.body.get("updateMask") or "").split(",") if path.strip()]
    if not mask:
        raise invalid("update_mask is required.", "update_mask")
    _update(account, call.body.get("serviceAccount") or {}, mask)
    call.store.mark_dirty()
    return _public(account)


def update(call):
    account = find_account(call)
    _update(account, call.body, ["displayName", "description"])
    call.store.mark_dirty()
    return _public(account)


def delete(call):
    account = find_account(call)
    del call.data["serviceAccounts"][account["email"]]
    for key_id in [key_id for key_id, entry in call.data["keys"].items() if entry["email"] == account["email"]]:
        del call.data["keys"][key_id]
    call.store.mark_dirty()
    return {}


def set_disabled(value):
    def handler(call):
        account = find_account(call)
        if value:
            account["disabled"] = True
        else:
            account.pop("disabled", None)
        call.store.mark_dirty()
        return {}
    return handler


def get_iam_policy(call):
    return policy.read(find_account(call)["iamPolicy"])


def set_iam_policy(call):
    account = find_account(call)
    account["iamPolicy"] = policy.write(account["iamPolicy"], call.body, call.store, ACCOUNT_ROLES)
    call.store.mark_dirty()
    return policy.read(account["iamPolicy"])


def test_iam_permissions(call):
    find_account(call)
    permissions = call.body.get("permissions") or []
    return {"permissions": permissions} if permissions else {}


# --- keys
def _key_resource(account, key_id, entry):
    result = {
        "name": f"projects/{account['projectId']}/serviceAccounts/{account['email']}/keys/{key_id}",
        "validAfterTime": entry["validAfterTime"],
        "validBeforeTime": entry["validBeforeTime"],
        "keyAlgorithm": "KEY_ALG_RSA_2048",
        "keyOrigin": "GOOGLE_PROVIDED",
        "keyType": "USER_MANAGED",
    }
    if entry.get("disabled"):
        result["disabled"] = True
    return result


def create_key(store, account, token_uri, bootstrap=False):
    """A new key: its public half is stored, the private half only goes into the returned key file."""
    key_id = auth.new_key_id()
    material = auth.new_key_material(key_id)
    entry = {"email": account["email"], "certificatePem": material["certificatePem"],
             "validAfterTime": material["validAfterTime"], "validBeforeTime": material["validBeforeTime"]}
    store.data["keys"][key_id] = entry
    store.mark_dirty()
    document = auth.key_file(account, key_id, material["privateKeyPem"], token_uri)
    if bootstrap:
        store.data["bootstrap"] = {"email": account["email"], "keyId": key_id, "privateKeyPem": material["privateKeyPem"]}
    return key_id, entry, document


def keys_create(call):
    account = find_account(call)
    key_type = call.body.get("privateKeyType") or "TYPE_GOOGLE_CREDENTIALS_FILE"
    if key_type != "TYPE_GOOGLE_CREDENTIALS_FILE":
        raise ApiError("UNIMPLEMENTED", f"The sandbox only makes {key_type!r} keys of type TYPE_GOOGLE_CREDENTIALS_FILE.")
    if call.body.get("keyAlgorithm") not in (None, "", "KEY_ALG_UNSPECIFIED", "KEY_ALG_RSA_2048"):
        raise invalid(f"Unsupported key algorithm: {call.body['keyAlgorithm']}", "key_algorithm")
    owned = [entry for entry in call.data["keys"].values() if entry["email"] == account["email"]]
    if len(owned) >= MAX_KEYS:
        raise failed_precondition("Precondition check failed.")
    key_id, entry, document = create_key(call.store, account, call.base_url + "/token")
    resource = _key_resource(account, key_id, entry)
    resource["privateKeyType"] = key_type
    resource["privateKeyData"] = auth.encode_key_file(document)
    return resource


def _find_key(call, account):
    entry = call.data["keys"].get(call.params["key"])
    if entry is None or entry["email"] != account["email"]:
        raise not_found(f"Unknown key: {call.params['key']}")
    return entry


def keys_list(call):
    account = find_account(call)
    types = call.query.get("keyTypes") or []
    if types and "USER_MANAGED" not in types:
        return {}
    keys = [_key_resource(account, key_id, entry) for key_id, entry in sorted(call.data["keys"].items())
            if entry["email"] == account["email"]]
    return {"keys": keys} if keys else {}


def keys_get(call):
    account = find_account(call)
    entry = _find_key(call, account)
    resource = _key_resource(account, call.params["key"], entry)
    public_type = call.arg("publicKeyType")
    if public_type in ("TYPE_X509_PEM_FILE", "TYPE_RAW_PUBLIC_KEY"):
        resource["publicKeyData"] = base64.b64encode(entry["certificatePem"].encode()).decode()
    return resource


def keys_delete(call):
    account = find_account(call)
    _find_key(call, account)
    del call.data["keys"][call.params["key"]]
    call.store.mark_dirty()
    return {}


def keys_set_disabled(value):
    def handler(call):
        account = find_account(call)
        entry = _find_key(call, account)
        entry["disabled"] = value
        call.store.mark_dirty()
        return {}
    return handler


P = r"v1/projects/(?P<project>[^/]+)"
KEY = SA + r"/keys/(?P<key>[^/:]+)"
ROUTES = [
    Route("POST", P + r"/serviceAccounts", create, "CreateServiceAccountRequest", "", "iam.serviceAccounts.create", "serviceAccounts"),
    Route("GET", P + r"/serviceAccounts", list_accounts, permission="iam.serviceAccounts.list", collection="serviceAccounts"),
    Route("GET", SA, get, permission="iam.serviceAccounts.get", collection="serviceAccounts"),
    Route("PATCH", SA, patch, "PatchServiceAccountRequest", "", "iam.serviceAccounts.update", "serviceAccounts"),
    Route("PUT", SA, update, "ServiceAccount", "", "iam.serviceAccounts.update", "serviceAccounts"),
    Route("DELETE", SA, delete, permission="iam.serviceAccounts.delete", collection="serviceAccounts"),
    Route("POST", SA + r":disable", set_disabled(True), "DisableServiceAccountRequest", "", "iam.serviceAccounts.disable", "serviceAccounts"),
    Route("POST", SA + r":enable", set_disabled(False), "EnableServiceAccountRequest", "", "iam.serviceAccounts.enable", "serviceAccounts"),
    Route("POST", SA + r":getIamPolicy", get_iam_policy, permission="iam.serviceAccounts.getIamPolicy", collection="serviceAccounts.iamPolicy"),
    Route("POST", SA + r":setIamPolicy", set_iam_policy, "SetIamPolicyRequest", "", "iam.serviceAccounts.setIamPolicy",
          "serviceAccounts.iamPolicy"),
    Route("POST", SA + r":testIamPermissions", test_iam_permissions, "TestIamPermissionsRequest", "", "", "serviceAccounts"),
    Route("POST", SA + r"/keys", keys_create, "CreateServiceAccountKeyRequest", "", "iam.serviceAccountKeys.create", "serviceAccounts.keys"),
    Route("GET", SA + r"/keys", keys_list, permission="iam.serviceAccountKeys.list", collection="serviceAccounts.keys"),
    Route("GET", KEY, keys_get, permission="iam.serviceAccountKeys.get", collection="serviceAccounts.keys"),
    Route("DELETE", KEY, keys_delete, permission="iam.serviceAccountKeys.delete", collection="serviceAccounts.keys"),
    Route("POST", KEY + r":disable", keys_set_disabled(True), "DisableServiceAccountKeyRequest", "", "iam.serviceAccountKeys.disable",
          "serviceAccounts.keys"),
    Route("POST", KEY + r":enable", keys_set_disabled(False), "EnableServiceAccountKeyRequest", "", "iam.serviceAccountKeys.enable",
          "serviceAccounts.keys"),
]

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A Cloud Storage bucket (JSON API v1) with versioning and uniform bucket-level access, kept in its declared state."""

from __future__ import annotations

import re

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.errors import Conflict, InvalidInput

DEFAULT_ENDPOINT = "https://storage.googleapis.com/storage/v1/"
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


def bucket_view(resource):
    """The settings the module manages, as it compares and shows them."""
    iam = resource.get("iamConfiguration") or {}
    return {"name": resource["name"], "versioning": bool((resource.get("versioning") or {}).get("enabled")),
            "uniform_bucket_level_access": bool((iam.get("uniformBucketLevelAccess") or {}).get("enabled")),
            "public_access_prevention": iam.get("publicAccessPrevention", "inherited")}


def settings_body(view):
    return {"versioning": {"enabled": view["versioning"]},
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": view["uniform_bucket_level_access"]},
                                 "publicAccessPrevention": view["public_access_prevention"]}}


def ensure_bucket(client, project, params, check_mode):
    """The module gcs_bucket's work."""
    name = params["name"]
    if not BUCKET_NAME.match(name) or ".." in name:
        raise InvalidInput(f"'{name}' is not a valid bucket name: 3 to 63 lower-case letters, digits, dashes, "
                           "underscores or dots, starting and ending with a letter or digit")
    current = client.get_or_none(f"b/{name}")
    before = bucket_view(current) if current else {}
    if params["state"] == "absent":
        if current is not None and not check_mode:
            try:
                client.request("DELETE", f"b/{name}")
            except Conflict as error:
                raise Conflict(f"bucket {name} is not empty, so it was not deleted: {error.message}",
                               code=error.code, operation=error.operation) from None
        return {"changed": current is not None, "bucket": {}, "diff": {"before": before, "after": {}}}
    desired = dict(before or {"name": name, "versioning": False, "uniform_bucket_level_access": False,
                              "public_access_prevention": "inherited"})
    for option in ("versioning", "uniform_bucket_level_access", "public_access_prevention"):
        if params.get(option) is not None:
            desired[option] = params[option]
    changed = desired != before
    resource = current or {"name": name}
    if changed and not check_mode:
        if current is None:
            body = dict(settings_body(desired), name=name, location=params["location"])
            if params.get("storage_class"):
                body["storageClass"] = params["storage_class"]
            resource = client.request("POST", "b", params={"project": project}, body=body)
        # Also after a create: a server that ignored some settings on insert gets them patched.
        if bucket_view(resource) != desired:
            resource = client.request("PATCH", f"b/{name}", body=settings_body(desired))
    return {"changed": changed, "bucket": resource, "diff": {"before": before, "after": desired}}

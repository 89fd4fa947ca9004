#!/usr/bin/python
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gcs_bucket
short_description: A Cloud Storage bucket with versioning and uniform bucket-level access
version_added: 0.1.0
description:
  - Creates, updates or deletes a Cloud Storage bucket through the JSON API v1, and keeps its object versioning,
    uniform bucket-level access and public access prevention as declared.
  - Unlike C(google.cloud.gcp_storage_bucket), it honours O(api_endpoint) (a storage emulator, for instance).
  - Location and storage class are set at creation only; buckets cannot be moved.
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
options:
  name:
    description: Name of the bucket.
    type: str
    required: true
  location:
    description: Location of a new bucket, for example V(US) or V(us-central1).
    type: str
    default: US
  storage_class:
    description: Default storage class of a new bucket, for example V(STANDARD).
    type: str
  versioning:
    description: Keep noncurrent object versions. Not set keeps the current setting (off for a new bucket).
    type: bool
  uniform_bucket_level_access:
    description: Control access with IAM only, no object ACLs. Not set keeps the current setting (off for a new bucket).
    type: bool
  public_access_prevention:
    description: V(enforced) refuses public access to the bucket. Not set keeps the current setting.
    type: str
    choices: [enforced, inherited]
  state:
    description: V(present) creates or updates the bucket, V(absent) deletes it (only when it is empty).
    type: str
    choices: [present, absent]
    default: present
  api_endpoint:
    description: Root URL of the JSON API instead of V(https://storage.googleapis.com/storage/v1/).
    type: str
extends_documentation_fragment:
  - mlplatform.selfhosted.gcp
  - mlplatform.selfhosted.attributes
attributes:
  diff_mode:
    description: Shows the managed settings before and after.
seealso:
  - module: google.cloud.gcp_storage_bucket
"""

EXAMPLES = r"""
- name: The JFrog ML bucket
  mlplatform.selfhosted.gcs_bucket:
    project: ml-prod
    name: ml-prod-jfrogml
    location: us-central1
    versioning: true
    uniform_bucket_level_access: true
    public_access_prevention: enforced
"""

RETURN = r"""
bucket:
  description: The bucket resource as the API returns it (in check mode, for a bucket that would be created, its name).
  returned: always
  type: dict
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.core import gcp_module, run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.storage import DEFAULT_ENDPOINT, ensure_bucket

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    location=dict(type="str", default="US"),
    storage_class=dict(type="str"),
    versioning=dict(type="bool"),
    uniform_bucket_level_access=dict(type="bool"),
    public_access_prevention=dict(type="str", choices=["enforced", "inherited"]),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


def main():
    run_module(gcp_module(ARGUMENT_SPEC), ensure_bucket, DEFAULT_ENDPOINT)


if __name__ == "__main__":
    main()

"""Referee: Cloud Storage through gcp-storage-emulator (no auth), with googleapiclient's storage v1 and plain JSON API calls.

What the emulator does with bucket settings (gcp-storage-emulator 2026.7.19): buckets.insert keeps only
the name and answers defaults (versioning absent, uniformBucketLevelAccess disabled); buckets.patch
stores versioning and iamConfiguration as sent. So a bucket with both settings is made by insert then patch.
"""

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from googleapiclient.errors import HttpError

from tests.sandbox.gcp import DEFAULT_PROJECT_NUMBER

GCP_SANDBOX = {"gcs": True}
SETTINGS = {"versioning": {"enabled": True}, "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}}}


@pytest.fixture(scope="module")
def storage(gcp):
    return gcp.client("storage", AnonymousCredentials())


def test_bucket_with_uniform_access_and_versioning(gcp, storage):
    created = storage.buckets().insert(project="sandbox-project", body=dict(SETTINGS, name="jfrogml-artifacts")).execute()
    assert created["name"] == "jfrogml-artifacts"
    assert created["projectNumber"] == DEFAULT_PROJECT_NUMBER
    storage.buckets().patch(bucket="jfrogml-artifacts", body=SETTINGS).execute()
    bucket = storage.buckets().get(bucket="jfrogml-artifacts").execute()
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] is True
    plain = requests.get(f"{gcp.gcs_url}/storage/v1/b/jfrogml-artifacts", timeout=5).json()
    assert plain["versioning"] == {"enabled": True}
    with pytest.raises(HttpError) as excinfo:
        storage.buckets().insert(project="sandbox-project", body={"name": "jfrogml-artifacts"}).execute()
    assert excinfo.value.status_code == 409
    with pytest.raises(HttpError) as excinfo:
        storage.buckets().get(bucket="no-such-bucket").execute()
    assert excinfo.value.status_code == 404


def test_buckets_survive_restart(gcp, storage):
    storage.buckets().insert(project="sandbox-project", body={"name": "kept-bucket"}).execute()
    storage.buckets().patch(bucket="kept-bucket", body={"versioning": {"enabled": True}}).execute()
    response = requests.post(f"{gcp.gcs_url}/upload/storage/v1/b/kept-bucket/o", params={"uploadType": "media", "name": "a.txt"},
                             data=b"hello", headers={"Content-Type": "text/plain"}, timeout=5)
    assert response.status_code == 200
    gcp.restart()
    bucket = requests.get(f"{gcp.gcs_url}/storage/v1/b/kept-bucket", timeout=5).json()
    assert bucket["versioning"] == {"enabled": True}
    media = requests.get(f"{gcp.gcs_url}/storage/v1/b/kept-bucket/o/a.txt", params={"alt": "media"}, timeout=5)
    assert media.content == b"hello"

"""Referee: IAM v1, Cloud Resource Manager v1 and Service Usage v1 through googleapiclient + google-auth."""

import base64
import json

import pytest
from google.auth.transport.requests import Request
from google.oauth2 import service_account
from googleapiclient.errors import HttpError

PROJECT = "sandbox-project"
SA_EMAIL = f"jfrogml-sa@{PROJECT}.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def iam(gcp, credentials):
    return gcp.client("iam", credentials)


@pytest.fixture(scope="module")
def account(iam):
    return iam.projects().serviceAccounts().create(
        name=f"projects/{PROJECT}",
        body={"accountId": "jfrogml-sa", "serviceAccount": {"displayName": "JFrog ML", "description": "runs the platform"}},
    ).execute()


def error_of(excinfo):
    return json.loads(excinfo.value.content)["error"]


def test_admin_key_file(gcp):
    key = gcp.admin_key
    assert key["type"] == "service_account"
    assert key["client_email"] == f"sandbox-admin@{PROJECT}.iam.gserviceaccount.com"
    assert key["token_uri"] == gcp.endpoints["oauth2_token"]
    assert "BEGIN PRIVATE KEY" in key["private_key"]


def test_service_account_create_get_list_patch(iam, account):
    accounts = iam.projects().serviceAccounts()
    assert account["email"] == SA_EMAIL
    assert account["name"] == f"projects/{PROJECT}/serviceAccounts/{SA_EMAIL}"
    assert account["displayName"] == "JFrog ML"
    assert account["uniqueId"].isdigit()
    for name in (account["name"], f"projects/-/serviceAccounts/{SA_EMAIL}", f"projects/-/serviceAccounts/{account['uniqueId']}"):
        assert accounts.get(name=name).execute()["email"] == SA_EMAIL
    listed = accounts.list(name=f"projects/{PROJECT}").execute()["accounts"]
    assert SA_EMAIL in [item["email"] for item in listed]
    patched = accounts.patch(name=f"projects/-/serviceAccounts/{SA_EMAIL}",
                             body={"serviceAccount": {"description": "new text"}, "updateMask": "description"}).execute()
    assert patched["description"] == "new text" and patched["displayName"] == "JFrog ML"
    with pytest.raises(HttpError) as excinfo:
        accounts.create(name=f"projects/{PROJECT}", body={"accountId": "jfrogml-sa"}).execute()
    assert excinfo.value.status_code == 409
    with pytest.raises(HttpError) as excinfo:
        accounts.get(name=f"projects/-/serviceAccounts/nobody@{PROJECT}.iam.gserviceaccount.com").execute()
    assert excinfo.value.status_code == 404


def test_key_create_gives_working_credentials(gcp, iam, account):
    keys = iam.projects().serviceAccounts().keys()
    created = keys.create(name=account["name"], body={"privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE"}).execute()
    info = json.loads(base64.b64decode(created["privateKeyData"]))
    assert info["client_email"] == SA_EMAIL
    assert info["private_key_id"] == created["name"].rsplit("/", 1)[1]
    assert info["token_uri"] == gcp.endpoints["oauth2_token"]
    key_credentials = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/cloud-platform"])
    key_credentials.refresh(Request())
    assert key_credentials.token and key_credentials.valid
    crm = gcp.client("cloudresourcemanager", key_credentials)
    assert crm.projects().get(projectId=PROJECT).execute()["projectId"] == PROJECT
    listed = keys.list(name=account["name"]).execute()["keys"]
    assert created["name"] in [item["name"] for item in listed]
    assert all("privateKeyData" not in item for item in listed)
    public = keys.get(name=created["name"], publicKeyType="TYPE_X509_PEM_FILE").execute()
    assert b"BEGIN CERTIFICATE" in base64.b64decode(public["publicKeyData"])
    keys.delete(name=created["name"]).execute()
    refused = service_account.Credentials.from_service_account_info(info, scopes=["https://www.googleapis.com/auth/cloud-platform"])
    with pytest.raises(Exception, match="invalid_grant"):
        refused.refresh(Request())


def test_workload_identity_binding_on_service_account(iam, account):
    accounts = iam.projects().serviceAccounts()
    policy = accounts.getIamPolicy(resource=account["name"]).execute()
    assert "bindings" not in policy and policy["etag"]
    member = f"serviceAccount:{PROJECT}.svc.id.goog[jfrogml/jfrogml-operator]"
    policy["bindings"] = [{"role": "roles/iam.workloadIdentityUser", "members": [member]}]
    updated = accounts.setIamPolicy(resource=account["name"], body={"policy": policy}).execute()
    assert updated["bindings"] == [{"role": "roles/iam.workloadIdentityUser", "members": [member]}]
    assert updated["etag"] != policy["etag"]
    assert accounts.getIamPolicy(resource=f"projects/-/serviceAccounts/{SA_EMAIL}").execute()["bindings"] == updated["bindings"]
    with pytest.raises(HttpError) as excinfo:  # the read-modify-write lost: the etag is stale
        accounts.setIamPolicy(resource=account["name"], body={"policy": policy}).execute()
    assert excinfo.value.status_code == 409
    assert error_of(excinfo)["status"] == "ABORTED"
    with pytest.raises(HttpError) as excinfo:  # a project role cannot be granted on a service account
        accounts.setIamPolicy(resource=account["name"], body={"policy": {
            "bindings": [{"role": "roles/biglake.admin", "members": [member]}]}}).execute()
    assert excinfo.value.status_code == 400


def test_project_iam_policy(gcp, credentials, account):
    crm = gcp.client("cloudresourcemanager", credentials)
    project = crm.projects().get(projectId=PROJECT).execute()
    assert project["lifecycleState"] == "ACTIVE" and project["projectNumber"].isdigit()
    policy = crm.projects().getIamPolicy(resource=PROJECT, body={}).execute()
    assert any(binding["role"] == "roles/owner" for binding in policy["bindings"])
    member = f"serviceAccount:{account['email']}"
    policy["bindings"].append({"role": "roles/biglake.admin", "members": [member]})
    updated = crm.projects().setIamPolicy(resource=PROJECT, body={"policy": policy}).execute()
    assert {"role": "roles/biglake.admin", "members": [member]} in updated["bindings"]
    assert crm.projects().getIamPolicy(resource=PROJECT, body={}).execute()["etag"] == updated["etag"]
    with pytest.raises(HttpError) as excinfo:
        crm.projects().setIamPolicy(resource=PROJECT, body={"policy": policy}).execute()
    assert excinfo.value.status_code == 409
    ghost = dict(updated, bindings=updated["bindings"] + [
        {"role": "roles/viewer", "members": [f"serviceAccount:ghost-sa@{PROJECT}.iam.gserviceaccount.com"]}])
    with pytest.raises(HttpError) as excinfo:
        crm.projects().setIamPolicy(resource=PROJECT, body={"policy": ghost}).execute()
    assert excinfo.value.status_code == 400
    assert "does not exist" in error_of(excinfo)["message"]
    with pytest.raises(HttpError) as excinfo:
        crm.projects().get(projectId="no-such-project").execute()
    assert excinfo.value.status_code == 403


def test_service_usage(gcp, credentials):
    serviceusage = gcp.client("serviceusage", credentials)
    name = f"projects/{PROJECT}/services/bigquery.googleapis.com"
    service = serviceusage.services().get(name=name).execute()
    assert service["state"] == "DISABLED" and service["config"]["title"] == "BigQuery API"
    operation = serviceusage.services().enable(name=name, body={}).execute()
    assert operation["done"] and operation["response"]["service"]["state"] == "ENABLED"
    assert serviceusage.operations().get(name=operation["name"]).execute()["done"]
    enabled = serviceusage.services().list(parent=f"projects/{PROJECT}", filter="state:ENABLED", pageSize=200).execute()
    names = {item["config"]["name"] for item in enabled["services"]}
    assert {"bigquery.googleapis.com", "iam.googleapis.com"} <= names
    assert all(item["state"] == "ENABLED" for item in enabled["services"])
    batch = serviceusage.services().batchEnable(parent=f"projects/{PROJECT}",
                                                body={"serviceIds": ["biglake.googleapis.com", "storage.googleapis.com"]}).execute()
    assert {item["state"] for item in batch["response"]["services"]} == {"ENABLED"}
    serviceusage.services().disable(name=name, body={}).execute()
    assert serviceusage.services().get(name=name).execute()["state"] == "DISABLED"
    with pytest.raises(HttpError) as excinfo:
        serviceusage.services().enable(name=f"projects/{PROJECT}/services/no-such.googleapis.com", body={}).execute()
    assert excinfo.value.status_code == 403


def test_disabled_iam_api(gcp, credentials):
    serviceusage = gcp.client("serviceusage", credentials)
    iam = gcp.client("iam", credentials)
    name = f"projects/{PROJECT}/services/iam.googleapis.com"
    serviceusage.services().disable(name=name, body={}).execute()
    try:
        with pytest.raises(HttpError) as excinfo:
            iam.projects().serviceAccounts().list(name=f"projects/{PROJECT}").execute()
        assert excinfo.value.status_code == 403
        assert b"SERVICE_DISABLED" in excinfo.value.content and b"iam.googleapis.com" in excinfo.value.content
    finally:
        serviceusage.services().enable(name=name, body={}).execute()

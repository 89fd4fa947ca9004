"""Referee: authentication, request validation, admin endpoints and persistence of the GCP emulator."""

import base64
import json
import time

import google.auth.exceptions
import httplib2
import jwt
import pytest
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account
from googleapiclient import discovery
from googleapiclient.errors import HttpError

PROJECT = "sandbox-project"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
GCP_SANDBOX = {"config": {"projects": {"other-project": {"number": "222222222222", "enabled_services": ["biglake.googleapis.com"]}}}}


@pytest.fixture(scope="module")
def credentials(gcp):
    return gcp.admin_credentials(SCOPES)


def token(credentials):
    credentials.refresh(Request())
    return credentials.token


def test_missing_and_invalid_tokens_get_401(gcp):
    crm = gcp.client("cloudresourcemanager", http=httplib2.Http())
    with pytest.raises(HttpError) as excinfo:
        crm.projects().get(projectId=PROJECT).execute()
    assert excinfo.value.status_code == 401
    assert json.loads(excinfo.value.content)["error"]["status"] == "UNAUTHENTICATED"
    url = gcp.endpoints["biglake"] + f"v1/projects/{PROJECT}/locations/us/catalogs"
    for headers in ({}, {"Authorization": "Bearer ya29.not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 401
        assert "WWW-Authenticate" in response.headers


def test_token_endpoint_checks_the_assertion(gcp, credentials):
    key = gcp.admin_key
    now = int(time.time())
    claims = {"iss": key["client_email"], "scope": SCOPES[0], "aud": key["token_uri"], "iat": now, "exp": now + 3600}
    good = jwt.encode(claims, key["private_key"], algorithm="RS256", headers={"kid": key["private_key_id"]})
    response = requests.post(key["token_uri"], data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                                     "assertion": good}, timeout=10)
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer" and response.json()["expires_in"] > 0
    wrong_aud = jwt.encode(dict(claims, aud="https://example.invalid/token"), key["private_key"], algorithm="RS256",
                           headers={"kid": key["private_key_id"]})
    forged = good[:-8] + ("A" * 8 if not good.endswith("A" * 8) else "B" * 8)
    for assertion in (wrong_aud, forged, "not-a-jwt"):
        response = requests.post(key["token_uri"], data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                                         "assertion": assertion}, timeout=10)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
    response = requests.post(key["token_uri"], data={"grant_type": "password"}, timeout=10)
    assert response.json()["error"] == "unsupported_grant_type"
    # google-auth's self-signed JWT access (always_use_jwt_access) is accepted as Google does.
    self_signed = service_account.Credentials.from_service_account_file(str(gcp.admin_key_path)).with_always_use_jwt_access(True)
    crm = discovery.build("cloudresourcemanager", "v1", credentials=self_signed, static_discovery=True, always_use_jwt_access=True,
                          client_options={"api_endpoint": gcp.endpoints["cloudresourcemanager"]})
    assert crm.projects().get(projectId=PROJECT).execute()["projectId"] == PROJECT


def test_unknown_fields_are_rejected(gcp, credentials):
    biglake = gcp.client("biglake", credentials)
    with pytest.raises(HttpError) as excinfo:
        biglake.projects().locations().catalogs().create(parent="projects/other-project/locations/us", catalogId="c",
                                                         body={"displayName": "not a Catalog field"}).execute()
    assert excinfo.value.status_code == 400
    error = json.loads(excinfo.value.content)["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert 'Unknown name "displayName"' in error["message"]
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    iam = gcp.client("iam", credentials)
    with pytest.raises(HttpError) as excinfo:
        iam.projects().serviceAccounts().create(name=f"projects/{PROJECT}", body={
            "accountId": "typo-account", "serviceAccount": {"displayNmae": "typo"}}).execute()
    assert excinfo.value.status_code == 400
    assert "service_account" in json.loads(excinfo.value.content)["error"]["message"]
    crm = gcp.client("cloudresourcemanager", credentials)
    with pytest.raises(HttpError) as excinfo:
        crm.projects().setIamPolicy(resource=PROJECT, body={"policy": {"bindigns": []}}).execute()
    assert excinfo.value.status_code == 400
    with pytest.raises(HttpError) as excinfo:
        biglake.projects().locations().catalogs().databases().create(
            parent="projects/other-project/locations/us/catalogs/c", databaseId="d", body={"type": "ICEBERG"}).execute()
    assert excinfo.value.status_code == 400


def test_admin_endpoints(gcp, credentials):
    assert requests.get(f"{gcp.base_url}/_sandbox/health", timeout=5).json() == {"status": "ok"}
    requests.post(f"{gcp.base_url}/_sandbox/requests/reset", timeout=5).raise_for_status()
    crm = gcp.client("cloudresourcemanager", credentials)
    crm.projects().get(projectId=PROJECT).execute()
    log = requests.get(f"{gcp.base_url}/_sandbox/requests", timeout=5).json()
    assert log["by_verb"]["GET"] >= 1
    assert log["by_resource"]["cloudresourcemanager.projects"] == 1
    assert {"method": "GET", "path": f"/cloudresourcemanager/v1/projects/{PROJECT}", "status": 200}.items() <= log["entries"][-1].items()
    access_token = token(credentials)
    config = requests.put(f"{gcp.base_url}/_sandbox/config", json={"faults": {"error_rate": 1.0, "error_codes": [503]}},
                          timeout=5).json()
    assert config["faults"]["error_rate"] == 1.0
    try:
        response = requests.get(gcp.endpoints["cloudresourcemanager"] + f"v1/projects/{PROJECT}",
                                headers={"Authorization": f"Bearer {access_token}"}, timeout=5)
        assert response.status_code == 503 and response.json()["error"]["status"] == "UNAVAILABLE"
        # The token endpoint fails as Google's does, in OAuth's shape: google-auth sees a retryable refusal.
        with pytest.raises(google.auth.exceptions.RefreshError) as refused:
            token(credentials)
        assert refused.value.retryable and "temporarily_unavailable" in str(refused.value)
        assert requests.get(f"{gcp.base_url}/_sandbox/health", timeout=5).status_code == 200
    finally:
        requests.put(f"{gcp.base_url}/_sandbox/config", json={"faults": {"error_rate": 0.0}}, timeout=5).raise_for_status()
    assert requests.get(f"{gcp.base_url}/_sandbox/config", timeout=5).json()["faults"]["error_rate"] == 0.0


def test_state_survives_restart(gcp, credentials):
    biglake = gcp.client("biglake", credentials)
    iam = gcp.client("iam", credentials)
    catalog = biglake.projects().locations().catalogs().create(parent="projects/other-project/locations/us",
                                                               catalogId="kept", body={}).execute()
    biglake.projects().locations().catalogs().databases().create(
        parent=catalog["name"], databaseId="db", body={"type": "HIVE", "hiveOptions": {"locationUri": "gs://b/db"}}).execute()
    account = iam.projects().serviceAccounts().create(name=f"projects/{PROJECT}", body={"accountId": "kept-account"}).execute()
    member = f"serviceAccount:{PROJECT}.svc.id.goog[ns/ksa]"
    iam.projects().serviceAccounts().setIamPolicy(resource=account["name"], body={"policy": {
        "bindings": [{"role": "roles/iam.workloadIdentityUser", "members": [member]}]}}).execute()
    created = iam.projects().serviceAccounts().keys().create(name=account["name"], body={}).execute()
    key_info = json.loads(base64.b64decode(created["privateKeyData"]))
    serviceusage = gcp.client("serviceusage", credentials)
    serviceusage.services().enable(name=f"projects/{PROJECT}/services/biglake.googleapis.com", body={}).execute()
    admin_key_id = gcp.admin_key["private_key_id"]
    access_token = token(credentials)

    codes = gcp.restart()
    assert codes["gcp"] == 0

    state = json.loads(gcp.state_path.read_text(encoding="utf-8"))
    key_entry = state["keys"][key_info["private_key_id"]]
    assert "BEGIN CERTIFICATE" in key_entry["certificatePem"] and "privateKeyPem" not in key_entry
    assert gcp.admin_key["private_key_id"] == admin_key_id
    response = requests.get(gcp.endpoints["cloudresourcemanager"] + f"v1/projects/{PROJECT}",
                            headers={"Authorization": f"Bearer {access_token}"}, timeout=5)
    assert response.status_code == 200  # tokens issued before the restart stay valid
    biglake = gcp.client("biglake", credentials)
    database = biglake.projects().locations().catalogs().databases().get(name=f"{catalog['name']}/databases/db").execute()
    assert database["hiveOptions"]["locationUri"] == "gs://b/db"
    iam = gcp.client("iam", credentials)
    policy = iam.projects().serviceAccounts().getIamPolicy(resource=account["name"]).execute()
    assert policy["bindings"][0]["members"] == [member]
    key_credentials = service_account.Credentials.from_service_account_info(key_info, scopes=SCOPES)
    crm = gcp.client("cloudresourcemanager", key_credentials)
    assert crm.projects().get(projectId=PROJECT).execute()["projectId"] == PROJECT
    serviceusage = gcp.client("serviceusage", credentials)
    assert serviceusage.services().get(name=f"projects/{PROJECT}/services/biglake.googleapis.com").execute()["state"] == "ENABLED"

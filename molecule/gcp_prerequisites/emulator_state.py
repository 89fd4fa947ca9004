"""Print, as JSON, what verify.yml asserts on: the GCP emulators' state read through googleapiclient.

Usage: emulator_state.py SANDBOX_DIR PROJECT JFROGML_SA MLFLOW_SA CATALOG_NAME JFROGML_BUCKET MLFLOW_BUCKET
"""

import json
import sys
from pathlib import Path

from google.oauth2 import service_account
from googleapiclient import discovery


def main(sandbox_dir, project, jfrogml_sa, mlflow_sa, catalog, jfrogml_bucket, mlflow_bucket):
    endpoints = json.loads((Path(sandbox_dir) / "endpoints.json").read_text(encoding="utf-8"))["gcp"]
    credentials = service_account.Credentials.from_service_account_file(
        str(Path(sandbox_dir) / "gcp-admin-key.json"), scopes=["https://www.googleapis.com/auth/cloud-platform"])

    def api(name):
        return discovery.build(name, "v1", credentials=credentials, static_discovery=True, cache_discovery=False,
                               client_options={"api_endpoint": endpoints[name]})

    services = api("serviceusage").services()
    iam = api("iam").projects().serviceAccounts()
    storage = api("storage").buckets()
    catalogs = api("biglake").projects().locations().catalogs()
    state = {
        "services": {name: services.get(name=f"projects/{project}/services/{name}").execute()["state"]
                     for name in ("biglake.googleapis.com", "bigquery.googleapis.com")},
        "catalog": catalogs.get(name=catalog).execute(),
        "databases": catalogs.databases().list(parent=catalog).execute().get("databases", []),
        "project_policy": api("cloudresourcemanager").projects().getIamPolicy(resource=project, body={}).execute(),
        "mlflow_sa_policy": iam.getIamPolicy(resource=f"projects/{project}/serviceAccounts/{mlflow_sa}").execute(),
        "jfrogml_keys": iam.keys().list(name=f"projects/{project}/serviceAccounts/{jfrogml_sa}",
                                        keyTypes="USER_MANAGED").execute().get("keys", []),
        "buckets": {bucket: {"resource": storage.get(bucket=bucket).execute(),
                             "policy": storage.getIamPolicy(bucket=bucket).execute()}
                    for bucket in (jfrogml_bucket, mlflow_bucket)},
    }
    print(json.dumps(state))


if __name__ == "__main__":
    main(*sys.argv[1:])

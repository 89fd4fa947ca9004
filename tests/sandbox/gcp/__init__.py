"""GCP for the sandbox: BigLake, IAM, Resource Manager, Service Usage and an OAuth2 token endpoint in
one process (`python -m tests.sandbox.gcp`), and Cloud Storage through gcp-storage-emulator in a second.

Kept free of heavy imports: the orchestrator imports this package only for endpoints() and gcs_command().
"""

import sys
import urllib.parse
from pathlib import Path

API_PREFIXES = ("biglake", "iam", "cloudresourcemanager", "serviceusage")
ADMIN_ACCOUNT = "sandbox-admin@sandbox-project.iam.gserviceaccount.com"
DEFAULT_PROJECT = "sandbox-project"
DEFAULT_PROJECT_NUMBER = "123456789012"  # store.DEFAULT_CONFIG's; buckets report it as projectNumber


def storage_endpoint(gcs_url):
    """api_endpoint for googleapiclient's storage v1 (its paths are relative to /storage/v1/)."""
    return gcs_url.rstrip("/") + "/storage/v1/"


def endpoints(base_url, storage_url=None):
    """Per API, the client_options api_endpoint for googleapiclient; oauth2_token is the token_uri.

    storage_url is gcp-storage-emulator's base URL; by the orchestrator's layout it listens on the
    port after the GCP emulator's, which is the default. Clients of the google-cloud-storage
    library use that base URL as STORAGE_EMULATOR_HOST instead.
    """
    base = base_url.rstrip("/")
    result = {api: f"{base}/{api}/" for api in API_PREFIXES}
    result["oauth2_token"] = f"{base}/token"
    if storage_url is None:
        parsed = urllib.parse.urlsplit(base)
        storage_url = f"{parsed.scheme}://{parsed.hostname}:{(parsed.port or 80) + 1}"
    result["storage"] = storage_endpoint(storage_url)
    return result


def gcs_command(host, port, data_dir, project_number=DEFAULT_PROJECT_NUMBER):
    """Command line of the Cloud Storage emulator (no auth); buckets and objects persist under data_dir."""
    executable = Path(sys.executable).parent / "gcp-storage-emulator"
    return [str(executable), "--data-dir", str(Path(data_dir).resolve()), "start", "--quiet",
            "--project-number", str(project_number), "--host", host, "--port", str(port)]

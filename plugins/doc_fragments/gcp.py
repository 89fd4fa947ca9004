# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection options of the collection's GCP modules; names and environment variables as google.cloud's."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  project:
    description:
      - Google Cloud project id the resource belongs to.
      - When not set, C(GCP_PROJECT), then the project of the service-account key or of the application default
        credentials applies.
    type: str
  auth_kind:
    description:
      - How to authenticate.
      - V(application) uses the application default credentials (C(GOOGLE_APPLICATION_CREDENTIALS), gcloud's
        credentials, or the metadata server on Google Cloud, including GKE Workload Identity).
      - V(serviceaccount) uses a service-account key from O(service_account_file) or O(service_account_contents).
      - V(accesstoken) uses the OAuth2 access token in O(access_token).
      - When not set, C(GCP_AUTH_KIND) applies.
    type: str
    choices: [application, serviceaccount, accesstoken]
    default: application
  service_account_file:
    description:
      - Path to a service-account key file (JSON), with O(auth_kind=serviceaccount).
      - When not set, C(GCP_SERVICE_ACCOUNT_FILE) applies.
    type: path
  service_account_contents:
    description:
      - The content of a service-account key file (JSON string or mapping), with O(auth_kind=serviceaccount).
      - When not set, C(GCP_SERVICE_ACCOUNT_CONTENTS) applies.
    type: jsonarg
  access_token:
    description:
      - An OAuth2 access token, with O(auth_kind=accesstoken).
      - When not set, C(GCP_ACCESS_TOKEN) applies.
    type: str
  impersonate_service_account:
    description:
      - Email of a service account to impersonate with the credentials above (they need
        C(roles/iam.serviceAccountTokenCreator) on it); the calls are then made as that account.
    type: str
  scopes:
    description:
      - OAuth2 scopes of the access token.
      - When not set, C(GCP_SCOPES), then V(https://www.googleapis.com/auth/cloud-platform) applies.
    type: list
    elements: str
  api_endpoint:
    description:
      - Root URL of the API instead of Google's, for example a local emulator; request paths such as
        C(v1/projects/...) are appended to it, as with googleapiclient's C(client_options.api_endpoint).
    type: str
  validate_certs:
    description:
      - Verify the TLS certificates of the API endpoints.
    type: bool
    default: true
requirements:
  - google-auth >= 2.0
  - requests
notes:
  - Answers 429 and 5xx are retried up to 6 times with jittered exponential backoff; any other error fails with
    Google's status and message. A call refused because the API is disabled names the service to enable.
"""

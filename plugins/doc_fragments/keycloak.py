# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection options of the collection's Keycloak modules; names, aliases and defaults as community.general's."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  auth_keycloak_url:
    description:
      - URL of Keycloak, including its relative path when it has one (for example V(https://sso.example.com/auth)
        for the keycloakx chart's default C(http.relativePath) of C(/auth)).
    type: str
    required: true
    aliases: [url]
  auth_realm:
    description:
      - Realm to authenticate to for API access.
    type: str
    default: master
  auth_client_id:
    description:
      - OpenID Connect client to authenticate to the API with.
    type: str
    default: admin-cli
  auth_client_secret:
    description:
      - Secret of O(auth_client_id). Without O(auth_username), the client credentials grant is used
        (the client's service account needs admin rights on the realm).
    type: str
  auth_username:
    description:
      - Username to authenticate for API access with (password grant).
    type: str
    aliases: [username]
  auth_password:
    description:
      - Password of O(auth_username). Never logged and never part of an error message.
    type: str
    aliases: [password]
  token:
    description:
      - An admin access token to use instead of authenticating. It cannot be renewed when it expires.
    type: str
  validate_certs:
    description:
      - Verify Keycloak's TLS certificate (do not disable this in production).
    type: bool
    default: true
  connection_timeout:
    description:
      - Timeout of each HTTP request to Keycloak, in seconds.
    type: int
    default: 10
  http_agent:
    description:
      - The HTTP User-Agent header.
    type: str
    default: Ansible
notes:
  - An access token that expires during the task is renewed once (on HTTP 401) with the same credentials.
  - Throttling (429) and server errors (5xx) are retried with jittered backoff, at most 5 attempts; other errors
    fail at once with Keycloak's message.
"""

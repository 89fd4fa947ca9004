# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection options of the collection's AWS modules; names and aliases as amazon.aws's."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - When not set, boto3's credential chain applies (C(AWS_ACCESS_KEY_ID), shared files, instance role).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key.
      - When not set, boto3's credential chain applies (C(AWS_SECRET_ACCESS_KEY), shared files, instance role).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - AWS STS session token, for temporary credentials.
      - When not set, C(AWS_SESSION_TOKEN) applies.
    type: str
    aliases: [aws_session_token]
  profile:
    description:
      - Named profile of the AWS shared configuration files.
      - Cannot be combined with O(access_key), O(secret_key) or O(session_token).
    type: str
    aliases: [aws_profile]
  region:
    description:
      - AWS region, for example V(us-east-1).
      - When not set, C(AWS_REGION) / C(AWS_DEFAULT_REGION) or the profile's region applies.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - URL to send every API call to instead of AWS's endpoints, for example a local moto server.
      - When not set, boto3 reads C(AWS_ENDPOINT_URL).
    type: str
    aliases: [aws_endpoint_url]
  validate_certs:
    description:
      - Verify the TLS certificates of the AWS endpoints.
    type: bool
    default: true
requirements:
  - boto3 >= 1.34
  - botocore >= 1.34
"""

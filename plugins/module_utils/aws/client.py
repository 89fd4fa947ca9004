# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A configured boto3 client whose calls retry on throttling only and raise typed errors."""

from __future__ import annotations

import time
import traceback

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.errors import (
    AWSError,
    AuthError,
    Conflict,
    NotFound,
    Transient,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.retry import Retry

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None

# Retried with backoff; every other error is raised at once.
THROTTLING_CODES = frozenset((
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "SlowDown",
    "ServiceUnavailable", "ServiceUnavailableException", "PriorRequestNotComplete",
))
NOT_FOUND_CODES = frozenset((
    "NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "NoSuchBucket",
    "EntityNotFoundException", "NoSuchKey", "NotFound",
))
CONFLICT_CODES = frozenset((
    "EntityAlreadyExists", "EntityAlreadyExistsException", "ResourceInUseException",
    "DeleteConflict", "ConcurrentModification", "AlreadyExistsException", "BucketAlreadyExists",
))
AUTH_CODES = frozenset((
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidClientTokenId",
    "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException",
))

MAX_ATTEMPTS = 8
BACKOFF_BASE = 0.5
BACKOFF_CAP = 20.0


def error_from_client_error(error, operation):
    """The typed error for a botocore ClientError."""
    details = error.response.get("Error", {})
    code = details.get("Code")
    message = details.get("Message") or str(error)
    for codes, kind in ((NOT_FOUND_CODES, NotFound), (CONFLICT_CODES, Conflict), (AUTH_CODES, AuthError),
                        (THROTTLING_CODES, Transient)):
        if code in codes:
            return kind(message, code=code, operation=operation)
    return AWSError(message, code=code, operation=operation)


def _call_once(method, operation, kwargs):
    try:
        return method(**kwargs)
    except botocore.exceptions.ClientError as error:
        raise error_from_client_error(error, operation) from None
    except botocore.exceptions.NoCredentialsError as error:
        raise AuthError(str(error), code="NoCredentials", operation=operation) from None
    except botocore.exceptions.BotoCoreError as error:
        raise AWSError(str(error), operation=operation) from None


class AWSClient:
    """boto3 clients of one connection, created once per service."""

    def __init__(self, access_key=None, secret_key=None, session_token=None, profile=None, region=None,
                 endpoint_url=None, validate_certs=True, sleep=time.sleep):
        try:
            self._session = boto3.session.Session(
                aws_access_key_id=access_key, aws_secret_access_key=secret_key, aws_session_token=session_token,
                profile_name=profile, region_name=region)
        except botocore.exceptions.BotoCoreError as error:
            raise AWSError(str(error), code=type(error).__name__) from None
        self.region = self._session.region_name
        self._endpoint_url = endpoint_url
        self._validate_certs = validate_certs
        self._sleep = sleep
        self._clients = {}
        self._account_id = None

    @classmethod
    def from_module_params(cls, params):
        return cls(access_key=params.get("access_key"), secret_key=params.get("secret_key"),
                   session_token=params.get("session_token"), profile=params.get("profile"),
                   region=params.get("region"), endpoint_url=params.get("endpoint_url"),
                   validate_certs=params.get("validate_certs", True))

    def _client(self, service):
        if service not in self._clients:
            # botocore's own retries are off, so the bounded retries below are the only ones.
            config = botocore.config.Config(retries={"total_max_attempts": 1})
            try:
                self._clients[service] = self._session.client(
                    service, endpoint_url=self._endpoint_url, verify=self._validate_certs, config=config)
            except botocore.exceptions.BotoCoreError as error:
                raise AWSError(str(error), code=type(error).__name__) from None
        return self._clients[service]

    def call(self, service, operation, **kwargs):
        """Call one API operation (snake_case name); retries throttling with jittered backoff, bounded."""
        method = getattr(self._client(service), operation)
        retry = Retry(MAX_ATTEMPTS, base=BACKOFF_BASE, cap=BACKOFF_CAP, sleep=self._sleep)
        return retry.call(lambda: _call_once(method, operation, kwargs))

    def iam_list(self, operation, key, **kwargs):
        """Every item under `key` across the pages of an IAM list operation (Marker/IsTruncated)."""
        items = []
        marker = {}
        while True:
            page = self.call("iam", operation, **kwargs, **marker)
            items.extend(page.get(key, []))
            if not page.get("IsTruncated"):
                return items
            marker = {"Marker": page["Marker"]}

    @property
    def account_id(self):
        if self._account_id is None:
            self._account_id = self.call("sts", "get_caller_identity")["Account"]
        return self._account_id

    @property
    def partition(self):
        return self._session.get_partition_for_region(self.region or "us-east-1")

"""Retries on throttling only, bounded, and typed errors: plugins/module_utils/aws/client.py."""

import botocore.exceptions
import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws import client as aws_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.errors import (
    AWSError,
    NotFound,
    Transient,
)


def client_error(code, message="boom"):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, "GetRole")


class FailingService:
    """A boto3 client stand-in whose get_role raises the given errors in turn, then answers."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.attempts = 0

    def get_role(self, **kwargs):
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"Role": kwargs}


@pytest.fixture()
def make_client():
    def make(service):
        sleeps = []
        client = aws_client.AWSClient(access_key="AKIAEXAMPLE", secret_key="example", region="us-east-1",
                                      sleep=sleeps.append)
        client._clients["iam"] = service
        return client, sleeps
    return make


def test_throttling_is_retried_with_growing_jittered_waits(make_client):
    service = FailingService(client_error("Throttling"), client_error("ThrottlingException"))
    client, sleeps = make_client(service)
    assert client.call("iam", "get_role", RoleName="r") == {"Role": {"RoleName": "r"}}
    assert service.attempts == 3
    assert len(sleeps) == 2 and all(0 <= wait <= aws_client.BACKOFF_CAP for wait in sleeps)


def test_retries_are_bounded(make_client):
    service = FailingService(*[client_error("Throttling")] * (aws_client.MAX_ATTEMPTS + 2))
    client, sleeps = make_client(service)
    with pytest.raises(Transient):
        client.call("iam", "get_role", RoleName="r")
    assert service.attempts == aws_client.MAX_ATTEMPTS
    assert len(sleeps) == aws_client.MAX_ATTEMPTS - 1


@pytest.mark.parametrize("code, kind", [("NoSuchEntity", NotFound), ("MalformedPolicyDocument", AWSError)])
def test_other_errors_are_raised_at_once_with_code_and_message(make_client, code, kind):
    service = FailingService(client_error(code, "the message"))
    client, sleeps = make_client(service)
    with pytest.raises(kind) as raised:
        client.call("iam", "get_role", RoleName="r")
    assert raised.value.code == code and raised.value.message == "the message"
    assert "get_role" in str(raised.value) and code in str(raised.value)
    assert service.attempts == 1 and sleeps == []

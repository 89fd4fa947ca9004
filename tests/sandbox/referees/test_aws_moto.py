"""AWS in the sandbox, refereed by boto3: the seeded EKS cluster and OIDC provider, IAM web-identity roles, S3."""

import json
import signal
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.sandbox import aws
from tests.sandbox.processes import free_ports, port_open, spawn, wait_until


def client(sandbox, service):
    return boto3.client(service, endpoint_url=sandbox.endpoints["aws"]["endpoint_url"], region_name=sandbox.endpoints["aws"]["region"],
                        **sandbox.credentials["aws"])


def test_the_eks_cluster_and_its_oidc_provider_are_seeded(sandbox):
    cluster = client(sandbox, "eks").describe_cluster(name="sandbox")["cluster"]
    issuer = cluster["identity"]["oidc"]["issuer"]
    assert issuer == sandbox.endpoints["aws"]["eks_oidc_issuer"]
    assert issuer.startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    providers = client(sandbox, "iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    arns = [provider["Arn"] for provider in providers]
    assert "arn:aws:iam::123456789012:oidc-provider/%s" % issuer[len("https://"):] in arns


def test_a_web_identity_role_and_a_bucket(sandbox):
    iam, s3 = client(sandbox, "iam"), client(sandbox, "s3")
    provider = sandbox.endpoints["aws"]["eks_oidc_issuer"][len("https://"):]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/%s" % provider},
        "Condition": {"StringEquals": {"%s:aud" % provider: "sts.amazonaws.com",
                                       "%s:sub" % provider: "system:serviceaccount:mlflow:mlflow"}}}]}
    name = "referee-%d" % time.time_ns()
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == trust
    with pytest.raises(ClientError) as duplicate:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    assert duplicate.value.response["Error"]["Code"] == "EntityAlreadyExists"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="artifacts/model.txt", Body=b"weights")
    assert s3.get_object(Bucket=name, Key="artifacts/model.txt")["Body"].read() == b"weights"
    assert arn.endswith(":role/%s" % name)


def test_moto_state_survives_a_restart_with_the_same_issuer(tmp_path):
    port = free_ports()[0]
    url = "http://127.0.0.1:%d" % port
    log_path = tmp_path / "moto.log"

    def start():
        replay = aws.has_recording(tmp_path)
        process = spawn(aws.command("127.0.0.1", port), log_path, aws.environment(tmp_path))
        wait_until(lambda: port_open(port), process, "moto", log_path, 30)
        return process, aws.restore_or_seed(url, replay)

    process, issuer = start()
    try:
        aws.client("iam", url).create_role(RoleName="kept", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    process, issuer_again = start()
    try:
        assert issuer_again == issuer
        assert aws.client("iam", url).get_role(RoleName="kept")["Role"]["RoleName"] == "kept"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.parametrize("service, call, status, code", [
    ("iam", lambda c: c.list_roles(), 403, "SignatureDoesNotMatch"),
    ("sts", lambda c: c.get_caller_identity(), 403, "SignatureDoesNotMatch"),
    ("glue", lambda c: c.get_databases(), 400, "InvalidSignatureException"),
    ("athena", lambda c: c.list_work_groups(), 400, "InvalidSignatureException"),
    ("eks", lambda c: c.list_clusters(), 403, "InvalidSignatureException"),
])
def test_a_region_aws_does_not_have_is_refused_as_aws_refuses_it(sandbox, service, call, status, code):
    """moto alone answers a 500 HTML page; AWS refuses a credential scoped to an invalid region, and boto3 says so."""
    typo = boto3.client(service, endpoint_url=sandbox.endpoints["aws"]["endpoint_url"], region_name="us-east-one",
                        **sandbox.credentials["aws"])
    with pytest.raises(ClientError) as refused:
        call(typo)
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error["Error"]["Code"] == code
    assert error["Error"]["Message"] == "Credential should be scoped to a valid region, not 'us-east-one'. "
    assert "us-east-one" in str(refused.value)
    other_region = boto3.client(service, endpoint_url=sandbox.endpoints["aws"]["endpoint_url"], region_name="eu-west-1",
                                **sandbox.credentials["aws"])
    call(other_region)


def test_s3_names_the_region_it_expects(sandbox):
    s3 = boto3.client("s3", endpoint_url=sandbox.endpoints["aws"]["endpoint_url"], region_name="us-east-one", **sandbox.credentials["aws"])
    with pytest.raises(ClientError) as refused:
        s3.list_buckets()
    assert refused.value.response["Error"]["Code"] == "AuthorizationHeaderMalformed"
    assert refused.value.response["Error"]["Message"] == (
        "The authorization header is malformed; the region 'us-east-one' is wrong; expecting 'us-east-1'")

"""AWS for the sandbox: moto's server mode, seeded with an EKS cluster and its IAM OIDC provider, behind a gate
that refuses a request signed for a region AWS does not have, as AWS does (moto would answer a 500 HTML page).

moto keeps its state in memory. It survives a restart through moto's own recorder: every
request is appended to a recording file and replayed into a fresh server on start. moto's random
generator is seeded before anything else, so the replay hands out the same ids (the EKS issuer
URL among them) as the first run did.
"""

import os
import sys
from pathlib import Path

import boto3
import requests

REGION = "us-east-1"
ACCESS_KEY = "AKIASANDBOXTESTKEY01"
SECRET_KEY = "sandbox-secret-access-key-not-a-real-one"
CLUSTER_NAME = "sandbox"
# moto's random generator seed: fixed, so a replay regenerates the same ids.
RANDOM_SEED = 1736
RECORDING = "moto-recording.jsonl"
SERVICES = ("iam", "sts", "s3", "glue", "athena", "eks")


def command(host, port):
    """The command line that serves moto on host:port, behind the gate that refuses unknown regions (regions.py)."""
    return [sys.executable, "-m", "tests.sandbox.aws", "--host", host, "--port", str(port)]


def environment(state_dir):
    """Environment for the moto process: recording on, into the state directory."""
    env = dict(os.environ)
    env.update({
        "MOTO_ENABLE_RECORDING": "True",
        "MOTO_RECORDER_FILEPATH": str(Path(state_dir) / RECORDING),
        # moto validates IAM policies the way AWS does.
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "false",
    })
    return env


def client(service, url):
    """A boto3 client for one service of the sandbox's moto."""
    return boto3.client(service, endpoint_url=url, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def has_recording(state_dir):
    """Whether an earlier run left state to replay; ask before starting moto, which records from its first request."""
    recording = Path(state_dir) / RECORDING
    return recording.exists() and recording.stat().st_size > 0


def restore_or_seed(url, replay):
    """Bring a freshly started moto to the sandbox's state; returns the EKS OIDC issuer URL.

    The seed request is recorded too, so a replay re-seeds the generator at the same point.
    """
    if replay:
        requests.post(f"{url}/moto-api/recorder/replay-recording", timeout=300).raise_for_status()
    else:
        requests.post(f"{url}/moto-api/seed", params={"a": RANDOM_SEED}, timeout=10).raise_for_status()
        _seed(url)
    return cluster_issuer(url)


def cluster_issuer(url, cluster_name=CLUSTER_NAME):
    eks = client("eks", url)
    return eks.describe_cluster(name=cluster_name)["cluster"]["identity"]["oidc"]["issuer"]


def _seed(url):
    iam = client("iam", url)
    cluster_role = iam.create_role(
        RoleName="sandbox-eks-cluster",
        AssumeRolePolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            '"Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'),
    )["Role"]["Arn"]
    eks = client("eks", url)
    eks.create_cluster(
        name=CLUSTER_NAME,
        version="1.30",
        roleArn=cluster_role,
        resourcesVpcConfig={"subnetIds": ["subnet-0sandbox0a", "subnet-0sandbox0b"]},
    )
    issuer = cluster_issuer(url)
    iam.create_open_id_connect_provider(
        Url=issuer,
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
    )


def endpoints(url):
    """What clients need: one endpoint for every service (moto serves them all on one port)."""
    return {"endpoint_url": url, "region": REGION, "services": list(SERVICES), "eks_cluster": CLUSTER_NAME}


def credentials():
    return {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY}

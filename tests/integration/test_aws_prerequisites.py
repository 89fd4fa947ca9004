"""Role mlplatform.selfhosted.aws_prerequisites on the sandbox's moto, asserted through boto3."""

import json
import uuid

import boto3
import pytest

from tests.integration.aws_support import recorded, writes

PLAYBOOK = "tests/integration/playbooks/aws_prerequisites/prerequisites.yml"
ACCOUNT = "123456789012"
REGION = "us-east-1"

# The JFrog ML guide's permission set ("JFrog ML on AWS": the role policy), written out here independently of the role's
# defaults, with the actions the role adds (athena:StopQueryExecution; the database, partition and function writes).
GUIDE_S3_ACTIONS = {"s3:*"}
GUIDE_ATHENA_ACTIONS = {"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                        "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:ListQueryExecutions",
                        "athena:BatchGetQueryExecution"}
# The guide's Athena actions that take no resource: IAM authorises them on "*" only.
GUIDE_ATHENA_ACCOUNT_ACTIONS = {"athena:ListDataCatalogs", "athena:ListEngineVersions"}
GUIDE_GLUE_ACTIONS = {f"glue:{verb}{thing}" for verb in ("Get", "Create", "Update", "Delete")
                      for thing in ("Database", "Table", "Partition", "UserDefinedFunction")} | {
    "glue:GetDatabases", "glue:GetTables", "glue:GetPartitions", "glue:GetUserDefinedFunctions",
    "glue:BatchCreatePartition", "glue:BatchDeletePartition", "glue:BatchGetPartition", "glue:GetCatalogImportStatus",
    "glue:BatchDeleteTable", "glue:GetTableVersions", "glue:GetPartitionIndexes"}


@pytest.fixture(scope="module")
def aws(sandbox):
    def client(service):
        return boto3.client(service, endpoint_url=sandbox.endpoints["aws"]["endpoint_url"], region_name=REGION,
                            **sandbox.credentials["aws"])
    return client


@pytest.fixture()
def names(aws):
    """Bucket, workgroup and role names of this test's own; removed afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {"jfrogml_bucket": f"it-jfrogml-{suffix}", "mlflow_bucket": f"it-mlflow-{suffix}",
             "workgroup": f"it-jfrogml-{suffix}", "jfrogml_role": f"it-jfrogml-{suffix}",
             "mlflow_role": f"it-mlflow-{suffix}"}
    yield names
    iam, s3, athena = aws("iam"), aws("s3"), aws("athena")
    for role in (names["jfrogml_role"], names["mlflow_role"]):
        if role_document(iam, role) is not None:
            for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                iam.delete_role_policy(RoleName=role, PolicyName=policy)
            iam.delete_role(RoleName=role)
    athena.delete_work_group(WorkGroup=names["workgroup"])
    for bucket in (names["jfrogml_bucket"], names["mlflow_bucket"]):
        if bucket in {entry["Name"] for entry in s3.list_buckets()["Buckets"]}:
            s3.delete_bucket(Bucket=bucket)


@pytest.fixture()
def prerequisites(run_playbook, names):
    def run(*args, **overrides):
        extra = {"aws_prerequisites_jfrogml_bucket": names["jfrogml_bucket"],
                 "aws_prerequisites_mlflow_bucket": names["mlflow_bucket"],
                 "aws_prerequisites_jfrogml_athena_workgroup": names["workgroup"],
                 "aws_prerequisites_jfrogml_role_name": names["jfrogml_role"],
                 "aws_prerequisites_mlflow_role_name": names["mlflow_role"]}
        extra.update(overrides)
        return run_playbook(PLAYBOOK, "-e", json.dumps(extra), *args)
    return run


def role_document(iam, role):
    try:
        return iam.get_role(RoleName=role)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return None


def as_set(value):
    return set(value) if isinstance(value, list) else {value}


def statements_by_sid(iam, role, policy):
    document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    return {statement["Sid"]: statement for statement in document["Statement"]}


def assert_changed(result, expected=None):
    assert result.rc == 0, result.output
    if expected is None:
        assert result.total("changed") > 0, result.output
    else:
        assert result.total("changed") == expected, result.output


def test_check_apply_check_apply(prerequisites, aws, names):
    assert_changed(prerequisites("--check"))
    assert role_document(aws("iam"), names["jfrogml_role"]) is None
    assert names["jfrogml_bucket"] not in {entry["Name"] for entry in aws("s3").list_buckets()["Buckets"]}

    assert_changed(prerequisites())
    assert_changed(prerequisites("--check"), 0)
    second = prerequisites()
    assert_changed(second, 0)
    assert f"role_arn: arn:aws:iam::{ACCOUNT}:role/{names['jfrogml_role']}" in second.output
    assert f"athena_workgroup: {names['workgroup']}" in second.output


def test_the_bucket_is_encrypted_versioned_and_private(prerequisites, aws, names):
    assert_changed(prerequisites())
    s3 = aws("s3")
    for bucket in (names["jfrogml_bucket"], names["mlflow_bucket"]):
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                         "RestrictPublicBuckets": True}


def test_the_athena_workgroup_writes_results_into_the_bucket(prerequisites, aws, names):
    assert_changed(prerequisites())
    workgroup = aws("athena").get_work_group(WorkGroup=names["workgroup"])["WorkGroup"]
    result = workgroup["Configuration"]["ResultConfiguration"]
    assert result["OutputLocation"] == f"s3://{names['jfrogml_bucket']}/athena-results/"
    assert result["EncryptionConfiguration"]["EncryptionOption"] == "SSE_S3"


def test_the_jfrogml_role_has_the_guides_permissions_and_its_trust(prerequisites, aws, names, sandbox):
    assert_changed(prerequisites())
    iam = aws("iam")
    statements = statements_by_sid(iam, names["jfrogml_role"], "jfrogml-data-plane")
    bucket_arn = f"arn:aws:s3:::{names['jfrogml_bucket']}"
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    assert as_set(statements["Bucket"]["Action"]) == GUIDE_S3_ACTIONS
    assert as_set(statements["Bucket"]["Resource"]) == {bucket_arn, f"{bucket_arn}/*"}
    assert as_set(statements["AthenaWorkgroup"]["Action"]) == GUIDE_ATHENA_ACTIONS
    assert as_set(statements["AthenaWorkgroup"]["Resource"]) == {
        f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{names['workgroup']}"}
    assert as_set(statements["AthenaAccount"]["Action"]) == GUIDE_ATHENA_ACCOUNT_ACTIONS
    assert as_set(statements["AthenaAccount"]["Resource"]) == {"*"}
    assert as_set(statements["GlueCatalog"]["Action"]) == GUIDE_GLUE_ACTIONS
    assert as_set(statements["GlueCatalog"]["Resource"]) == {
        f"{glue}:catalog", f"{glue}:database/jfrogml_*", f"{glue}:table/jfrogml_*/*",
        f"{glue}:userDefinedFunction/jfrogml_*/*"}
    assert all(statement["Effect"] == "Allow" for statement in statements.values())

    trust = role_document(iam, names["jfrogml_role"])["AssumeRolePolicyDocument"]["Statement"]
    host = sandbox.endpoints["aws"]["eks_oidc_issuer"].removeprefix("https://")
    # Stricter than the guide's trust (aud only): sub names the data plane's service account.
    web_identity = next(s for s in trust if as_set(s["Action"]) == {"sts:AssumeRoleWithWebIdentity"})
    assert as_set(web_identity["Condition"]["StringEquals"][f"{host}:sub"]) == {"system:serviceaccount:jfrogml:jfrogml"}
    assert as_set(web_identity["Condition"]["StringEquals"][f"{host}:aud"]) == {"sts.amazonaws.com"}
    control_plane = next(s for s in trust if as_set(s["Action"]) == {"sts:AssumeRole"})
    assert as_set(control_plane["Principal"]["AWS"]) == {"arn:aws:iam::111122223333:root"}
    assert as_set(control_plane["Condition"]["StringEquals"]["sts:ExternalId"]) == {"sandbox-external-id"}


def test_the_mlflow_role_may_use_only_its_artifact_prefix(prerequisites, aws, names, sandbox):
    assert_changed(prerequisites())
    iam = aws("iam")
    statements = statements_by_sid(iam, names["mlflow_role"], "mlflow-artifacts")
    bucket_arn = f"arn:aws:s3:::{names['mlflow_bucket']}"
    assert as_set(statements["Artifacts"]["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert as_set(statements["Artifacts"]["Resource"]) == {f"{bucket_arn}/mlflow-artifacts/*"}
    assert as_set(statements["Bucket"]["Resource"]) == {bucket_arn}
    trust = role_document(iam, names["mlflow_role"])["AssumeRolePolicyDocument"]["Statement"]
    host = sandbox.endpoints["aws"]["eks_oidc_issuer"].removeprefix("https://")
    assert as_set(trust[0]["Condition"]["StringEquals"][f"{host}:sub"]) == {"system:serviceaccount:mlflow:mlflow"}


@pytest.mark.parametrize("override, message", [
    ({"aws_prerequisites_jfrogml_bucket": "Not_A_Bucket"},
     "aws_prerequisites_jfrogml_bucket must be a valid S3 bucket name, got 'Not_A_Bucket'"),
    ({"aws_prerequisites_jfrogml_bucket": "my..bucket"},
     "aws_prerequisites_jfrogml_bucket must be a valid S3 bucket name, got 'my..bucket'"),
    ({"aws_prerequisites_mlflow_bucket": "192.168.5.4"},
     "aws_prerequisites_mlflow_bucket must be a valid S3 bucket name, got '192.168.5.4'"),
    ({"aws_prerequisites_mlflow_bucket": "xn--mlflow"}, "aws_prerequisites_mlflow_bucket must be a valid S3 bucket name"),
    ({"aws_prerequisites_jfrogml_bucket": "jfrogml-s3alias"}, "aws_prerequisites_jfrogml_bucket must be a valid S3 bucket name"),
    ({"aws_prerequisites_jfrogml_glue_database_prefix": "JFrog-"},
     "aws_prerequisites_jfrogml_glue_database_prefix must be lower-case letters, digits and underscores"),
    ({"aws_prerequisites_cluster_name": None}, "exactly one of aws_prerequisites_cluster_name"),
    ({"aws_prerequisites_region": "us-east-one"},
     "set aws_prerequisites_region to an AWS region such as eu-west-1, got 'us-east-one'"),
    ({"aws_prerequisites_endpoint_url": "127.0.0.1:4566"}, "aws_prerequisites_endpoint_url must be an http(s) URL"),
    ({"aws_prerequisites_jfrogml_trusted_principals": ["12345"]},
     "aws_prerequisites_jfrogml_trusted_principals must be 12-digit AWS account IDs or IAM ARNs"),
    ({"aws_prerequisites_jfrogml_trusted_principals": ["not-an-account"]},
     "aws_prerequisites_jfrogml_trusted_principals must be 12-digit AWS account IDs or IAM ARNs"),
    ({"aws_prerequisites_jfrogml_external_id": "x"}, "aws_prerequisites_jfrogml_external_id must be 2 to 1224"),
    ({"aws_prerequisites_jfrogml_role_name": "jfrogml data plane"},
     "aws_prerequisites_jfrogml_role_name must be an IAM role name"),
    ({"aws_prerequisites_mlflow_role_name": "m" * 65}, "aws_prerequisites_mlflow_role_name must be an IAM role name"),
    ({"aws_prerequisites_jfrogml_service_accounts": [{"namespace": "JFrog ML", "name": "jfrogml"}]},
     "aws_prerequisites_jfrogml_service_accounts must name Kubernetes namespaces (DNS labels)"),
    ({"aws_prerequisites_mlflow_service_account": {"namespace": "mlflow", "name": "MLflow_SA"}},
     "aws_prerequisites_mlflow_service_account needs a namespace and a name (a DNS label and a DNS subdomain)"),
    ({"aws_prerequisites_jfrogml_s3_actions": ["GetObject"]}, "aws_prerequisites_jfrogml_s3_actions must be s3: actions"),
])
def test_a_bad_inventory_fails_in_the_preflight_before_any_write(prerequisites, aws, names, sandbox, override, message):
    since = recorded(sandbox)
    result = prerequisites(**override)
    assert result.rc != 0
    assert message in " ".join(result.output.split()), result.output
    assert "Create the bucket" not in result.output
    assert writes(sandbox, since) == []
    assert role_document(aws("iam"), names["mlflow_role"]) is None
    assert names["mlflow_bucket"] not in {entry["Name"] for entry in aws("s3").list_buckets()["Buckets"]}


def test_a_wrong_cluster_name_names_the_cluster(prerequisites, aws, names):
    result = prerequisites(aws_prerequisites_cluster_name="no-such-cluster")
    assert result.rc != 0
    assert "EKS cluster 'no-such-cluster' not found" in result.output
    assert role_document(aws("iam"), names["jfrogml_role"]) is None

"""The prerequisite roles grant what the JFrog ML self-managed installation guide asks for, action by action.

The guide's lists are written out here from the guide (JFrog ML on AWS: "Create a role with the below policy"; JFrog
ML on GCP: the roles of jfrogml-sa and its key secret), independently of the roles' defaults.
"""

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

GUIDE_S3 = {"s3:*"}
GUIDE_ATHENA = {"athena:ListQueryExecutions", "athena:BatchGetQueryExecution", "athena:GetQueryResults",
                "athena:GetQueryExecution", "athena:StartQueryExecution", "athena:ListDataCatalogs",
                "athena:GetWorkGroup", "athena:ListEngineVersions"}
GUIDE_GLUE = {"glue:GetDatabase", "glue:CreateDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
              "glue:GetUserDefinedFunctions", "glue:GetPartitions", "glue:DeleteDatabase", "glue:GetDatabases",
              "glue:GetCatalogImportStatus", "glue:BatchDeleteTable", "glue:GetTableVersions",
              "glue:GetPartitionIndexes", "glue:BatchCreatePartition", "glue:DeleteTable", "glue:UpdateTable",
              "glue:GetPartition"}
# What the role grants beyond the guide, on the same resources (roles/aws_prerequisites/defaults/main.yml).
ROLE_ATHENA_EXTRAS = {"athena:StopQueryExecution"}
ROLE_GLUE_EXTRAS = {"glue:UpdateDatabase", "glue:CreatePartition", "glue:UpdatePartition", "glue:DeletePartition",
                    "glue:BatchDeletePartition", "glue:BatchGetPartition", "glue:GetUserDefinedFunction",
                    "glue:CreateUserDefinedFunction", "glue:UpdateUserDefinedFunction",
                    "glue:DeleteUserDefinedFunction"}
# Athena actions without a resource type: IAM authorises them on "*" only, not on a workgroup.
ATHENA_WITHOUT_RESOURCE = {"athena:ListDataCatalogs", "athena:ListEngineVersions"}

GUIDE_GCP_ROLES = {"roles/biglake.admin", "roles/bigquery.admin", "roles/iam.serviceAccountUser", "roles/storage.admin",
                   "roles/storage.objectAdmin", "roles/iam.workloadIdentityUser"}
GUIDE_KEY_SECRET = "jfrogml-gcp-service-account"


def load(path):
    return yaml.safe_load((REPO / path).read_text(encoding="utf-8"))


def spec_defaults(role):
    options = load(f"roles/{role}/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    return {name: option.get("default") for name, option in options.items()}


@pytest.fixture(scope="module")
def aws():
    return load("roles/aws_prerequisites/defaults/main.yml")


@pytest.fixture(scope="module")
def gcp():
    return load("roles/gcp_prerequisites/defaults/main.yml")


def test_the_aws_defaults_are_the_guides_policy_and_the_documented_extras(aws):
    workgroup, account = aws["aws_prerequisites_jfrogml_athena_actions"], aws["aws_prerequisites_jfrogml_athena_account_actions"]
    assert set(aws["aws_prerequisites_jfrogml_s3_actions"]) == GUIDE_S3
    assert set(workgroup) | set(account) == GUIDE_ATHENA | ROLE_ATHENA_EXTRAS
    assert set(account) == ATHENA_WITHOUT_RESOURCE
    assert set(aws["aws_prerequisites_jfrogml_glue_actions"]) == GUIDE_GLUE | ROLE_GLUE_EXTRAS
    for name in ("s3", "athena", "athena_account", "glue"):
        actions = aws[f"aws_prerequisites_jfrogml_{name}_actions"]
        assert len(actions) == len(set(actions)), name


def test_each_action_list_lands_in_its_statement():
    task = next(task for task in load("roles/aws_prerequisites/tasks/jfrogml.yml")
                if "mlplatform.selfhosted.iam_oidc_role" in task)
    statements = {statement["Sid"]: statement for statement in task["vars"]["aws_prerequisites_jfrogml_statements"]}
    assert statements["AthenaAccount"] == {"Sid": "AthenaAccount", "Effect": "Allow", "Resource": "*",
                                           "Action": "{{ aws_prerequisites_jfrogml_athena_account_actions }}"}
    assert statements["AthenaWorkgroup"]["Action"] == "{{ aws_prerequisites_jfrogml_athena_actions }}"
    assert "workgroup/" in statements["AthenaWorkgroup"]["Resource"]
    assert statements["GlueCatalog"]["Action"] == "{{ aws_prerequisites_jfrogml_glue_actions }}"
    assert any(resource.endswith(":catalog") for resource in statements["GlueCatalog"]["Resource"])
    assert statements["Bucket"]["Action"] == "{{ aws_prerequisites_jfrogml_s3_actions }}"


def test_the_gcp_defaults_grant_jfrogml_sa_the_guides_roles_and_name_its_key_secret_as_the_guide(gcp):
    project, bucket = gcp["gcp_prerequisites_jfrogml_project_roles"], gcp["gcp_prerequisites_jfrogml_bucket_roles"]
    assert GUIDE_GCP_ROLES <= set(project) | set(bucket)
    assert {"roles/iam.serviceAccountUser", "roles/iam.workloadIdentityUser"} <= set(project)
    assert set(bucket) == {"roles/storage.admin", "roles/storage.objectAdmin"}
    assert gcp["gcp_prerequisites_jfrogml_key_secret_name"] == GUIDE_KEY_SECRET


@pytest.mark.parametrize("role", ["aws_prerequisites", "gcp_prerequisites"])
def test_the_argument_specs_document_the_defaults(role):
    defaults, documented = load(f"roles/{role}/defaults/main.yml"), spec_defaults(role)
    for name, value in defaults.items():
        if isinstance(value, list) or name.endswith("_key_secret_name"):
            assert documented[name] == value, name

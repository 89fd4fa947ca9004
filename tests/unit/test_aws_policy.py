"""Policy documents compared on meaning: plugins/module_utils/aws/policy.py."""

import json
from urllib.parse import quote

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.errors import InvalidInput
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.policy import (
    normalized_policy,
    policies_equal,
    policy_from_input,
    policy_json,
)

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com",
                                        f"{ISSUER}:sub": "system:serviceaccount:mlflow:mlflow"}}},
        {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}},
    ],
}


def test_statement_order_and_single_values_do_not_matter():
    reordered = {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]},
             "Condition": {"StringEquals": {"sts:ExternalId": ["abc"]}}},
            {"Effect": "Allow", "Principal": {"Federated": [PROVIDER]}, "Action": ["sts:AssumeRoleWithWebIdentity"],
             "Condition": {"StringEquals": {f"{ISSUER}:sub": ["system:serviceaccount:mlflow:mlflow"],
                                            f"{ISSUER}:aud": ["sts.amazonaws.com"]}}},
        ],
    }
    assert policies_equal(TRUST, reordered)


def test_json_yaml_and_url_encoded_forms_are_equal():
    as_json = json.dumps(TRUST)
    as_yaml = (
        "Version: '2012-10-17'\n"
        "Statement:\n"
        "  - Effect: Allow\n"
        "    Principal: {AWS: '111122223333'}\n"
        "    Action: sts:AssumeRole\n"
        "    Condition: {StringEquals: {'sts:ExternalId': abc}}\n"
        "  - Effect: Allow\n"
        f"    Principal: {{Federated: '{PROVIDER}'}}\n"
        "    Action: [sts:AssumeRoleWithWebIdentity]\n"
        "    Condition:\n"
        "      StringEquals:\n"
        f"        '{ISSUER}:aud': sts.amazonaws.com\n"
        f"        '{ISSUER}:sub': 'system:serviceaccount:mlflow:mlflow'\n"
    )
    assert policies_equal(TRUST, as_json)
    assert policies_equal(TRUST, as_yaml)
    assert policies_equal(TRUST, quote(as_json))


def test_a_changed_subject_is_a_difference():
    changed = json.loads(json.dumps(TRUST))
    changed["Statement"][0]["Condition"]["StringEquals"][f"{ISSUER}:sub"] = "system:serviceaccount:mlflow:other"
    assert not policies_equal(TRUST, changed)


@pytest.mark.parametrize("field, value", [("Effect", "Deny"), ("Action", "sts:TagSession"),
                                          ("Principal", {"AWS": "444455556666"})])
def test_a_changed_grant_is_a_difference(field, value):
    changed = json.loads(json.dumps(TRUST))
    changed["Statement"][1][field] = value
    assert not policies_equal(TRUST, changed)


def test_star_principal_forms_and_boolean_conditions_are_equal():
    first = {"Version": "2012-10-17", "Statement": {
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
        "Condition": {"Bool": {"aws:SecureTransport": False}}}}
    second = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": ["*"]},
                                                      "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b/*"],
                                                      "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    assert policies_equal(first, second)


def test_duplicate_statements_collapse():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    assert policies_equal({"Version": "2012-10-17", "Statement": [statement, dict(statement)]},
                          {"Version": "2012-10-17", "Statement": statement})


def test_a_missing_version_means_iams_default():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    assert policies_equal({"Statement": [statement]}, {"Version": "2008-10-17", "Statement": [statement]})
    assert not policies_equal({"Statement": [statement]}, {"Version": "2012-10-17", "Statement": [statement]})


def test_none_equals_only_none():
    assert policies_equal(None, None)
    assert not policies_equal(None, TRUST)


def test_normalised_form_is_stable_and_canonical_json_is_compact():
    once = normalized_policy(TRUST)
    assert normalized_policy(once) == once
    assert policy_json(TRUST) == policy_json(json.dumps(TRUST))
    statement = {"Effect": "Allow", "Action": "a:b", "Resource": "*"}
    assert " " not in policy_json({"Version": "2012-10-17", "Statement": statement})


@pytest.mark.parametrize("value", [42, "[1, 2]", "{not: [valid", "{\"Version\": \"2012-10-17\"}"])
def test_what_is_not_a_policy_is_refused(value):
    with pytest.raises(InvalidInput):
        policy_from_input(value, "inline_policies.bad")

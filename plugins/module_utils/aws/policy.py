# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""IAM policy documents compared on meaning, not text.

Two documents are equal when they grant the same thing: statement order, a single value versus a
one-element list, an account id versus its root ARN, "*" versus {"AWS": "*"}, booleans versus the
strings IAM stores, JSON versus YAML versus the URL-encoded JSON some API calls return do not matter.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws.errors import InvalidInput

try:
    import yaml
except ImportError:
    HAS_YAML = False
else:
    HAS_YAML = True

# What IAM assumes when a document leaves Version out.
DEFAULT_VERSION = "2008-10-17"
LIST_ELEMENTS = ("Action", "NotAction", "Resource", "NotResource")
PRINCIPAL_ELEMENTS = ("Principal", "NotPrincipal")
ACCOUNT_ID = re.compile(r"^\d{12}$")


def policy_from_input(value, name="policy"):
    """A policy document as a dict, from a dict, JSON, YAML or URL-encoded JSON."""
    if isinstance(value, dict):
        document = value
    elif isinstance(value, str):
        document = _parse_text(value, name)
    else:
        raise InvalidInput(f"{name}: a policy document must be a dict or a JSON/YAML string, not {type(value).__name__}")
    if not isinstance(document, dict) or "Statement" not in document:
        raise InvalidInput(f"{name}: a policy document needs a Statement")
    return document


def _parse_text(text, name):
    stripped = text.strip()
    if stripped.startswith("%7B") or stripped.startswith("%7b"):
        stripped = unquote(stripped)
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    if not HAS_YAML:
        raise InvalidInput(f"{name}: not valid JSON (and PyYAML, needed for YAML documents, is missing)")
    try:
        return yaml.safe_load(stripped)
    except yaml.YAMLError as error:
        raise InvalidInput(f"{name}: neither valid JSON nor YAML: {error}") from None


def _scalar(value):
    """Condition values as IAM stores them: strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sorted_unique(values):
    if not isinstance(values, list):
        values = [values]
    return sorted({_scalar(value) for value in values})


def _normalized_principal(principal):
    if principal == "*":
        principal = {"AWS": "*"}
    if not isinstance(principal, dict):
        raise InvalidInput(f"a Principal must be '*' or a mapping, not {principal!r}")
    normalized = {}
    for kind, values in principal.items():
        values = _sorted_unique(values)
        if kind == "AWS":
            values = sorted({f"arn:aws:iam::{value}:root" if ACCOUNT_ID.match(value) else value for value in values})
        normalized[kind] = values
    return normalized


def _normalized_condition(condition):
    return {operator: {key: _sorted_unique(values) for key, values in pairs.items()}
            for operator, pairs in condition.items()}


def _normalized_statement(statement):
    if not isinstance(statement, dict):
        raise InvalidInput(f"a Statement must be a mapping, not {statement!r}")
    normalized = {}
    for key, value in statement.items():
        if key in LIST_ELEMENTS:
            normalized[key] = _sorted_unique(value)
        elif key in PRINCIPAL_ELEMENTS:
            normalized[key] = _normalized_principal(value)
        elif key == "Condition":
            normalized[key] = _normalized_condition(value)
        else:
            normalized[key] = value
    return normalized


def normalized_policy(document):
    """The canonical form of a policy document: sorted, de-duplicated statements with list values."""
    document = policy_from_input(document)
    statements = document["Statement"]
    if not isinstance(statements, list):
        statements = [statements]
    unique = {json.dumps(_normalized_statement(statement), sort_keys=True) for statement in statements}
    normalized = {key: value for key, value in document.items() if key != "Statement"}
    normalized["Version"] = document.get("Version", DEFAULT_VERSION)
    normalized["Statement"] = [json.loads(text) for text in sorted(unique)]
    return normalized


def policies_equal(first, second):
    """True when two policy documents (any accepted form, or None) grant the same."""
    if first is None or second is None:
        return first is None and second is None
    return normalized_policy(first) == normalized_policy(second)


def policy_json(document):
    """The compact, canonical JSON text of a policy document, as sent to AWS."""
    return json.dumps(normalized_policy(document), sort_keys=True, separators=(",", ":"))

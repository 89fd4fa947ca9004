"""Label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors, as kube parses them."""

import re

from tests.sandbox.kube.errors import bad_request

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_CMP = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)\s*$")


def _split_terms(text):
    """Split on commas that are not inside parentheses."""
    terms, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term for term in terms if term.strip()]


def parse_labels(text):
    """Return a predicate over a labels dict."""
    checks = []
    for term in _split_terms(text or ""):
        match = _CMP.match(term)
        if match:
            key, op, value = match.groups()
            if op == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
            continue
        match = _SET.match(term)
        if not match:
            raise bad_request(f"unable to parse requirement: found '{term.strip()}', expected: '=', '!=', '==', 'in', notin'")
        negate, key, op, values = match.groups()
        if op:
            allowed = {value.strip() for value in values.split(",") if value.strip()}
            if op == "in":
                checks.append(lambda labels, k=key, a=allowed: labels.get(k) in a)
            else:
                checks.append(lambda labels, k=key, a=allowed: labels.get(k) not in a)
        elif negate:
            checks.append(lambda labels, k=key: k not in labels)
        else:
            checks.append(lambda labels, k=key: k in labels)
    return lambda labels: all(check(labels or {}) for check in checks)


def _field_value(obj, path):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    if node is None:
        return ""
    return node if isinstance(node, str) else str(node).lower() if isinstance(node, bool) else str(node)


def parse_fields(text):
    """Return a predicate over an object; any dotted path is accepted (kube allows a per-kind subset)."""
    checks = []
    for term in _split_terms(text or ""):
        match = re.match(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*(.*?)\s*$", term)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        path, op, value = match.groups()
        if op == "!=":
            checks.append(lambda obj, p=path, v=value: _field_value(obj, p) != v)
        else:
            checks.append(lambda obj, p=path, v=value: _field_value(obj, p) == v)
    return lambda obj: all(check(obj) for check in checks)


def match_label_selector(selector, labels):
    """Match a LabelSelector object (matchLabels/matchExpressions), as controllers use it."""
    labels = labels or {}
    for key, value in (selector or {}).get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in (selector or {}).get("matchExpressions", []):
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True

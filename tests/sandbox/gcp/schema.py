"""Request-body validation against Google's published discovery schemas.

The schemas the emulator relies on are pinned under discovery/ (an extract of the discovery
documents that google-api-python-client ships), so the emulator never reads anything outside
this package at run time. `python -m tests.sandbox.gcp.schema` regenerates the extract from the
installed googleapiclient.

Google parses JSON bodies into protobuf messages: an unknown field name or a value of the wrong
type fails the whole request with 400 INVALID_ARGUMENT and a google.rpc.BadRequest detail whose
paths use the proto (snake_case) field names. This module reproduces that.
"""

import functools
import json
import re
import sys
from pathlib import Path

from tests.sandbox.gcp.errors import ApiError, bad_request

PINNED_DIR = Path(__file__).with_name("discovery")

# Request (and resource) schemas per API; their $ref closure is what gets pinned.
ROOTS = {
    "biglake": ("Catalog", "Database", "Table", "RenameTableRequest", "SetIamPolicyRequest"),
    "iam": ("CreateServiceAccountRequest", "PatchServiceAccountRequest", "ServiceAccount", "SetIamPolicyRequest",
            "CreateServiceAccountKeyRequest", "DisableServiceAccountRequest", "EnableServiceAccountRequest",
            "DisableServiceAccountKeyRequest", "EnableServiceAccountKeyRequest", "TestIamPermissionsRequest",
            "ServiceAccountKey", "UndeleteServiceAccountRequest"),
    "cloudresourcemanager": ("GetIamPolicyRequest", "SetIamPolicyRequest", "TestIamPermissionsRequest", "Project"),
    "serviceusage": ("EnableServiceRequest", "DisableServiceRequest", "BatchEnableServicesRequest",
                     "GoogleApiServiceusageV1Service", "Operation"),
}

_PROTO_TYPES = {"string": "TYPE_STRING", "boolean": "TYPE_BOOL", "integer": "TYPE_INT32", "number": "TYPE_DOUBLE"}


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def regenerate(target=PINNED_DIR):
    """Dev-time: copy the $ref closure of ROOTS out of googleapiclient's discovery documents."""
    import googleapiclient  # pylint: disable=import-outside-toplevel
    documents = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    target.mkdir(parents=True, exist_ok=True)
    for api, roots in ROOTS.items():
        document = json.loads((documents / f"{api}.v1.json").read_text(encoding="utf-8"))
        schemas = document["schemas"]
        pending, keep = list(roots), {}
        while pending:
            name = pending.pop()
            if name in keep:
                continue
            keep[name] = schemas[name]
            pending.extend(_refs(schemas[name]))
        pinned = {"name": document["name"], "version": document["version"], "revision": document["revision"],
                  "schemas": dict(sorted(keep.items()))}
        (target / f"{api}.v1.json").write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n", encoding="utf-8")


@functools.lru_cache(maxsize=None)
def schemas(api):
    return json.loads((PINNED_DIR / f"{api}.v1.json").read_text(encoding="utf-8"))["schemas"]


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _join(path, name):
    return f"{path}.{name}" if path else name


def _type_name(api, schema):
    if "$ref" in schema:
        return f"type.googleapis.com/{api}.{schema['$ref']}"
    if schema.get("enum"):
        return "TYPE_ENUM"
    if schema.get("format") == "int64":
        return "TYPE_INT64"
    return _PROTO_TYPES.get(schema.get("type"), "TYPE_MESSAGE")


class _Checker:
    def __init__(self, api):
        self.api = api
        self.schemas = schemas(api)
        self.violations = []

    def unknown(self, name, path):
        where = f" at '{path}'" if path else ""
        self.violations.append((path, f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'))

    def invalid(self, schema, value, path):
        self.violations.append((path, f"Invalid value at '{path}' ({_type_name(self.api, schema)}), {json.dumps(value)}"))

    def check(self, schema, value, path):
        if value is None:  # proto3 JSON: null means "default value"
            return
        if "$ref" in schema:
            self.check_object(schema, self.schemas[schema["$ref"]], value, path)
            return
        kind = schema.get("type")
        if kind == "object":
            self.check_object(schema, schema, value, path)
        elif kind == "array":
            if not isinstance(value, list):
                self.invalid(schema.get("items", {}), value, path)
                return
            for index, item in enumerate(value):
                self.check(schema.get("items", {}), item, f"{path}[{index}]")
        elif kind == "string":
            self.check_string(schema, value, path)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.invalid(schema, value, path)
        elif kind in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                self.invalid(schema, value, path)
            elif isinstance(value, str):
                try:
                    float(value)
                except ValueError:
                    self.invalid(schema, value, path)
        # type "any" and unknown kinds take every JSON value

    def check_string(self, schema, value, path):
        if schema.get("format") in ("int64", "uint64") and isinstance(value, int) and not isinstance(value, bool):
            return
        if not isinstance(value, str):
            self.invalid(schema, value, path)
        elif schema.get("enum") and value not in schema["enum"]:
            self.invalid(schema, value, path)

    def check_object(self, outer, schema, value, path):
        if not isinstance(value, dict):
            self.invalid(outer, value, path)
            return
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if properties is None and extra is not None:
            for index, (key, item) in enumerate(value.items()):
                del key
                self.check(extra, item, f"{path}[{index}].value")
            return
        if properties is None and schema.get("type") != "object":
            return
        for key, item in value.items():
            if key in (properties or {}):
                self.check(properties[key], item, _join(path, snake(key)))
            elif extra is not None:
                self.check(extra, item, _join(path, snake(key)))
            elif key == "@type" and schema.get("type") == "any":
                continue
            else:
                self.unknown(key, path)


def validate(api, schema_name, body, at=""):
    """Raise 400 INVALID_ARGUMENT unless body fits schema_name; `at` is the proto field holding the body."""
    checker = _Checker(api)
    checker.check({"$ref": schema_name}, body, at)
    if checker.violations:
        first = checker.violations[0][1]
        rest = [violation[1].replace("Invalid JSON payload received. ", "") for violation in checker.violations[1:]]
        message = "\n".join([first] + rest)
        raise ApiError("INVALID_ARGUMENT", message,
                       [bad_request(list(checker.violations))])


if __name__ == "__main__":
    regenerate(Path(sys.argv[1]) if len(sys.argv) > 1 else PINNED_DIR)

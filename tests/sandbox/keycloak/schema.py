"""Validation of Admin REST API bodies against the Keycloak 23 admin OpenAPI document.

The document (dahag-ag/keycloak-openapi, MIT) ships gzipped next to this module; it is read
once per process. Its paths already carry the `/admin/realms` prefix real Keycloak serves, so
route templates here are the document's own path strings.

Keycloak deserialises bodies with Jackson, which rejects properties a representation does not
declare. The document leaves `additionalProperties` open everywhere, so objects that declare
`properties` (and nothing else about extra keys) are closed here; maps such as `attributes` or
`config` keep their `additionalProperties` and stay open.
"""

import copy
import gzip
import re
from pathlib import Path

import yaml
from openapi_schema_validator import OAS30Validator

SPEC_FILE = Path(__file__).with_name("keycloak-23-admin-openapi.yaml.gz")

# The document types POST /admin/realms as an opaque binary string; Keycloak parses it as a
# RealmRepresentation (the realm import), so that is what the emulator validates.
REQUEST_OVERRIDES = {("POST", "/admin/realms"): {"$ref": "#/components/schemas/RealmRepresentation"}}

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _close_objects(node):
    """Return a copy of a schema tree in which declared-property objects reject unknown keys."""
    if isinstance(node, list):
        return [_close_objects(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _close_objects(value) for key, value in node.items()}
    if "properties" in closed and "additionalProperties" not in closed and "allOf" not in closed:
        closed["additionalProperties"] = False
    return closed


def template_regex(template):
    """Regex for an OpenAPI path template; `{path}` of group-by-path may span slashes."""
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = ""
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            pattern += "(.+)" if part == "{path}" else "([^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}$")


class SchemaViolation(Exception):
    """A body does not match the document."""


class OpenApiDocument:
    """The admin OpenAPI document, with validators for request and response bodies."""

    def __init__(self, path=SPEC_FILE):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            self.document = yaml.load(handle, Loader=_LOADER)  # nosec - CSafeLoader/SafeLoader only
        self.paths = self.document["paths"]
        self._components = _close_objects(self.document["components"])
        self._validators = {}

    def has_operation(self, method, template):
        return method.lower() in self.paths.get(template, {})

    def _validator(self, schema):
        key = repr(schema)
        validator = self._validators.get(key)
        if validator is None:
            # The components travel inside the root schema so `#/components/...` references resolve.
            root = {"allOf": [_close_objects(copy.deepcopy(schema))], "components": self._components}
            validator = OAS30Validator(root)
            self._validators[key] = validator
        return validator

    def _check(self, schema, body, what):
        errors = sorted(self._validator(schema).iter_errors(body), key=lambda err: list(err.absolute_path))
        if errors:
            details = "; ".join(f"{'/'.join(str(p) for p in err.absolute_path) or '<body>'}: {err.message}" for err in errors[:5])
            raise SchemaViolation(f"{what}: {details}")

    def request_schema(self, method, template):
        override = REQUEST_OVERRIDES.get((method, template))
        if override:
            return override
        operation = self.paths.get(template, {}).get(method.lower(), {})
        content = operation.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return media.get("schema") if media else None

    def validate_request(self, method, template, body):
        """Raise SchemaViolation when a JSON request body does not match the operation's schema."""
        schema = self.request_schema(method, template)
        if schema is None:
            # Operations without a body schema: Keycloak ignores what is sent (python-keycloak sends one).
            return
        self._check(schema, body, f"request body of {method} {template}")

    def response_schema(self, method, template, status):
        operation = self.paths.get(template, {}).get(method.lower())
        if operation is None:
            raise SchemaViolation(f"{method} {template} is not in the Keycloak admin OpenAPI document")
        responses = operation.get("responses", {})
        # The document lists 200 where Keycloak answers 201 on creation; fall back to any 2xx schema.
        candidates = [str(status)] + [code for code in responses if code.startswith("2") and code != str(status)]
        for code in candidates:
            media = responses.get(code, {}).get("content", {})
            for content_type in ("application/json", "*/*"):
                if content_type in media and "schema" in media[content_type]:
                    return media[content_type]["schema"]
        return None

    def validate_response(self, method, template, status, body):
        """Raise SchemaViolation when a 2xx JSON response body does not match the documented schema."""
        schema = self.response_schema(method, template, status)
        if schema is None:
            raise SchemaViolation(f"{method} {template} documents no response body, but the emulator sent one")
        self._check(schema, body, f"response body of {method} {template} ({status})")

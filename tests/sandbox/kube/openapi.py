"""The bundled Kubernetes OpenAPI v2 document: loaded once, served pre-serialised, and used for
the resource list, strategic-merge list keys and the derived OpenAPI v3 documents kubectl reads."""

import copy
import gzip
import hashlib
import json
import threading
from pathlib import Path

DATA = Path(__file__).with_name("data") / "kubernetes-openapi-v2.json.gz"
V2_REF = "#/definitions/"
V3_REF = "#/components/schemas/"


def collect_refs(node, found):
    """Collect the definition names a schema fragment refers to."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(V2_REF):
            found.add(ref[len(V2_REF):])
        for value in node.values():
            collect_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            collect_refs(value, found)


def _rewrite_refs(node):
    if isinstance(node, dict):
        return {key: (V3_REF + value[len(V2_REF):] if key == "$ref" and isinstance(value, str) and value.startswith(V2_REF)
                      else _rewrite_refs(value)) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(value) for value in node]
    return node


class OpenAPI:
    """The v2 document plus indexes over it."""

    def __init__(self, path=DATA):
        raw = gzip.decompress(Path(path).read_bytes())
        self.doc = json.loads(raw)
        self.v2_bytes = json.dumps(self.doc, separators=(",", ":")).encode()
        self.v2_etag = hashlib.sha256(self.v2_bytes).hexdigest()[:32].upper()
        self.definitions = self.doc["definitions"]
        self.by_gvk = {}
        for name, schema in self.definitions.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                self.by_gvk.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
        self._v3_cache = {}
        self._v3_lock = threading.Lock()

    def definition_for(self, group, version, kind):
        name = self.by_gvk.get((group, version, kind))
        return self.definitions.get(name) if name else None

    def resolve(self, schema):
        """Follow $ref (and single-element allOf) to the definition it names."""
        while isinstance(schema, dict):
            if "$ref" in schema:
                schema = self.definitions.get(schema["$ref"][len(V2_REF):], {})
            elif len(schema.get("allOf", [])) == 1:
                schema = schema["allOf"][0]
            else:
                break
        return schema or {}

    # --- OpenAPI v3, derived per group-version from the v2 paths and definitions
    def group_versions(self):
        """The group-version paths (`api/v1`, `apis/apps/v1`) that have operations."""
        found = set()
        for path in self.doc["paths"]:
            parts = path.strip("/").split("/")
            if parts[0] == "api" and len(parts) >= 3:
                found.add("api/v1")
            elif parts[0] == "apis" and len(parts) >= 4:
                found.add("/".join(parts[:3]))
        return sorted(found)

    def _parameter(self, param):
        if "$ref" in param:
            param = self.doc["parameters"][param["$ref"].split("/")[-1]]
        return param

    def _operation_v3(self, operation, path_params):
        out = {key: value for key, value in operation.items() if key not in ("parameters", "responses", "consumes", "produces", "schemes")}
        params, body = [], None
        for param in list(path_params) + list(operation.get("parameters", [])):
            param = self._parameter(param)
            if param.get("in") == "body":
                body = param
                continue
            converted = {key: param[key] for key in ("name", "in", "description", "required") if key in param}
            converted["schema"] = {key: param[key] for key in ("type", "uniqueItems", "format") if key in param}
            params = [p for p in params if not (p["name"] == converted["name"] and p["in"] == converted["in"])]
            params.append(converted)
        if params:
            out["parameters"] = params
        if body is not None:
            out["requestBody"] = {"content": {mime: {"schema": body.get("schema", {})} for mime in operation.get("consumes", ["*/*"])},
                                  "required": bool(body.get("required"))}
        responses = {}
        for code, response in operation.get("responses", {}).items():
            converted = {"description": response.get("description", "")}
            if "schema" in response:
                converted["content"] = {mime: {"schema": response["schema"]} for mime in operation.get("produces", ["application/json"])}
            responses[code] = converted
        out["responses"] = responses
        return out

    def v3_document(self, gv_path):
        """The OpenAPI v3 document of one group-version (bytes), or None; built on first use, then cached."""
        with self._v3_lock:
            if gv_path in self._v3_cache:
                return self._v3_cache[gv_path]
        prefix = "/" + gv_path + "/"
        paths = {}
        for path, item in self.doc["paths"].items():
            if not path.startswith(prefix) and path != prefix:
                continue
            path_params = item.get("parameters", [])
            paths[path] = {method: self._operation_v3(op, path_params) for method, op in item.items() if method != "parameters"}
        if not paths:
            return None
        wanted, pending = set(), set()
        collect_refs(paths, pending)
        while pending:
            name = pending.pop()
            if name in wanted or name not in self.definitions:
                continue
            wanted.add(name)
            collect_refs(self.definitions[name], pending)
        document = {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "unversioned"},
            "paths": _rewrite_refs(paths),
            "components": {"schemas": {name: _rewrite_refs(self.definitions[name]) for name in sorted(wanted)},
                           "securitySchemes": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}}},
        }
        data = json.dumps(document, separators=(",", ":")).encode()
        entry = (data, hashlib.sha512(data).hexdigest()[:128].upper())
        with self._v3_lock:
            self._v3_cache[gv_path] = entry
        return entry

    def v3_hash(self, gv_path):
        entry = self.v3_document(gv_path)
        return entry[1] if entry else None


class SchemaNode:
    """A position inside an object schema: tells the patch engines how lists merge there.

    Works on v2 definitions (builtins, with $ref) and on CRD openAPIV3Schema (inline)."""

    def __init__(self, api, schema):
        self.api = api
        self.schema = api.resolve(schema) if api is not None else (schema or {})

    def _make(self, schema):
        return SchemaNode(self.api, schema)

    def field(self, name):
        props = self.schema.get("properties") or {}
        if name in props:
            return self._make(props[name])
        extra = self.schema.get("additionalProperties")
        if isinstance(extra, dict):
            return self._make(extra)
        if self.schema.get("x-kubernetes-preserve-unknown-fields") or self.schema.get("type") == "object" and not props:
            return self._make({})
        return self._make({})

    def items(self):
        return self._make(self.schema.get("items") or {})

    def list_keys(self):
        """The keys that identify list items (merge key / map keys), or None for atomic/set lists."""
        keys = self.schema.get("x-kubernetes-list-map-keys")
        if keys:
            return list(keys)
        key = self.schema.get("x-kubernetes-patch-merge-key")
        return [key] if key else None

    def patch_strategy(self):
        return set(filter(None, (self.schema.get("x-kubernetes-patch-strategy") or "").split(",")))

    def list_type(self):
        kind = self.schema.get("x-kubernetes-list-type")
        if kind:
            return kind
        if "merge" in self.patch_strategy():
            return "map" if self.schema.get("x-kubernetes-patch-merge-key") else "set"
        return "atomic"


def crd_schema_node(crd_version):
    """Schema root of one CRD version (inline schema, no refs)."""
    schema = ((crd_version or {}).get("schema") or {}).get("openAPIV3Schema") or {}
    return SchemaNode(None, copy.deepcopy(schema))

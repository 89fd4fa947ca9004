"""Decode the few Kubernetes protobuf request bodies typed client-go clients send.

Since client-go defaults built-in types to protobuf, Helm's release storage writes Secrets (or
ConfigMaps) and DeleteOptions that way. Responses stay JSON (clients accept it). Field numbers
are those of k8s.io/api generated.proto (published API definitions); other kinds get a 415."""

import base64
import datetime

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"

# name -> {field number: (json name, type)}; type is a scalar kind, a message name,
# "map:<value kind>" or "list:<kind>"
TIME, STR, INT, BOOL, BYTES = "time", "string", "int", "bool", "bytes"
SCHEMAS = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", BYTES), 3: ("contentEncoding", STR), 4: ("contentType", STR)},
    "TypeMeta": {1: ("apiVersion", STR), 2: ("kind", STR)},
    "ObjectMeta": {1: ("name", STR), 2: ("generateName", STR), 3: ("namespace", STR), 4: ("selfLink", STR), 5: ("uid", STR),
                   6: ("resourceVersion", STR), 7: ("generation", INT), 8: ("creationTimestamp", TIME),
                   9: ("deletionTimestamp", TIME), 10: ("deletionGracePeriodSeconds", INT), 11: ("labels", "map:string"),
                   12: ("annotations", "map:string"), 13: ("ownerReferences", "list:OwnerReference"), 14: ("finalizers", "list:string")},
    "OwnerReference": {1: ("kind", STR), 3: ("name", STR), 4: ("uid", STR), 5: ("apiVersion", STR), 6: ("controller", BOOL),
                       7: ("blockOwnerDeletion", BOOL)},
    "Time": {1: ("seconds", INT), 2: ("nanos", INT)},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:bytes"), 3: ("type", STR), 4: ("stringData", "map:string"),
               5: ("immutable", BOOL)},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:string"), 3: ("binaryData", "map:bytes"), 4: ("immutable", BOOL)},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "list:string")},
    "DeleteOptions": {1: ("gracePeriodSeconds", INT), 2: ("preconditions", "Preconditions"), 3: ("orphanDependents", BOOL),
                      4: ("propagationPolicy", STR), 5: ("dryRun", "list:string")},
    "Preconditions": {1: ("uid", STR), 2: ("resourceVersion", STR)},
}


class UnsupportedKind(ValueError):
    """A protobuf body of a kind this decoder does not know."""


def _varint(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data):
    """Yield (field number, wire type, value) of a message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _scalar(kind, value):
    if kind == STR:
        return value.decode("utf-8")
    if kind == BYTES:
        return base64.b64encode(value).decode("ascii")
    if kind == BOOL:
        return bool(value)
    if kind == INT:
        return value - (1 << 64) if value >= 1 << 63 else value
    return decode_message(kind, value)


def decode_message(name, data):
    schema = SCHEMAS[name]
    out = {}
    for number, _wire, value in _fields(data):
        if number not in schema:
            continue
        field, kind = schema[number]
        if kind.startswith("map:"):
            entry = dict((n, v) for n, _w, v in _fields(value))
            out.setdefault(field, {})[entry.get(1, b"").decode("utf-8")] = _scalar(kind[4:], entry.get(2, b""))
        elif kind.startswith("list:"):
            out.setdefault(field, []).append(_scalar(kind[5:], value))
        elif kind == TIME:
            stamp = decode_message("Time", value)
            out[field] = datetime.datetime.fromtimestamp(stamp.get("seconds", 0), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            out[field] = _scalar(kind, value)
    return out


def decode(body):
    """JSON-shaped dict of a `k8s\\0`-framed protobuf object."""
    if not body.startswith(MAGIC):
        raise ValueError("protobuf body without the k8s envelope")
    unknown = decode_message("Unknown", body[len(MAGIC):])
    type_meta = unknown.get("typeMeta", {})
    kind = type_meta.get("kind", "")
    if kind not in SCHEMAS or kind in ("Unknown", "TypeMeta", "Time"):
        raise UnsupportedKind(kind)
    raw = base64.b64decode(unknown.get("raw", ""))
    obj = decode_message(kind, raw)
    obj["apiVersion"], obj["kind"] = type_meta.get("apiVersion", "v1"), kind
    return obj

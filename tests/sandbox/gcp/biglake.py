"""BigLake v1 (BigLake Metastore): catalogs, databases and tables.

Resources are stored under names that use the project id; a request may name the project by
number too. Deletion is immediate (no undelete), so the returned resource carries deleteTime and
an expireTime equal to it. A catalog or database that still holds children cannot be deleted:
400 FAILED_PRECONDITION, as Hive Metastore refuses a non-cascading drop of a non-empty database.
"""

import base64
import copy
import hashlib
import json
import re
from functools import partial

from tests.sandbox.gcp.errors import aborted, already_exists, failed_precondition, invalid, not_found
from tests.sandbox.gcp.routing import Route, paginate
from tests.sandbox.gcp.schema import snake
from tests.sandbox.gcp.store import rfc3339

SERVICE = "biglake.googleapis.com"
RESOURCE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")
PAGE_DEFAULT, PAGE_MAX = 50, 1000
# updateMask paths (camelCase or snake_case) a client may change.
UPDATABLE = {"database": ("hiveOptions",), "table": ("hiveOptions", "etag")}
# Catalogs hold databases, which hold tables.
KINDS = ("catalogs", "databases", "tables")
LABELS = {"catalogs": "Catalog", "databases": "Database", "tables": "Table"}


def _camel(path):
    return re.sub(r"_([a-z])", lambda match: match.group(1).upper(), path)


def _parent_name(call, depth):
    parts = [f"projects/{call.project['projectId']}", f"locations/{call.params['location']}"]
    if depth >= 1:
        parts.append(f"catalogs/{call.params['catalog']}")
    if depth >= 2:
        parts.append(f"databases/{call.params['database']}")
    if depth >= 3:
        parts.append(f"tables/{call.params['table']}")
    return "/".join(parts)


def _collection(call, kind):
    return call.data["biglake"][kind]


def _require(call, kind, name):
    resource = _collection(call, kind).get(name)
    if resource is None:
        raise not_found(f"{LABELS[kind]} {name} not found.")
    return resource


def _check_id(value, field):
    if not value:
        raise invalid(f"{field} must be specified.", field)
    if not RESOURCE_ID.match(value):
        raise invalid(f"Invalid {field} '{value}': use letters, digits, underscores or dashes (at most 255).", field)


def _check_type(body, what):
    if body.get("type") != "HIVE":
        raise invalid(f"{what}.type must be HIVE.", f"{what}.type")


def _table_etag(table):
    content = {key: value for key, value in table.items() if key not in ("etag", "updateTime")}
    return base64.b64encode(hashlib.sha256(json.dumps(content, sort_keys=True).encode()).digest()[:12]).decode()


def _parent(call, kind):
    """Name of the parent the path gives a new or listed `kind`, which must exist (a catalog's is its location)."""
    depth = KINDS.index(kind)
    parent = _parent_name(call, depth)
    if depth:
        _require(call, KINDS[depth - 1], parent)
    return parent


def _get(call, kind):
    return _require(call, kind, _parent_name(call, KINDS.index(kind) + 1))


def _list(call, kind):
    """One page of the parent's `kind`; tables in their BASIC view (name and type) unless view=FULL."""
    prefix = _parent(call, kind) + f"/{kind}/"
    items = sorted((item for name, item in _collection(call, kind).items()
                    if name.startswith(prefix) and "/" not in name[len(prefix):]), key=lambda item: item["name"])
    page, token = paginate(call, items, PAGE_DEFAULT, PAGE_MAX)
    if kind == "tables" and call.arg("view") != "FULL":
        page = [{"name": table["name"], "type": table["type"]} for table in page]
    result = {kind: page} if page else {}
    if token:
        result["nextPageToken"] = token
    return result


def _create(call, kind):
    """A new resource named by the request's <kind>Id inside the parent in the path; databases and tables
    are HIVE ones and keep the request's hiveOptions."""
    label, hive = LABELS[kind], kind != "catalogs"
    singular = label.lower()
    parent = _parent(call, kind)
    resource_id = call.arg(f"{singular}Id")
    _check_id(resource_id, f"{singular}_id")
    if hive:
        _check_type(call.body, singular)
    name = f"{parent}/{kind}/{resource_id}"
    if name in _collection(call, kind):
        raise already_exists(f"{label} {name} already exists.")
    now = rfc3339()
    resource = {"name": name, "createTime": now, "updateTime": now}
    if hive:
        resource["type"] = "HIVE"
        if call.body.get("hiveOptions"):
            resource["hiveOptions"] = copy.deepcopy(call.body["hiveOptions"])
    if kind == "tables":
        resource["etag"] = _table_etag(resource)
    _collection(call, kind)[name] = resource
    call.store.mark_dirty()
    return resource


def _delete(call, kind):
    """Delete the resource the path names; a catalog or database must be empty first."""
    depth = KINDS.index(kind)
    name = _parent_name(call, depth + 1)
    _require(call, kind, name)
    children = KINDS[depth + 1] if depth + 1 < len(KINDS) else None
    if children and any(child.startswith(f"{name}/{children}/") for child in _collection(call, children)):
        raise failed_precondition(f"{LABELS[kind]} {name} is not empty: delete its {children} first.")
    resource = copy.deepcopy(_collection(call, kind).pop(name))
    resource["deleteTime"] = resource["expireTime"] = rfc3339()
    call.store.mark_dirty()
    return resource


def _apply_mask(target, body, mask, kind):
    """Copy the fields named by updateMask (all updatable ones when it is empty) from body into target."""
    paths = [_camel(path.strip()) for path in (mask or "").split(",") if path.strip()]
    if not paths:
        paths = [path for path in UPDATABLE[kind] if path in body]
    for path in paths:
        head = path.split(".", 1)[0]
        if head not in UPDATABLE[kind]:
            raise invalid(f"Invalid update mask path '{snake(path)}': it is not updatable.", "update_mask")
        if head == "etag":
            continue
        source, dest = body, target
        steps = path.split(".")
        for step in steps[:-1]:
            source = source.get(step) or {}
            dest = dest.setdefault(step, {})
        if steps[-1] in source and source[steps[-1]] not in (None, {}, []):
            dest[steps[-1]] = copy.deepcopy(source[steps[-1]])
        else:
            dest.pop(steps[-1], None)


def patch_database(call):
    database = _require(call, "databases", _parent_name(call, 2))
    _apply_mask(database, call.body, call.arg("updateMask"), "database")
    database["updateTime"] = rfc3339()
    call.store.mark_dirty()
    return database


def patch_table(call):
    table = _require(call, "tables", _parent_name(call, 3))
    if call.body.get("etag") and call.body["etag"] != table["etag"]:
        raise aborted(f"The etag of table {table['name']} does not match: it was changed since it was read.")
    _apply_mask(table, call.body, call.arg("updateMask"), "table")
    table["updateTime"] = rfc3339()
    table["etag"] = _table_etag(table)
    call.store.mark_dirty()
    return table


def rename_table(call):
    name = _parent_name(call, 3)
    table = _require(call, "tables", name)
    new_name = call.body.get("newName") or ""
    parent = name.rsplit("/tables/", 1)[0]
    if not new_name.startswith(parent + "/tables/") or not RESOURCE_ID.match(new_name[len(parent) + 8:]):
        raise invalid(f"new_name must name a table in the same database: {parent}/tables/TABLE_ID.", "new_name")
    if new_name in call.data["biglake"]["tables"]:
        raise already_exists(f"Table {new_name} already exists.")
    tables = call.data["biglake"]["tables"]
    del tables[name]
    table["name"] = new_name
    table["updateTime"] = rfc3339()
    table["etag"] = _table_etag(table)
    tables[new_name] = table
    call.store.mark_dirty()
    return table


LOC = r"v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
CAT = LOC + r"/catalogs/(?P<catalog>[^/:]+)"
DB = CAT + r"/databases/(?P<database>[^/:]+)"
TB = DB + r"/tables/(?P<table>[^/:]+)"


def _routes(kind, parent, path):
    """create, list, get and delete of one kind; parent and path are the patterns of its parent and of itself."""
    label = LABELS[kind]
    return [
        Route("POST", f"{parent}/{kind}", partial(_create, kind=kind), label, label.lower(), f"biglake.{kind}.create", kind),
        Route("GET", f"{parent}/{kind}", partial(_list, kind=kind), permission=f"biglake.{kind}.list", collection=kind),
        Route("GET", path, partial(_get, kind=kind), permission=f"biglake.{kind}.get", collection=kind),
        Route("DELETE", path, partial(_delete, kind=kind), permission=f"biglake.{kind}.delete", collection=kind),
    ]


ROUTES = _routes("catalogs", LOC, CAT) + _routes("databases", CAT, DB) + _routes("tables", DB, TB) + [
    Route("PATCH", DB, patch_database, "Database", "database", "biglake.databases.update", "databases"),
    Route("PATCH", TB, patch_table, "Table", "table", "biglake.tables.update", "tables"),
    Route("POST", TB + r":rename", rename_table, "RenameTableRequest", "", "biglake.tables.update", "tables"),
]

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

from tests.sandbox.gcp.errors import aborted, already_exists, failed_precondition, invalid, not_found
from tests.sandbox.gcp.routing import Route, paginate
from tests.sandbox.gcp.schema import snake
from tests.sandbox.gcp.store import rfc3339

SERVICE = "biglake.googleapis.com"
RESOURCE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")
PAGE_DEFAULT, PAGE_MAX = 50, 1000
# updateMask paths (camelCase or snake_case) a client may change.
UPDATABLE = {"database": ("hiveOptions",), "table": ("hiveOptions", "etag")}


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
        label = {"catalogs": "Catalog", "databases": "Database", "tables": "Table"}[kind]
        raise not_found(f"{label} {name} not found.")
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


def _list(call, kind, parent, key, view=None):
    prefix = parent + f"/{kind}/"
    items = sorted((item for name, item in _collection(call, kind).items()
                    if name.startswith(prefix) and "/" not in name[len(prefix):]), key=lambda item: item["name"])
    page, token = paginate(call, items, PAGE_DEFAULT, PAGE_MAX)
    if view is not None:
        page = [view(item) for item in page]
    result = {key: page} if page else {}
    if token:
        result["nextPageToken"] = token
    return result


def _deleted(call, kind, name):
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


# --- catalogs
def create_catalog(call):
    catalog_id = call.arg("catalogId")
    _check_id(catalog_id, "catalog_id")
    name = f"{_parent_name(call, 0)}/catalogs/{catalog_id}"
    if name in call.data["biglake"]["catalogs"]:
        raise already_exists(f"Catalog {name} already exists.")
    now = rfc3339()
    catalog = {"name": name, "createTime": now, "updateTime": now}
    call.data["biglake"]["catalogs"][name] = catalog
    call.store.mark_dirty()
    return catalog


def get_catalog(call):
    return _require(call, "catalogs", _parent_name(call, 1))


def list_catalogs(call):
    return _list(call, "catalogs", _parent_name(call, 0), "catalogs")


def delete_catalog(call):
    name = _parent_name(call, 1)
    _require(call, "catalogs", name)
    if any(db.startswith(name + "/databases/") for db in call.data["biglake"]["databases"]):
        raise failed_precondition(f"Catalog {name} is not empty: delete its databases first.")
    return _deleted(call, "catalogs", name)


# --- databases
def create_database(call):
    parent = _parent_name(call, 1)
    _require(call, "catalogs", parent)
    database_id = call.arg("databaseId")
    _check_id(database_id, "database_id")
    _check_type(call.body, "database")
    name = f"{parent}/databases/{database_id}"
    if name in call.data["biglake"]["databases"]:
        raise already_exists(f"Database {name} already exists.")
    now = rfc3339()
    database = {"name": name, "createTime": now, "updateTime": now, "type": "HIVE"}
    if call.body.get("hiveOptions"):
        database["hiveOptions"] = copy.deepcopy(call.body["hiveOptions"])
    call.data["biglake"]["databases"][name] = database
    call.store.mark_dirty()
    return database


def get_database(call):
    return _require(call, "databases", _parent_name(call, 2))


def list_databases(call):
    parent = _parent_name(call, 1)
    _require(call, "catalogs", parent)
    return _list(call, "databases", parent, "databases")


def patch_database(call):
    database = _require(call, "databases", _parent_name(call, 2))
    _apply_mask(database, call.body, call.arg("updateMask"), "database")
    database["updateTime"] = rfc3339()
    call.store.mark_dirty()
    return database


def delete_database(call):
    name = _parent_name(call, 2)
    _require(call, "databases", name)
    if any(table.startswith(name + "/tables/") for table in call.data["biglake"]["tables"]):
        raise failed_precondition(f"Database {name} is not empty: delete its tables first.")
    return _deleted(call, "databases", name)


# --- tables
def create_table(call):
    parent = _parent_name(call, 2)
    _require(call, "databases", parent)
    table_id = call.arg("tableId")
    _check_id(table_id, "table_id")
    _check_type(call.body, "table")
    name = f"{parent}/tables/{table_id}"
    if name in call.data["biglake"]["tables"]:
        raise already_exists(f"Table {name} already exists.")
    now = rfc3339()
    table = {"name": name, "createTime": now, "updateTime": now, "type": "HIVE"}
    if call.body.get("hiveOptions"):
        table["hiveOptions"] = copy.deepcopy(call.body["hiveOptions"])
    table["etag"] = _table_etag(table)
    call.data["biglake"]["tables"][name] = table
    call.store.mark_dirty()
    return table


def get_table(call):
    return _require(call, "tables", _parent_name(call, 3))


def list_tables(call):
    parent = _parent_name(call, 2)
    _require(call, "databases", parent)
    full = call.arg("view") == "FULL"
    return _list(call, "tables", parent, "tables", None if full else lambda table: {"name": table["name"], "type": table["type"]})


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


def delete_table(call):
    name = _parent_name(call, 3)
    _require(call, "tables", name)
    return _deleted(call, "tables", name)


LOC = r"v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
CAT = LOC + r"/catalogs/(?P<catalog>[^/:]+)"
DB = CAT + r"/databases/(?P<database>[^/:]+)"
TB = DB + r"/tables/(?P<table>[^/:]+)"
ROUTES = [
    Route("POST", LOC + r"/catalogs", create_catalog, "Catalog", "catalog", "biglake.catalogs.create", "catalogs"),
    Route("GET", LOC + r"/catalogs", list_catalogs, permission="biglake.catalogs.list", collection="catalogs"),
    Route("GET", CAT, get_catalog, permission="biglake.catalogs.get", collection="catalogs"),
    Route("DELETE", CAT, delete_catalog, permission="biglake.catalogs.delete", collection="catalogs"),
    Route("POST", CAT + r"/databases", create_database, "Database", "database", "biglake.databases.create", "databases"),
    Route("GET", CAT + r"/databases", list_databases, permission="biglake.databases.list", collection="databases"),
    Route("GET", DB, get_database, permission="biglake.databases.get", collection="databases"),
    Route("PATCH", DB, patch_database, "Database", "database", "biglake.databases.update", "databases"),
    Route("DELETE", DB, delete_database, permission="biglake.databases.delete", collection="databases"),
    Route("POST", DB + r"/tables", create_table, "Table", "table", "biglake.tables.create", "tables"),
    Route("GET", DB + r"/tables", list_tables, permission="biglake.tables.list", collection="tables"),
    Route("GET", TB, get_table, permission="biglake.tables.get", collection="tables"),
    Route("PATCH", TB, patch_table, "Table", "table", "biglake.tables.update", "tables"),
    Route("POST", TB + r":rename", rename_table, "RenameTableRequest", "", "biglake.tables.update", "tables"),
    Route("DELETE", TB, delete_table, permission="biglake.tables.delete", collection="tables"),
]

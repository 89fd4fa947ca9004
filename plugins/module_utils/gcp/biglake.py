# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A BigLake metastore catalog and its Hive databases (BigLake API v1), kept in their declared state.

Each attribute is updated by the collection's compare → check mode → act → diff pattern
(docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import re

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.errors import (
    FailedPrecondition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceDisabled,
)

DEFAULT_ENDPOINT = "https://biglake.googleapis.com/"
# Catalog, database and table ids as the API accepts them.
RESOURCE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")
DATABASE_TYPE = "HIVE"


def catalog_name(project, location, catalog_id):
    return f"projects/{project}/locations/{location}/catalogs/{catalog_id}"


def check_ids(params):
    """Refuse ids the API would refuse, before any call."""
    names = [("name", params["name"])] + [("databases[].name", entry["name"]) for entry in params.get("databases") or []]
    for option, value in names:
        if not RESOURCE_ID.match(value or ""):
            raise InvalidInput(f"{option} '{value}' is not a valid BigLake id: use letters, digits, underscores "
                               "or dashes, at most 255, not starting with a dash")
    seen = [entry["name"] for entry in params.get("databases") or []]
    duplicates = sorted({name for name in seen if seen.count(name) > 1})
    if duplicates:
        raise InvalidInput(f"databases lists {', '.join(duplicates)} more than once")


def database_view(resource):
    """A database as the module compares and shows it: type, location URI and parameters."""
    options = resource.get("hiveOptions") or {}
    return {"type": resource.get("type", DATABASE_TYPE), "location_uri": options.get("locationUri", ""),
            "parameters": dict(options.get("parameters") or {})}


def database_body(view):
    options = {}
    if view["location_uri"]:
        options["locationUri"] = view["location_uri"]
    if view["parameters"]:
        options["parameters"] = view["parameters"]
    return {"type": DATABASE_TYPE, "hiveOptions": options} if options else {"type": DATABASE_TYPE}


def desired_database(entry, current):
    """The declared database; options left unset keep the current value."""
    view = dict(current or {"type": DATABASE_TYPE, "location_uri": "", "parameters": {}})
    if entry.get("location_uri") is not None:
        view["location_uri"] = entry["location_uri"]
    if entry.get("parameters") is not None:
        view["parameters"] = {str(key): str(value) for key, value in entry["parameters"].items()}
    return view


# --- reads


def read_catalog(client, project, location, name):
    """The catalog resource or None; a missing or inaccessible project/location is named in the error."""
    try:
        return client.get_or_none(f"v1/{name}")
    except ServiceDisabled:
        raise
    except PermissionDenied as error:
        raise PermissionDenied(f"project '{project}' (location '{location}') does not exist or the credentials may "
                               f"not use BigLake in it: {error.message}", code=error.code, status=error.status,
                               reason=error.reason, operation=error.operation) from None


def read_databases(client, name):
    """Database id → resource, for the databases of an existing catalog."""
    return {item["name"].rsplit("/", 1)[1]: item for item in client.list_all(f"v1/{name}/databases", "databases")}


# --- per-resource changes: compare → check mode → act


def ensure_catalog_exists(client, project, location, catalog_id, current, check_mode):
    if current is not None:
        return False, current
    name = catalog_name(project, location, catalog_id)
    if check_mode:
        return True, {"name": name}
    try:
        created = client.request("POST", f"v1/projects/{project}/locations/{location}/catalogs",
                                 params={"catalogId": catalog_id}, body={})
    except NotFound as error:
        raise NotFound(f"project '{project}' or location '{location}' not found: {error.message}", code=error.code,
                       status=error.status, reason=error.reason, operation=error.operation) from None
    return True, created


def ensure_database(client, catalog, database_id, current_resource, desired, check_mode):
    """Create or update one database; returns (changed, resource)."""
    name = f"{catalog}/databases/{database_id}"
    if current_resource is not None and database_view(current_resource) == desired:
        return False, current_resource
    if check_mode:
        resource = dict(current_resource or {"name": name}, **database_body(desired))
        return True, resource
    if current_resource is None:
        return True, client.request("POST", f"v1/{catalog}/databases", params={"databaseId": database_id},
                                    body=database_body(desired))
    body = database_body(desired)
    body.setdefault("hiveOptions", {})
    return True, client.request("PATCH", f"v1/{name}", params={"updateMask": "hiveOptions"}, body=body)


def delete_database(client, resource, with_tables, check_mode):
    if check_mode:
        return True
    if with_tables:
        for table in client.list_all(f"v1/{resource['name']}/tables", "tables"):
            client.request("DELETE", f"v1/{table['name']}")
    try:
        client.request("DELETE", f"v1/{resource['name']}")
    except FailedPrecondition as error:
        raise FailedPrecondition(f"database {resource['name']} still holds tables, so it was not deleted: "
                                 f"{error.message}", code=error.code, status=error.status,
                                 operation=error.operation) from None
    return True


# --- the module's two states


def _state(name, databases):
    return {"name": name, "databases": {key: database_view(value) for key, value in sorted(databases.items())}}


def ensure_present(client, project, params, check_mode, catalog, databases):
    location, catalog_id = params["location"], params["name"]
    name = catalog_name(project, location, catalog_id)
    changed, catalog = ensure_catalog_exists(client, project, location, catalog_id, catalog, check_mode)
    result_databases = dict(databases)
    for entry in params.get("databases") or []:
        current = databases.get(entry["name"])
        desired = desired_database(entry, database_view(current) if current else None)
        database_changed, resource = ensure_database(client, name, entry["name"], current, desired, check_mode)
        changed |= database_changed
        result_databases[entry["name"]] = resource
    if params.get("purge_databases"):
        declared = {entry["name"] for entry in params.get("databases") or []}
        for database_id in sorted(set(databases) - declared):
            changed |= delete_database(client, databases[database_id], False, check_mode)
            del result_databases[database_id]
    return changed, catalog, result_databases


def ensure_absent(client, params, check_mode, catalog, databases):
    if catalog is None:
        return False
    if databases and not params.get("force"):
        raise FailedPrecondition(f"catalog {catalog['name']} holds databases ({', '.join(sorted(databases))}); "
                                 "nothing was deleted. Set force: true to delete them and their tables first.",
                                 status="FAILED_PRECONDITION")
    for database_id in sorted(databases):
        delete_database(client, databases[database_id], True, check_mode)
    if not check_mode:
        client.request("DELETE", f"v1/{catalog['name']}")
    return True


def ensure_catalog(client, project, params, check_mode):
    """The module's work: returns changed, catalog, databases and the diff."""
    check_ids(params)
    location, catalog_id = params["location"], params["name"]
    name = catalog_name(project, location, catalog_id)
    catalog = read_catalog(client, project, location, name)
    databases = read_databases(client, name) if catalog is not None else {}
    before = _state(name, databases) if catalog is not None else {}
    if params["state"] == "absent":
        changed = ensure_absent(client, params, check_mode, catalog, databases)
        return {"changed": changed, "catalog": {}, "databases": [], "diff": {"before": before, "after": {}}}
    changed, catalog, databases = ensure_present(client, project, params, check_mode, catalog, databases)
    return {"changed": changed, "catalog": catalog, "databases": [databases[key] for key in sorted(databases)],
            "diff": {"before": before, "after": _state(name, databases)}}

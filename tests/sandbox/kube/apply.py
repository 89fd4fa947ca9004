"""Server-side apply and managedFields, simplified.

Model (documented simplification of kube's structured-merge-diff):
- A field set is the FieldsV1 tree (`f:name`, `k:{"name":"x"}` for keyed list items, atomic lists
  and scalars are leaves). Each manager owns a set; Apply and Update managers are kept apart.
- Apply merges the applied configuration into the live object (maps recursively, keyed lists by
  their keys, sets by union, other lists replaced), then removes fields the same manager applied
  before but no longer applies, unless another manager also owns them.
- Conflict: an applied leaf that another manager owns and whose live value differs; without
  force the request fails with 409 (reason Conflict, causes FieldManagerConflict); with force the
  other manager loses the field.
- Non-apply writes (create/update/patch) give the writing manager the leaves whose value changed."""

import copy
import datetime
import json

from tests.sandbox.kube.errors import ApiError

SKIP_METADATA = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                 "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName"}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_token(item, keys):
    return "k:" + json.dumps({key: item.get(key) for key in keys if key in item}, separators=(",", ":"), sort_keys=True)


def _list_keys(node):
    if node is None:
        return None, "atomic"
    list_type = node.list_type()
    return node.list_keys() if list_type == "map" else None, list_type


def fields_of(value, node, top=True, skip_status=True):
    """FieldsV1 tree of a value."""
    tree = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if top and key in ("apiVersion", "kind") or top and skip_status and key == "status":
                continue
            if top and key == "metadata" and isinstance(item, dict):
                meta = {k: v for k, v in item.items() if k not in SKIP_METADATA}
                if meta:
                    tree["f:metadata"] = fields_of(meta, node.field("metadata") if node else None, top=False)
                continue
            child = node.field(key) if node is not None else None
            tree["f:" + key] = fields_of(item, child, top=False)
        return tree
    if isinstance(value, list) and node is not None:
        keys, list_type = _list_keys(node)
        if keys:
            items = node.items()
            for item in value:
                if isinstance(item, dict):
                    sub = fields_of(item, items, top=False)
                    sub["."] = {}
                    tree[_key_token(item, keys)] = sub
            return tree
        if list_type == "set":
            for item in value:
                tree["v:" + json.dumps(item, separators=(",", ":"))] = {}
            return tree
    return tree


def leaves(tree, prefix=()):
    """Paths (tuples of tokens) of the leaves of a field set."""
    found = set()
    for token, sub in tree.items():
        if token == ".":
            continue
        path = prefix + (token,)
        sub_leaves = leaves(sub, path) if sub else set()
        if sub_leaves:
            found |= sub_leaves
        else:
            found.add(path)
    return found


def build_tree(paths):
    tree = {}
    for path in paths:
        node = tree
        for token in path:
            node = node.setdefault(token, {})
    return tree


def value_at(obj, path):
    """Live value at a field path; a sentinel when absent."""
    node = obj
    for token in path:
        if token.startswith("f:") and isinstance(node, dict):
            if token[2:] not in node:
                return _MISSING
            node = node[token[2:]]
        elif token.startswith("k:") and isinstance(node, list):
            want = json.loads(token[2:])
            node = next((item for item in node if isinstance(item, dict) and all(item.get(k) == v for k, v in want.items())), _MISSING)
            if node is _MISSING:
                return _MISSING
        elif token.startswith("v:") and isinstance(node, list):
            value = json.loads(token[2:])
            return value if value in node else _MISSING
        else:
            return _MISSING
    return node


_MISSING = object()


def remove_path(obj, path):
    """Delete the field at path from obj (in place); empty parents are left alone."""
    node = obj
    for token in path[:-1]:
        node = value_at(node, (token,))
        if node is _MISSING:
            return
    last = path[-1]
    if last.startswith("f:") and isinstance(node, dict):
        node.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(node, list):
        want = json.loads(last[2:])
        node[:] = [item for item in node if not (isinstance(item, dict) and all(item.get(k) == v for k, v in want.items()))]
    elif last.startswith("v:") and isinstance(node, list):
        value = json.loads(last[2:])
        node[:] = [item for item in node if item != value]


def _item_matches(live, applied, keys):
    return all(live.get(key) == applied.get(key) for key in keys if key in applied) and \
        all(key in live or key not in applied for key in keys)


def merge_applied(live, applied, node):
    """Merge an applied configuration into a live value (structured merge, simplified)."""
    if isinstance(applied, dict):
        result = copy.deepcopy(live) if isinstance(live, dict) else {}
        for key, value in applied.items():
            if value is None:
                result.pop(key, None)
                continue
            result[key] = merge_applied(result.get(key), value, node.field(key) if node is not None else None)
        return result
    if isinstance(applied, list) and isinstance(live, list) and node is not None:
        keys, list_type = _list_keys(node)
        if keys:
            result = [copy.deepcopy(item) for item in live]
            for item in applied:
                index = next((i for i, existing in enumerate(result) if isinstance(existing, dict) and isinstance(item, dict)
                              and _item_matches(existing, item, keys)), None)
                if index is None:
                    result.append(copy.deepcopy(item))
                else:
                    result[index] = merge_applied(result[index], item, node.items())
            return result
        if list_type == "set":
            return list(live) + [item for item in applied if item not in live]
    return copy.deepcopy(applied)


def _entries(obj):
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _set_of(entry):
    return leaves(entry.get("fieldsV1") or {})


def _entry(manager, operation, api_version, paths, subresource=None):
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now(),
             "fieldsType": "FieldsV1", "fieldsV1": build_tree(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _format_path(path):
    parts = []
    for token in path:
        if token.startswith("f:"):
            parts.append("." + token[2:])
        elif token.startswith("k:"):
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(token[2:]).items()) + "]")
        else:
            parts.append("[" + token[2:] + "]")
    return "".join(parts)


def server_side_apply(live, applied, manager, force, node, api_version, subresource=None):
    """Return the new object (live None means create); raises ApiError 409 on conflicts."""
    applied_paths = leaves(fields_of(applied, node, skip_status=subresource != "status"))
    if subresource == "status":
        applied_paths = {p for p in applied_paths if p[0] == "f:status"}
    entries = _entries(live) if live else []
    mine = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"
                 and e.get("subresource") == subresource), None)
    previous = _set_of(mine) if mine else set()
    conflicts = []
    others = [e for e in entries if e is not mine]
    if live:
        for entry in others:
            owned = _set_of(entry)
            for path in applied_paths & owned:
                if value_at(live, path) != value_at(applied, path):
                    conflicts.append((entry, path))
    if conflicts and not force:
        causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{e.get("manager")}" using {e.get("apiVersion")}',
                   "field": _format_path(path)} for e, path in conflicts]
        summary = "; ".join(f'{c["message"]}: {c["field"]}' for c in causes)
        count = len(causes)
        raise ApiError(409, "Conflict", f"Apply failed with {count} conflict{'s' if count > 1 else ''}: {summary}",
                       {"name": (applied.get("metadata") or {}).get("name", ""), "causes": causes})
    result = merge_applied(live or {}, applied, node)
    still_owned = set()
    for entry in others:
        still_owned |= _set_of(entry)
    for path in sorted(previous - applied_paths - still_owned, key=len, reverse=True):
        remove_path(result, path)
    new_entries = []
    for entry in others:
        owned = _set_of(entry)
        if force:
            owned -= {path for e, path in conflicts if e is entry}
        if owned:
            entry = dict(entry, fieldsV1=build_tree(owned))
            new_entries.append(entry)
    if applied_paths:
        new_entries.append(_entry(manager, "Apply", api_version, applied_paths, subresource))
    result.setdefault("metadata", {})["managedFields"] = new_entries
    return result


def record_update(old, new, manager, node, api_version, subresource=None):
    """Give manager the leaves that changed between old and new (in place on new)."""
    old_paths = leaves(fields_of(old, node, skip_status=subresource != "status")) if old else set()
    new_paths = leaves(fields_of(new, node, skip_status=subresource != "status"))
    if subresource == "status":
        new_paths = {p for p in new_paths if p[0] == "f:status"}
    changed = {path for path in new_paths if path not in old_paths or value_at(old, path) != value_at(new, path)}
    entries = _entries(old) if old else []
    result, mine = [], None
    for entry in entries:
        owned = _set_of(entry) - changed
        owned = {path for path in owned if value_at(new, path) is not _MISSING}
        if entry.get("manager") == manager and entry.get("operation") == "Update" and entry.get("subresource") == subresource:
            mine = owned
            continue
        if owned:
            result.append(dict(entry, fieldsV1=build_tree(owned)))
    owned = (mine or set()) | changed
    if owned:
        result.append(_entry(manager, "Update", api_version, owned, subresource))
    new.setdefault("metadata", {})["managedFields"] = result

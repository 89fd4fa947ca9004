"""Patch engines: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge reads list semantics from the schema (x-kubernetes-patch-merge-key/-strategy) and
understands the directives kubectl sends: $patch, $retainKeys, $setElementOrder, $deleteFromPrimitiveList."""

import copy

from tests.sandbox.kube.errors import ApiError


def _patch_error(message):
    return ApiError(422, "Invalid", message) if message.startswith("the server rejected") else ApiError(400, "BadRequest", message)


# --- RFC 7386
def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- RFC 6902
def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise _patch_error(f"json patch: invalid path {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc, parts):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError) as error:
                raise _patch_error(f"json patch: path not found: {part}") from error
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise _patch_error(f"doc is missing path: /{'/'.join(parts)}")
    return node


def _get(doc, parts):
    if not parts:
        return doc
    parent, last = _parent(doc, parts), parts[-1]
    try:
        return parent[int(last)] if isinstance(parent, list) else parent[last]
    except (KeyError, ValueError, IndexError, TypeError) as error:
        raise _patch_error(f"doc is missing path: /{'/'.join(parts)}") from error


def _remove(doc, parts):
    parent, last = _parent(doc, parts), parts[-1]
    try:
        if isinstance(parent, list):
            return parent.pop(int(last))
        return parent.pop(last)
    except (KeyError, ValueError, IndexError, TypeError) as error:
        raise _patch_error(f"unable to remove nonexistent key: {last}: missing value") from error


def _add(doc, parts, value, replace=False):
    if not parts:
        return value
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if replace:
            parent[index] = value
        else:
            parent.insert(index, value)
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise _patch_error(f"replace operation does not apply: doc is missing key: /{'/'.join(parts)}: missing value")
        parent[last] = value
    else:
        raise _patch_error("json patch: cannot add to a scalar")
    return doc


def json_patch(target, operations):
    if not isinstance(operations, list):
        raise _patch_error("json patch: the patch must be a list of operations")
    doc = copy.deepcopy(target)
    for operation in operations:
        op, parts = operation.get("op"), _pointer(operation.get("path", ""))
        if op == "add":
            doc = _add(doc, parts, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            _remove(doc, parts)
        elif op == "replace":
            doc = _add(doc, parts, copy.deepcopy(operation.get("value")), replace=True)
        elif op in ("move", "copy"):
            source = _pointer(operation.get("from", ""))
            value = _remove(doc, source) if op == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, parts, value)
        elif op == "test":
            if _get(doc, parts) != operation.get("value"):
                raise _patch_error(f"the server rejected our request due to an error in our request: testing value /{'/'.join(parts)} failed")
        else:
            raise _patch_error(f"Unexpected kind: {op}")
    return doc


# --- strategic merge patch
def _item_key(item, keys):
    return tuple(item.get(key) for key in keys) if isinstance(item, dict) else (item,)


def _merge_list(original, patch, node, field_directives):
    strategy = node.patch_strategy()
    # Strategic merge identifies items by the patch merge key alone (a Service port by `port`, not by
    # the list-map keys `port` and `protocol` that server-side apply uses), as the real API server does.
    merge_key = node.schema.get("x-kubernetes-patch-merge-key")
    keys = [merge_key] if merge_key else node.list_keys()
    if "merge" not in strategy:
        return [strip_directives(item) for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    if not keys:  # a set of primitives
        result = list(original or [])
        for value in patch:
            if value not in result:
                result.append(value)
        delete = field_directives.get("delete")
        if delete:
            result = [value for value in result if value not in delete]
        return result
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [strip_directives(item) for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    result = [copy.deepcopy(item) for item in original or []]
    for item in patch:
        if not isinstance(item, dict):
            continue
        ident = _item_key(item, keys)
        index = next((i for i, existing in enumerate(result) if _item_key(existing, keys) == ident), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(strip_directives(item))
        else:
            result[index] = strategic_merge(result[index], item, node.items())
    order = field_directives.get("order")
    if order:
        rank = {_item_key(item, keys): i for i, item in enumerate(order)}
        result.sort(key=lambda item: rank.get(_item_key(item, keys), len(rank)))
    return result


def strip_directives(value):
    if isinstance(value, dict):
        return {key: strip_directives(item) for key, item in value.items()
                if not key.startswith("$") and item is not None}
    if isinstance(value, list):
        return [strip_directives(item) for item in value]
    return value


def strategic_merge(original, patch, node):
    """Apply a strategic merge patch to original (a dict) using schema node for list semantics."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return strip_directives(patch)
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    directives = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            directives.setdefault(key.split("/", 1)[1], {})["order"] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            directives.setdefault(key.split("/", 1)[1], {})["delete"] = value
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        child = node.field(key) if node is not None else None
        if isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, child)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and child is not None:
            result[key] = _merge_list(result.get(key), value, child, directives.get(key, {}))
        else:
            result[key] = copy.deepcopy(value)
    for key, extra in directives.items():
        if key not in patch and "delete" in extra and isinstance(result.get(key), list):
            result[key] = [value for value in result[key] if value not in extra["delete"]]
    if isinstance(retain, list):
        result = {key: value for key, value in result.items() if key in retain}
    return result

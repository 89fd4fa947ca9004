# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: k8s_patch_changes
short_description: Whether a strategic merge patch of a desired Kubernetes object would change the stored one
version_added: 1.0.0
description:
  - True when M(kubernetes.core.k8s) applying the desired object (a strategic merge patch for an existing object)
    would change the object as the API server returns it, so a role writes only what differs and a converged run
    only reads.
  - Maps are merged key by key, so fields the API server defaults or other writers set are kept and never count as a
    change. Lists of named items (containers, env, ports, volumes, volume mounts, ...) are matched by their merge
    key as a strategic merge patch matches them; other lists are replaced whole, so they must have the same
    length and items.
  - Quantities under C(requests), C(limits), C(capacity) and C(hard) are compared as the API server stores them
    (V(1000m) is V(1)); other scalars exactly, so a port written as the string V("5432") differs from V(5432).
  - A value of V(None) deletes the field, so it changes the object when the field is there. An empty map or list
    equals a missing field, as the API server omits them.
  - When unsure it answers true, since a needless write costs one request and a missed change a wrong cluster.
options:
  _input:
    description: The desired object, as given to M(kubernetes.core.k8s) C(definition).
    type: dict
    required: true
  current:
    description: The stored object as M(kubernetes.core.k8s_info) returns it; empty or V(None) when there is none.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the ConfigMap only when a patch would change it
  kubernetes.core.k8s:
    definition: "{{ desired }}"
  when: desired | mlplatform.selfhosted.k8s_patch_changes(found.resources | first | default({}))
"""

RETURN = r"""
_value:
  description: True when the object is missing or a patch would change it.
  type: bool
"""

from ansible_collections.mlplatform.selfhosted.plugins.filter.k8s_quantity import canonical

# Strategic merge keys of the lists the collection's objects carry (k8s.io/api patchMergeKey); "ports" are
# containerPort in a container and port in a Service.
MERGE_KEYS = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",), "volumes": ("name",),
    "env": ("name",), "imagePullSecrets": ("name",), "volumeMounts": ("mountPath",), "volumeDevices": ("devicePath",),
    "hostAliases": ("ip",), "ports": ("containerPort", "port"), "conditions": ("type",),
}
QUANTITY_MAPS = frozenset(("requests", "limits", "capacity", "hard"))


def _kind(value):
    """The JSON type of a scalar (Ansible hands over tagged subclasses of str, int and float)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def _empty(value):
    return value is None or value == {} or value == []


def _scalar_changes(desired, current, quantity):
    if quantity:
        stored = canonical(desired)
        if stored is not None:
            # Both sides canonical: kube-apiserver prints quantities canonically, an emulator may keep them as written.
            return stored != canonical(current)
    return _kind(desired) != _kind(current) or desired != current


def _list_changes(field, desired, current):
    keys = MERGE_KEYS.get(field)
    if keys and all(isinstance(item, dict) for item in desired + current):
        for item in desired:
            key = next((name for name in keys if name in item), None)
            if key is None:
                return True
            match = [found for found in current if found.get(key) == item[key]]
            if not match or changes(item, match[0]):
                return True
        return False
    # Replaced whole: same length, and item by item (maps as above, so the API server's defaults inside stay equal).
    return len(desired) != len(current) or any(changes(want, have, field) for want, have in zip(desired, current))


def changes(desired, current, field=None):
    """True when merging desired into current would change current."""
    if isinstance(desired, dict):
        if not isinstance(current, dict):
            return not (_empty(desired) and current is None)
        for key, value in desired.items():
            if key not in current:
                if not _empty(value):
                    return True
            elif value is None or current[key] is None:
                if not (_empty(value) and _empty(current[key])):
                    return True
            elif isinstance(value, (dict, list)):
                if changes(value, current[key], key):
                    return True
            elif _scalar_changes(value, current[key], field in QUANTITY_MAPS):
                return True
        return False
    if isinstance(desired, list):
        if not isinstance(current, list):
            return not (_empty(desired) and current is None)
        return _list_changes(field, desired, current)
    return isinstance(current, (dict, list)) or _scalar_changes(desired, current, False)


def k8s_patch_changes(desired, current):
    if not current:
        return True
    return changes(desired, current)


class FilterModule:
    def filters(self):
        return {"k8s_patch_changes": k8s_patch_changes}

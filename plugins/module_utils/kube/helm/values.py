# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""User-supplied release values: read and merged as Helm merges them, normalised for comparison, masked for display."""

from __future__ import annotations

import copy
import os
import re

from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.masking import MASK
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import InvalidInput

# Keys whose values are shown masked in diffs and results (values files often carry credentials): names ending
# in a credential word, or in "key" after a word that makes it one (joinKey, masterKey, JWT_SECRET_KEY, ...).
SECRET_KEY = re.compile(r"(pass(word|wd|phrase)?|secret|token|credentials?"
                        r"|(api|private|client|auth|access|join|master|enrollment|encryption|signing|secret)[_-]?key)$",
                        re.IGNORECASE)
# Keys that name a Secret rather than hold one (existingSecret, existingSecretKey): names are not secrets.
SECRET_REFERENCE = re.compile(r"^existing", re.IGNORECASE)


def looks_secret(key, value):
    """True when value, under this key, is shown masked: a non-empty string or number under a secret-looking key.

    Maps and lists are masked key by key; booleans and empty values say nothing.
    """
    if value in (None, "") or isinstance(value, (bool, dict, list)):
        return False
    key = str(key)
    return bool(SECRET_KEY.search(key)) and not SECRET_REFERENCE.match(key)


def load_values(values_files=(), values=None, secret_values=None):
    """The release's values: the files in order (paths on the controller), then values, then secret_values.

    Raises InvalidInput, before anything is read from the cluster, for a file that cannot be read or
    parsed or that does not hold a mapping.
    """
    layers = []
    for path in values_files or ():
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as handle:
                text = handle.read()
            layer = yaml_load(text) or {}
        except Exception as error:  # OSError, or PyYAML's YAMLError (which ansible-core's yaml helpers do not export)
            raise InvalidInput("cannot read values file %s: %s" % (path, error))
        if not isinstance(layer, dict):
            raise InvalidInput("values file %s does not hold a mapping" % path)
        layers.append(layer)
    return merge_values(*layers, values or {}, secret_values or {})


def leaf_paths(values, prefix=""):
    """Dotted paths of every leaf of a values mapping (the secret_values, masked wherever shown)."""
    paths = []
    for key, value in values.items():
        path = "%s.%s" % (prefix, key) if prefix else str(key)
        paths += leaf_paths(value, path) if isinstance(value, dict) else [path]
    return paths


def merge_values(*layers):
    """Merge values like ``helm -f a.yaml -f b.yaml --set-json ...``: later layers win, maps merge deeply."""
    merged = {}
    for layer in layers:
        merged = _merge(merged, layer or {})
    return merged


def _merge(base, override):
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def normalise_values(values):
    """Values as Helm stores them, so equal intent compares equal.

    Helm keeps user values as JSON decoded into Go types: integral floats come back as integers
    (``1.0`` -> ``1``), and an empty values document is stored as no document at all. Strings are
    left alone: ``"3"`` and ``3`` render differently in templates, so they are different values.
    """
    if values is None:
        return {}
    return _normalise(values)


def _normalise(value):
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def values_equal(left, right):
    """True when two values documents mean the same to Helm."""
    return normalise_values(left) == normalise_values(right)


def mask_values(values, extra_secret_paths=()):
    """A copy of values with every secret-looking key's value replaced by a mask.

    extra_secret_paths: dotted paths (``auth.adminPassword``) to mask whatever their key is called.
    """
    extra = set(extra_secret_paths or ())
    return _mask(values, "", extra)


def _mask(value, path, extra):
    if isinstance(value, dict):
        masked = {}
        for key, item in value.items():
            child = "%s.%s" % (path, key) if path else str(key)
            if looks_secret(key, item) or (child in extra and item not in (None, "")):
                masked[key] = MASK
            else:
                masked[key] = _mask(item, child, extra)
        return masked
    if isinstance(value, list):
        return [_mask(item, path, extra) for item in value]
    return value

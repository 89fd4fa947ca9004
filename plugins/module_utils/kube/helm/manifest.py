# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A release's rendered manifest: its resources, a per-resource diff, Secrets and secret-looking values masked."""

from __future__ import annotations

import difflib

from ansible.module_utils.common.yaml import yaml_dump, yaml_load_all

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.masking import MASK
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.values import looks_secret

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def parse_manifest(manifest, default_namespace):
    """Split a multi-document manifest into resources keyed by ``kind/namespace/name``.

    Cluster-scoped kinds keep the namespace Helm would not give them; for the purposes of a diff and
    of readiness checks the key only has to be stable and readable.
    """
    resources = {}
    for document in yaml_load_all(manifest or ""):
        if not isinstance(document, dict) or not document.get("kind"):
            continue
        metadata = document.get("metadata") or {}
        namespace = metadata.get("namespace") or default_namespace
        key = "%s/%s/%s" % (document["kind"], namespace, metadata.get("name", ""))
        resources[key] = document
    return resources


def resource_refs(resources):
    """The release's resources as ``{kind, api_version, namespace, name}``, sorted."""
    refs = []
    for key, document in sorted(resources.items()):
        kind, namespace, name = key.split("/", 2)
        refs.append({"kind": kind, "api_version": document.get("apiVersion", ""), "namespace": namespace, "name": name})
    return refs


def _mask(value, before, existed):
    """MASK, marked changed when the resource existed and held something else there."""
    return MASK + " (changed)" if existed and before != value else MASK


def mask_resource(document, previous=None):
    """A resource as a diff shows it; a masked value that differs from ``previous``'s is marked changed.

    A Secret's data is masked whole; elsewhere the values of secret-looking keys are (a ConfigMap's
    ``joinKey``, an env var ``{name: DB_PASSWORD, value: ...}``), as in the values.
    """
    if not isinstance(document, dict):
        return document
    if document.get("kind") != "Secret":
        return _mask_keys(document, previous, previous is not None)
    masked = dict(document)
    for field in ("data", "stringData"):
        if isinstance(document.get(field), dict):
            before = (previous or {}).get(field) or {}
            masked[field] = {key: _mask(value, before.get(key), previous is not None) for key, value in document[field].items()}
    return masked


def _mask_keys(value, previous, existed):
    if isinstance(value, dict):
        before = previous if isinstance(previous, dict) else {}
        secret_env = "value" in value and looks_secret(value.get("name", ""), value["value"])
        return {key: _mask(item, before.get(key), existed) if looks_secret(key, item) or (secret_env and key == "value")
                else _mask_keys(item, before.get(key), existed)
                for key, item in value.items()}
    if isinstance(value, list):
        before = previous if isinstance(previous, list) else []
        return [_mask_keys(item, before[index] if index < len(before) else None, existed) for index, item in enumerate(value)]
    return value


def _dump(document):
    if document is None:
        return []
    return yaml_dump(document, default_flow_style=False, sort_keys=True).splitlines(True)


def manifest_diff(before_manifest, after_manifest, namespace):
    """Unified diff per changed resource, Secret values masked; returns (text, changed resource keys)."""
    before = parse_manifest(before_manifest, namespace)
    after = parse_manifest(after_manifest, namespace)
    chunks = []
    changed = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        changed.append(key)
        shown_old = mask_resource(old) if old is not None else None
        shown_new = mask_resource(new, old) if new is not None else None
        chunks.append("".join(difflib.unified_diff(
            _dump(shown_old), _dump(shown_new),
            fromfile="a/%s" % key if old is not None else "/dev/null",
            tofile="b/%s" % key if new is not None else "/dev/null")))
    return "".join(chunks), changed


def workloads(resources):
    """The Deployments, StatefulSets, DaemonSets and Jobs among a release's resources."""
    found = []
    for key, document in sorted(resources.items()):
        kind, namespace, name = key.split("/", 2)
        if kind in WORKLOAD_KINDS:
            found.append({"kind": kind, "namespace": namespace, "name": name, "api_version": document.get("apiVersion", "")})
    return found

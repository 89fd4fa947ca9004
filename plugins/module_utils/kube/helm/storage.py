# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Helm's release records as its default `secret` storage driver keeps them.

Each revision is a Secret ``sh.helm.release.v1.<name>.v<revision>`` of type ``helm.sh/release.v1``
labelled ``owner=helm,name=<name>,status=<status>,version=<revision>``, whose ``release`` key holds
the release as JSON, gzipped and base64-encoded (then base64-encoded again as all Secret data is).
Reading them directly lets an unchanged release be recognised with a single list request.
"""

from __future__ import annotations

import base64
import calendar
import gzip
import json
import time

SECRET_TYPE = "helm.sh/release.v1"
_GZIP_MAGIC = b"\x1f\x8b\x08"
# Statuses of a revision that was running at some point: what a recovery can roll back to.
WAS_DEPLOYED = ("deployed", "superseded")


def release_selector(name):
    return "owner=helm,name=%s" % name


def decode_release(secret):
    """The release dict a storage Secret holds (name, namespace, version, info, chart, config, manifest)."""
    encoded = (secret.get("data") or {}).get("release")
    if not encoded:
        raise ValueError("secret %s holds no Helm release" % secret.get("metadata", {}).get("name"))
    raw = base64.b64decode(base64.b64decode(encoded))
    if raw[:3] == _GZIP_MAGIC:
        raw = gzip.decompress(raw)
    return json.loads(raw)


def _records(secrets):
    return [item for item in secrets if item.get("type", SECRET_TYPE) == SECRET_TYPE]


def _revision(secret):
    return int((secret.get("metadata", {}).get("labels") or {}).get("version", "0"))


def latest_release(secrets):
    """The highest revision among a release's storage Secrets, decoded; None when there are none."""
    records = _records(secrets)
    return decode_release(max(records, key=_revision)) if records else None


def release_revision(secrets, revision):
    """One revision among a release's storage Secrets, decoded; None when it is not stored."""
    found = [item for item in _records(secrets) if _revision(item) == revision]
    return decode_release(found[0]) if found else None


def history(secrets):
    """Every stored revision as ``{revision, status, created}``, oldest first, from the Secrets' labels.

    created: the Secret's creationTimestamp in seconds since the epoch (the API server's clock), or None.
    """
    entries = []
    for item in _records(secrets):
        metadata = item.get("metadata") or {}
        entries.append({"revision": _revision(item), "status": (metadata.get("labels") or {}).get("status", ""),
                        "created": _timestamp(metadata.get("creationTimestamp"))})
    return sorted(entries, key=lambda entry: entry["revision"])


def _timestamp(text):
    """Seconds since the epoch of a Kubernetes timestamp (``2024-05-01T12:00:00Z``, always UTC); None if not one."""
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def last_deployed(entries, before):
    """The newest revision below ``before`` that was deployed (is, or was until superseded); None if none was."""
    deployed = [entry["revision"] for entry in entries if entry["revision"] < before and entry["status"] in WAS_DEPLOYED]
    return max(deployed) if deployed else None

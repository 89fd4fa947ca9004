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
import gzip
import json

SECRET_TYPE = "helm.sh/release.v1"
_GZIP_MAGIC = b"\x1f\x8b\x08"


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


def latest_release(secrets):
    """The highest revision among a release's storage Secrets, decoded; None when there are none."""
    records = [item for item in secrets if item.get("type", SECRET_TYPE) == SECRET_TYPE]
    if not records:
        return None
    newest = max(records, key=lambda item: int((item.get("metadata", {}).get("labels") or {}).get("version", "0")))
    return decode_release(newest)

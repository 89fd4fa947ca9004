# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the orchestration needs of a Helm engine, and the release record both engines return.

Two adapters implement it: ``cli.CliEngine`` (a ``helm`` binary >= 3.8) and ``sdk.SdkEngine`` (Helm's Go
SDK through helm-python-sdk). Everything else (preflight, idempotence, checks, rollback) is shared.
"""

from __future__ import annotations

import abc
import dataclasses

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors


class HelmEngineError(errors.ApiError):
    """A Helm operation failed; the message says which and what Helm said.

    A system of its own rather than a KubeError: a chart repository or a local chart fails it as well.
    """


class HelmTransient(HelmEngineError, errors.Transient):
    """A failure worth retrying (throttling, 5xx, resets), as ``looks_transient`` recognises it."""


class ReleaseNotFound(HelmEngineError, errors.NotFound):
    """The release (or the requested revision) does not exist."""


# How client-go and kube-apiserver word throttling, 5xx and dropped connections (StatusReasonInternalError,
# ServiceUnavailable, TooManyRequests, Timeout, ...), as they reach us through Helm's error messages.
TRANSIENT_MARKERS = ("too many requests", "try again later", "internal error occurred", "an error on the server",
                     "has prevented the request from succeeding", "the server is currently unable",
                     "service unavailable", "connection reset", "connection refused", "unexpected eof",
                     "i/o timeout", "tls handshake timeout", "etcdserver: request timed out", "http2: client connection lost",
                     "the server was unable to return a response in the time allotted")


def looks_transient(message):
    """True when Helm's error message reads like throttling, a server error or a dropped connection."""
    lowered = str(message).lower()
    return any(marker in lowered for marker in TRANSIENT_MARKERS)


def engine_error(message):
    """The error for a failed Helm operation: HelmTransient when the message reads transient."""
    return HelmTransient(message) if looks_transient(message) else HelmEngineError(message)


@dataclasses.dataclass
class ReleaseSpec:
    """The desired release, as the module's options describe it; timeout in seconds."""

    name: str
    namespace: str
    chart_ref: str
    values: dict
    chart_version: str = None
    chart_repo_url: str = None
    create_namespace: bool = False
    timeout: int = 300

    def __post_init__(self):
        self.timeout = int(self.timeout)


def release_from_helm_json(data):
    """One record shape for the releases both engines return.

    Helm's stored release and ``helm ... -o json`` nest (``info.status``, ``chart.metadata``, ``version``);
    helm-python-sdk's summaries are flat (``status``, ``chart_name``, ``revision``).
    """
    if data is None:
        return None
    info = data.get("info") or {}
    metadata = (data.get("chart") or {}).get("metadata") or {}
    return {
        "name": data.get("name"),
        "namespace": data.get("namespace"),
        "revision": int(data.get("version") or data.get("revision") or 0),
        "status": str(info.get("status") or data.get("status") or "").lower(),
        "description": info.get("description") or data.get("description") or "",
        "chart_name": metadata.get("name") or data.get("chart_name") or "",
        "chart_version": str(metadata.get("version") or data.get("chart_version") or ""),
        "app_version": str(metadata.get("appVersion") or data.get("app_version") or ""),
        "config": data.get("config") or {},
        "manifest": data.get("manifest") or "",
    }


class HelmEngine(abc.ABC):
    """The operations the orchestration calls; each adapter implements them.

    Waiting for an install or upgrade to become ready is not among them: the runner's checks do it, for
    both engines alike.
    """

    name = "abstract"

    @abc.abstractmethod
    def chart_metadata(self, spec):
        """``{name, version, appVersion}`` of the chart spec refers to, without rendering it."""

    @abc.abstractmethod
    def upgrade_install(self, spec, dry_run=False):
        """Install or upgrade; with dry_run, render server-side and store nothing. Returns a release record."""

    @abc.abstractmethod
    def rollback(self, name, namespace, revision, wait, timeout):
        """Roll back to revision (a new revision records it)."""

    @abc.abstractmethod
    def uninstall(self, name, namespace, wait, timeout):
        """Remove the release and its resources."""

    def close(self):
        """Release what the engine holds open; the module runner calls it once the task is done.

        Nothing, by default: an engine that keeps connections or native handles overrides it.
        """

# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the orchestration needs of a Helm engine, and the release record both engines return.

Two adapters implement it: ``cli.CliEngine`` (a ``helm`` binary >= 3.8) and ``sdk.SdkEngine`` (Helm's Go
SDK through helm-python-sdk). Everything else (preflight, idempotence, checks, rollback) is shared, and so
is where a chart comes from: each engine only pulls, ``source.ChartCache`` decides when and keeps the archive,
and both engines install from that local archive.
"""

from __future__ import annotations

import abc
import dataclasses

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import InvalidInput


class HelmEngineError(errors.ApiError):
    """A Helm operation failed; the message says which and what Helm said.

    A system of its own rather than a KubeError: a chart repository or a local chart fails it as well.
    """


class HelmTransient(HelmEngineError, errors.Transient):
    """A failure worth retrying (throttling, 5xx, resets), as ``looks_transient`` recognises it."""


class ReleaseNotFound(HelmEngineError, errors.NotFound):
    """The release (or the requested revision) does not exist."""


class ChartAccessDenied(HelmEngineError, errors.AuthError):
    """The chart repository or registry refused the credentials, or wanted some."""


# How client-go and kube-apiserver word throttling, 5xx and dropped connections (StatusReasonInternalError,
# ServiceUnavailable, TooManyRequests, Timeout, ...), as they reach us through Helm's error messages.
TRANSIENT_MARKERS = ("too many requests", "try again later", "internal error occurred", "an error on the server",
                     "has prevented the request from succeeding", "the server is currently unable",
                     "service unavailable", "connection reset", "connection refused", "unexpected eof",
                     "i/o timeout", "tls handshake timeout", "etcdserver: request timed out", "http2: client connection lost",
                     "the server was unable to return a response in the time allotted",
                     # a chart repository's or registry's answer, as Go's net/http and oras-go print it
                     "internal server error", "bad gateway", "gateway timeout")


def looks_transient(message):
    """True when Helm's error message reads like throttling, a server error or a dropped connection."""
    lowered = str(message).lower()
    return any(marker in lowered for marker in TRANSIENT_MARKERS)


def engine_error(message):
    """The error for a failed Helm operation: HelmTransient when the message reads transient."""
    return HelmTransient(message) if looks_transient(message) else HelmEngineError(message)


@dataclasses.dataclass(frozen=True)
class RepoAuth:
    """How to reach the chart's repository or OCI registry: Basic credentials (a registry login), a CA bundle,
    or no TLS verification. The password stays out of every repr."""

    username: str = None
    password: str = dataclasses.field(default=None, repr=False)
    ca_file: str = None
    insecure_skip_tls_verify: bool = False


@dataclasses.dataclass
class ReleaseSpec:
    """The desired release, as the module's options describe it; timeout in seconds.

    repo_auth applies to a chart from chart_repo_url or an ``oci://`` registry (its TLS settings to any
    chart pulled from elsewhere, too); InvalidInput for credentials anywhere else, or half a pair.
    """

    name: str
    namespace: str
    chart_ref: str
    values: dict
    chart_version: str = None
    chart_repo_url: str = None
    create_namespace: bool = False
    timeout: int = 300
    repo_auth: RepoAuth = dataclasses.field(default_factory=RepoAuth)

    def __post_init__(self):
        self.timeout = int(self.timeout)
        auth = self.repo_auth
        if bool(auth.username) != bool(auth.password):
            raise InvalidInput("chart_repo_username and chart_repo_password go together")
        if auth.username and self.chart_ref and not (self.chart_repo_url or self.chart_ref.startswith("oci://")):
            raise InvalidInput("chart_repo_username and chart_repo_password are for a chart from chart_repo_url or an "
                               "oci:// registry; chart_ref %s is neither" % self.chart_ref)


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
    both engines alike. charts: the ``source.ChartCache`` that turns a chart reference into a local archive.
    """

    name = "abstract"

    def __init__(self, charts):
        self.charts = charts

    def chart_metadata(self, spec):
        """The Chart.yaml (``name``, ``version``, ``appVersion``...) of the chart spec refers to, without rendering it.

        A chart from a repository or registry is pulled (once, while its version is pinned) to read it.
        """
        return self.charts.metadata(spec, self.pull)

    def chart_path(self, spec):
        """The chart on this host, as upgrade_install installs it: a local chart, or the pulled archive."""
        return self.charts.chart_path(spec, self.pull)

    @abc.abstractmethod
    def pull(self, spec, destination):
        """Download the chart spec refers to into the (empty, private) directory destination, with spec.repo_auth."""

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

        The charts pulled for this task alone (an unpinned version) are removed; an engine that keeps
        connections or native handles closes them too.
        """
        self.charts.close()

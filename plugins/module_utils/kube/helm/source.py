# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Where a release's chart comes from, and the controller-side cache of the charts pulled from afar.

A local chart (directory or archive) is used where it is. Any other chart is pulled by the engine into
a private directory: a pinned version (an exact ``chart_version``) once into the cache, keyed by the
repository URL or reference, the chart and the version, and never by the credentials, so a repeated
plan or install reads the archive from disk; a version that is not pinned is pulled afresh for every
task (what "latest" or ``~1.2`` means changes as the repository does) and removed when the task ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import time

from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import Transient
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.masking import MASK
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.retry import Retry
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import InvalidInput
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import ChartAccessDenied, HelmEngineError

# An exact semantic version, as ``--version`` takes it; anything else (``~1.2``, ``>=1``, ``1.2``) is a range.
PINNED_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
# How Helm, Go's net/http and oras-go word a refusal of the credentials (a status code as a word of its own,
# not the digits of a port or a digest).
DENIED = re.compile(r"\b40[13]\b|unauthorized|forbidden|authentication required|requested access to the resource is denied",
                    re.IGNORECASE)


def default_cache_dir():
    """``$XDG_CACHE_HOME/mlplatform.selfhosted/charts``, or ``~/.cache/...`` without XDG_CACHE_HOME."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mlplatform.selfhosted", "charts")


def is_oci(chart_ref):
    return chart_ref.startswith("oci://")


def oci_registry(chart_ref):
    """``host[:port]`` of an ``oci://`` reference, as a registry login takes it."""
    return chart_ref[len("oci://"):].split("/", 1)[0]


def local_chart(spec):
    """The path of spec's chart when it is a local directory or archive, else None (a chart to pull).

    As Helm tells them apart: an existing path is local; a missing one that is absolute or starts with
    ``.`` is a mistake (InvalidInput); anything else names a chart in a repository. ``~`` is expanded, as
    the shell does for a ``helm`` command line.
    """
    if spec.chart_repo_url or "://" in spec.chart_ref:
        return None
    ref = os.path.expanduser(spec.chart_ref)
    if os.path.exists(ref):
        return ref
    if os.path.isabs(ref) or ref.startswith("."):
        raise InvalidInput("chart_ref %s: there is no chart directory or archive at that path" % ref)
    return None


def describe(spec):
    """The chart as messages name it: what, which version, from where."""
    version = spec.chart_version or "(latest)"
    if spec.chart_repo_url:
        return "chart %s %s from %s" % (spec.chart_ref, version, spec.chart_repo_url)
    return "chart %s %s" % (spec.chart_ref, version)


def cache_key(spec):
    """The cache entry of a pinned chart: a hash of where it comes from, its name and version (no credentials)."""
    source = json.dumps([spec.chart_repo_url or "", spec.chart_ref, spec.chart_version.lstrip("v")])
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:32]


def chart_yaml(path):
    """The Chart.yaml of a chart directory or ``.tgz`` archive, as a dict; HelmEngineError when it has none."""
    try:
        if os.path.isdir(path):
            with open(os.path.join(path, "Chart.yaml"), encoding="utf-8") as handle:
                text = handle.read()
        else:
            with tarfile.open(path, "r:gz") as archive:
                member = next(item for item in archive.getmembers() if item.name.count("/") == 1 and item.name.endswith("/Chart.yaml"))
                text = archive.extractfile(member).read().decode("utf-8")
        metadata = yaml_load(text)
    except Exception as error:  # OSError, TarError, StopIteration (no Chart.yaml) or PyYAML's YAMLError
        raise HelmEngineError("%s is not a readable chart: %s" % (path, str(error) or type(error).__name__)) from error
    if not isinstance(metadata, dict) or not metadata.get("name"):
        raise HelmEngineError("%s is not a chart: its Chart.yaml names no chart" % path)
    return metadata


@contextlib.contextmanager
def private_directory(prefix, parent=None):
    """A directory only its owner can enter (mkdtemp makes it 0700), removed with what it holds."""
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def pull_failure(spec, error):
    """The error a failed pull ends with: it names the chart and its source, never the password.

    Denied credentials are a ChartAccessDenied; a transient failure (retried already) ends here as a plain
    HelmEngineError, so that no caller retries it again.
    """
    message = str(error)
    password = spec.repo_auth.password
    if password:
        message = message.replace(password, MASK)
    message = "cannot pull %s: %s" % (describe(spec), message)
    if isinstance(error, ChartAccessDenied) or DENIED.search(message):
        return ChartAccessDenied(message)
    if isinstance(error, Transient):
        return HelmEngineError("%s (%d attempts)" % (message, getattr(error, "attempts", 1)))
    return HelmEngineError(message)


class ChartCache:
    """Charts as local archives for one task: pulled by the engine, cached while their version is pinned.

    directory: the cache (default_cache_dir() when None), made 0700; attempts: how often a pull is tried
    while it fails transiently; sleep: the pause between attempts (tests pass a fake).
    """

    def __init__(self, directory=None, attempts=1, sleep=time.sleep):
        self.directory = directory or default_cache_dir()
        self.attempts = attempts
        self._sleep = sleep
        self._paths = {}  # (source, chart, version) -> local path, for this task
        self._scratch = contextlib.ExitStack()

    def chart_path(self, spec, pull):
        """spec's chart on this host; pull(spec, destination) downloads it when it is not local or cached."""
        local = local_chart(spec)
        if local is not None:
            return local
        key = (spec.chart_repo_url, spec.chart_ref, spec.chart_version)
        if key not in self._paths:
            if spec.chart_version and PINNED_VERSION.match(spec.chart_version):
                self._paths[key] = self._cached(spec, pull)
            else:
                self._paths[key] = self._pulled(spec, pull, self._scratch.enter_context(private_directory("mlplatform-chart-")))
        return self._paths[key]

    def metadata(self, spec, pull):
        """The Chart.yaml of spec's chart, local or pulled."""
        return chart_yaml(self.chart_path(spec, pull))

    def _cached(self, spec, pull):
        entry = os.path.join(self.directory, cache_key(spec))
        found = self._archive_in(entry)
        if found:
            try:
                chart_yaml(found)
                return found
            except HelmEngineError:  # a damaged entry is pulled again
                shutil.rmtree(entry, ignore_errors=True)
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
        except OSError as error:
            raise InvalidInput("chart_cache_dir %s cannot be created: %s" % (self.directory, error)) from error
        # Pulled aside and moved in whole, so that a concurrent task sees the entry complete or not at all.
        with private_directory(".pull-", self.directory) as staging:
            self._pulled(spec, pull, staging)
            try:
                os.rename(staging, entry)
            except OSError:  # another task cached it first
                if not self._archive_in(entry):
                    raise
        return self._archive_in(entry)

    def _pulled(self, spec, pull, destination):
        try:
            Retry(self.attempts, sleep=self._sleep).call(lambda: pull(spec, destination))
        except HelmEngineError as error:
            raise pull_failure(spec, error) from error
        archive = self._archive_in(destination)
        if archive is None:
            raise HelmEngineError("pulling %s left no chart archive" % describe(spec))
        chart_yaml(archive)
        return archive

    @staticmethod
    def _archive_in(directory):
        archives = sorted(name for name in os.listdir(directory) if name.endswith(".tgz")) if os.path.isdir(directory) else []
        return os.path.join(directory, archives[0]) if archives else None

    def close(self):
        """Remove what was pulled for this task alone."""
        self._scratch.close()
        self._paths.clear()

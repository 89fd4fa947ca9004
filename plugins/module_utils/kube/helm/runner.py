# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""helm_release_checked's orchestration: preflight, recovery, plan, install/upgrade, checks, rollback.

Engine-agnostic: it talks to a HelmEngine for release operations and to a KubeClient for everything it
reads itself (the release record, the checks), so the same logic serves the CLI and the SDK engine.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from urllib.parse import urlparse

from ansible.module_utils.common.yaml import yaml_dump

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import ApiError
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.retry import Retry
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import InvalidInput, KubeError
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import manifest as manifests
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import source, storage
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.checks import Checker, run_preflight
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    HelmEngineError,
    release_from_helm_json,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.values import (
    mask_values,
    normalise_values,
    values_equal,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.versions import VersionRangeError, parse_range

# How many times a Helm operation is tried while it fails transiently (the module option's default too).
DEFAULT_TRANSIENT_ATTEMPTS = 6
# Backoff windows of 2, 4, then 8 seconds: a Helm operation is a few dozen requests, not one.
HELM_BACKOFF_BASE = 2.0
HELM_BACKOFF_CAP = 8.0
# A chart archive as ``helm package`` names it: <name>-<semantic version>.tgz.
CHART_ARCHIVE = re.compile(r"^(?P<name>.+?)-(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)\.tgz$")


class ReleaseFailure(ApiError):
    """The task failed; ``result`` holds the fields the failed task returns next to the message."""

    def __init__(self, message, **result):
        super().__init__(message)
        self.result = result


@dataclasses.dataclass(frozen=True)
class ReleaseOptions:
    """How the runner treats the release (what it is, is the ReleaseSpec); validated when built.

    preflight: kube_version, required_crds, required_namespaces, required_secrets; validation_jobs: name or
    label_selector, namespace, log_pattern; secret_paths: dotted paths of values to mask wherever shown;
    recover_pending: roll back (or uninstall) a release an interrupted operation left pending.
    """

    state: str
    atomic: bool
    wait: bool
    wait_timeout: int
    preflight: dict = dataclasses.field(default_factory=dict)
    validation_jobs: list = dataclasses.field(default_factory=list)
    secret_paths: list = dataclasses.field(default_factory=list)
    transient_attempts: int = DEFAULT_TRANSIENT_ATTEMPTS
    recover_pending: bool = True

    def __post_init__(self):
        if self.preflight.get("kube_version"):
            try:
                parse_range(self.preflight["kube_version"])
            except VersionRangeError as error:
                raise InvalidInput("preflight.kube_version: %s" % error) from error
        if self.transient_attempts < 1:
            raise InvalidInput("transient_attempts must be at least 1, got %d" % self.transient_attempts)


def offline_chart(spec):
    """``(name, version)`` of the chart spec asks for, known without fetching it; None when only the chart can tell.

    A local chart (directory or ``.tgz``) is read from disk: Helm installs it whatever chart_version says. A chart
    archive URL names its version (``.../name-1.2.3.tgz``); otherwise the version is chart_version and the name what
    the reference ends with (``repo/name``, ``name`` with chart_repo_url, ``oci://host/path/name``). A local path
    that is gone stands for the chart its directory or archive is named after, as Helm names them.
    """
    ref, version = spec.chart_ref, spec.chart_version
    if os.path.exists(ref):
        return _local_chart(ref)
    local = os.path.isabs(ref) or ref.startswith(".")  # how Helm tells a local path from a repository chart
    if ref.startswith(("http://", "https://")) or (local and ref.endswith(".tgz")):
        archive = CHART_ARCHIVE.match(urlparse(ref).path.rsplit("/", 1)[-1])
        if not archive or version not in (None, archive.group("version")):
            return None
        return archive.group("name"), archive.group("version")
    if ref.startswith("oci://"):  # oci://host/path/name, its version in chart_version or as a tag
        name, _sep, tag = ref.rstrip("/").rsplit("/", 1)[-1].partition(":")
        pinned = version or tag
        return (name, pinned) if pinned and "@" not in name and tag in ("", pinned) else None
    if not version:
        return None
    if local:
        return os.path.basename(ref.rstrip("/")), version
    parts = ref.split("/")
    if spec.chart_repo_url:
        return (ref, version) if len(parts) == 1 else None
    return (parts[1], version) if len(parts) == 2 else None


def _local_chart(path):
    """``(name, version)`` from a local chart's Chart.yaml (directory or archive); None when it has none."""
    try:
        metadata = source.chart_yaml(path)
    except HelmEngineError:  # the engine will say what is wrong with it
        return None
    return (str(metadata["name"]), str(metadata["version"])) if metadata.get("version") is not None else None


class ReleaseRunner:
    def __init__(self, engine, kube, spec, options, check_mode=False, diff_mode=False,
                 clock=time.monotonic, sleep=time.sleep, wall_clock=time.time):
        """engine: a HelmEngine; kube: a KubeClient; spec: the ReleaseSpec; options: the ReleaseOptions.

        clock and sleep time the checks and retries; wall_clock (seconds since the epoch) ages stored records.
        """
        self.engine = engine
        self.kube = kube
        self.spec = spec
        self.options = options
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self.result = {"changed": False, "checks": []}

    # --- reading the release
    def _stored(self):
        """The release's storage Secrets, every revision: one list request."""
        return self.kube.list("Secret", self.spec.namespace, label_selector=storage.release_selector(self.spec.name))

    def current_release(self, secrets=None):
        """The latest stored revision, read straight from Helm's storage Secrets (or from secrets, read already)."""
        raw = storage.latest_release(self._stored() if secrets is None else secrets)
        return release_from_helm_json(raw) if raw else None

    def _masked(self, values):
        return mask_values(normalise_values(values), self.options.secret_paths)

    def _describe(self, release, values=None):
        """Fill the result from a release record; values: what was applied, when the record lacks them."""
        resources = manifests.parse_manifest(release["manifest"], self.spec.namespace)
        self.result.update({
            "status": release["status"],
            "revision": release["revision"],
            "chart": "%s-%s" % (release["chart_name"], release["chart_version"]),
            "app_version": release["app_version"],
            "values": self._masked(release["config"] if values is None else values),
            "resources": manifests.resource_refs(resources),
        })
        return resources

    # --- entry point
    def run(self):
        """The task's result; a ReleaseFailure's result is the one so far, updated with what failed."""
        try:
            if self.options.state == "absent":
                self._absent()
            else:
                self._present()
        except ReleaseFailure as failure:
            failure.result = dict(self.result, **failure.result)
            if "recovered" in self.result and not self.check_mode:
                failure.done.append(self.result["recovered"]["message"])
            raise
        return self.result

    def _absent(self):
        current = self.current_release()
        if current is None:
            self.result["status"] = "absent"
            return
        self.result["changed"] = True
        chart = "%s-%s" % (current["chart_name"], current["chart_version"])
        self.result["diff"] = {"before": {"release": current["name"], "revision": current["revision"], "chart": chart}, "after": {}}
        if not self.check_mode:
            name, namespace = self.spec.name, self.spec.namespace
            self._retrying("uninstall", lambda: self.engine.uninstall(name, namespace, self.options.wait, self.spec.timeout))
        self.result["status"] = "absent" if not self.check_mode else current["status"]

    def _present(self):
        preflight = dict(self.options.preflight, default_namespace=self.spec.namespace)
        problems, server_version = run_preflight(self.kube, preflight)
        if server_version:
            self.result["kube_version"] = server_version
        if problems:
            raise ReleaseFailure("preflight failed, nothing was changed: %s" % "; ".join(problems), preflight=problems)
        secrets = self._stored()
        current = self.current_release(secrets)
        if current and current["status"].startswith("pending"):
            recovery = self._recovery(current, secrets)
            self.result["changed"] = True
            if self.check_mode:
                self.result["recovered"] = recovery
                self._plan_recovery(recovery, secrets)
                return
            current = self._recover(recovery)
            self.result["recovered"] = recovery
        # A pinned chart named by its reference needs no chart to be recognised (offline_chart): a no-op needs no
        # network. Otherwise the chart decides, and a chart that cannot be had fails here, before anything is written.
        if current and self.release_is_current(current, offline_chart(self.spec)):
            self._describe(current)
            return
        chart = self.engine.chart_metadata(self.spec)
        if current and self.release_is_current(current, (chart.get("name"), str(chart.get("version")))):
            self._describe(current)
            return
        self.result["changed"] = True
        if self.check_mode or self.diff_mode:
            planned = self._retrying("plan", lambda: self.engine.upgrade_install(self.spec, dry_run=True))
            self._diff(current, planned)
            if self.check_mode:
                self._describe(planned, self.spec.values)
                self.result["status"] = "planned"
                return
        applied = self._apply(current)
        resources = self._describe(applied, self.spec.values)
        self._check(current, resources)

    def release_is_current(self, current, chart):
        """Deployed, the chart's ``(name, version)``, same user values: nothing to do."""
        return (current["status"] == "deployed"
                and (current["chart_name"], current["chart_version"]) == chart
                and values_equal(current["config"], self.spec.values))

    def _values_diff(self, current, after_header):
        """The values part of the diff: current's user values (or none) against the requested ones, masked."""
        before_chart = "%s-%s" % (current["chart_name"], current["chart_version"]) if current else ""
        return {"before_header": "values (revision %d, %s)" % (current["revision"], before_chart) if current else "values (not installed)",
                "after_header": after_header,
                "before": yaml_dump(self._masked(current["config"]) if current else {}, default_flow_style=False),
                "after": yaml_dump(self._masked(self.spec.values), default_flow_style=False)}

    def _diff(self, current, planned):
        manifest_text, changed_resources = manifests.manifest_diff(current["manifest"] if current else "",
                                                                   planned["manifest"], self.spec.namespace)
        self.result["diff"] = [
            self._values_diff(current, "values (planned, %s-%s)" % (planned["chart_name"], planned["chart_version"])),
            {"prepared": manifest_text or "(no manifest changes)\n"},
        ]
        self.result["changed_resources"] = changed_resources

    # --- a release an interrupted operation left pending
    def _recovery(self, pending, secrets, ours=False):
        """What recovering a pending release takes, as the result's ``recovered``; a ReleaseFailure when it must not.

        The release is rolled back to its last deployed revision, or uninstalled when it never was deployed.
        Helm has no lock, so a pending record may also be an operation that is still running: it is left alone
        while it is younger than wait_timeout, which bounds every Helm operation this task starts, unless it is
        ours (an attempt of this task that failed).
        """
        release = "%s/%s" % (self.spec.namespace, self.spec.name)
        entries = storage.history(secrets)
        target = storage.last_deployed(entries, pending["revision"])
        where = "release %s is %s (revision %d)" % (release, pending["status"], pending["revision"])
        facts = {"status": pending["status"], "revision": pending["revision"]}
        if target is None:
            undo = "uninstall it (helm uninstall %s --namespace %s), as it was never deployed" % (self.spec.name, self.spec.namespace)
        else:
            undo = "roll back to revision %d, the last deployed one (helm rollback %s %d --namespace %s)" % (
                target, self.spec.name, target, self.spec.namespace)
        if not self.options.recover_pending:
            raise ReleaseFailure("%s: another operation is in progress or was interrupted. Wait for it, or %s, or set "
                                 "recover_pending to let this task do so." % (where, undo), **facts)
        created = next((entry["created"] for entry in entries if entry["revision"] == pending["revision"]), None)
        age = None if created is None else self._wall_clock() - created
        if not ours and age is not None and age < self.options.wait_timeout:
            raise ReleaseFailure(
                "%s, written %ds ago: another operation may still be running (recover_pending leaves a pending record "
                "alone until it is older than wait_timeout, %ds). Run the task again once it has ended (an interrupted "
                "one is recovered in %ds), or %s." % (where, age, self.options.wait_timeout, self.options.wait_timeout - age + 1, undo),
                **facts)
        if target is None:
            action, deed = "uninstall", "would uninstall it" if self.check_mode else "uninstalled it"
        else:
            action, deed = "rollback", ("would roll back to revision %d" if self.check_mode else "rolled back to revision %d") % target
        return {"action": action, "from_status": pending["status"], "from_revision": pending["revision"], "to_revision": target,
                "message": "%s: %s" % (where, deed)}

    def _recover(self, recovery):
        """Roll back or uninstall as recovery says; returns the release as it is stored then (None: uninstalled)."""
        name, namespace = self.spec.name, self.spec.namespace
        if recovery["action"] == "rollback":
            self._retrying("rollback", lambda: self.engine.rollback(name, namespace, recovery["to_revision"], False, self.spec.timeout))
        else:  # wait for the resources to go, so that the install that follows does not meet them
            self._retrying("uninstall", lambda: self.engine.uninstall(name, namespace, True, self.spec.timeout))
        return self.current_release()

    def _plan_recovery(self, recovery, secrets):
        """Check mode: what the recovery would do, and the values as they would change from the restored revision.

        A pending release cannot be rendered (Helm refuses to plan over it), so there is no manifest diff.
        """
        target = recovery["to_revision"]
        restored = release_from_helm_json(storage.release_revision(secrets, target)) if target is not None else None
        self.result["status"] = "planned"
        self.result["diff"] = [self._values_diff(restored, "values (requested)"),
                               {"prepared": "%s, then apply the request\n" % recovery["message"]}]

    def _apply(self, current):
        """upgrade --install, retried while the failures are transient.

        After a failure the stored release tells what happened: a new deployed revision means the operation
        went through; a new pending one is the failed attempt's own, recovered (with recover_pending) so that
        the next attempt is not refused; otherwise the next attempt upgrades from whatever is stored (a failed
        release is upgraded, as Helm allows).
        """
        before_revision = current["revision"] if current else 0

        def attempt():
            nonlocal before_revision
            try:
                return self.engine.upgrade_install(self.spec)
            except HelmEngineError:
                secrets = self._stored()
                stored = self.current_release(secrets)
                if stored and stored["revision"] > before_revision:
                    if stored["status"] == "deployed":
                        return stored
                    if stored["status"].startswith("pending") and self.options.recover_pending:
                        restored = self._recover(self._recovery(stored, secrets, ours=True))
                        before_revision = restored["revision"] if restored else 0
                raise

        return self._retrying("install" if not current else "upgrade", attempt)

    def _retrying(self, what, operation):
        """operation(), retried while Helm fails transiently; every failure ends as a ReleaseFailure.

        The KubeClient has retried its own requests already, so its errors end the loop at once.
        """
        release = "%s/%s" % (self.spec.namespace, self.spec.name)

        def attempt():
            try:
                return operation()
            except KubeError as error:
                raise ReleaseFailure("%s of %s: %s" % (what, release, error)) from error

        try:
            retry = Retry(self.options.transient_attempts, base=HELM_BACKOFF_BASE, cap=HELM_BACKOFF_CAP, sleep=self._sleep)
            return retry.call(attempt)
        except HelmEngineError as error:
            raise ReleaseFailure("helm %s of %s failed: %s" % (what, release, error)) from error

    # --- checks and rollback
    def _check(self, previous, resources):
        if not (self.options.wait or self.options.validation_jobs):
            return
        checker = Checker(self.kube, self.options.wait_timeout, clock=self._clock, sleep=self._sleep)
        checks = []
        if self.options.wait:
            checks += [checker.workload(ref) for ref in manifests.workloads(resources)]
        checks += [checker.validation_job(job, self.spec.namespace) for job in self.options.validation_jobs]
        self.result["checks"] = checks
        failed = [check for check in checks if not check["passed"]]
        if not failed:
            return
        message = "check failed after %s: %s" % (
            "upgrade" if previous else "install", "; ".join("%s (%s)" % (check["name"], check["detail"]) for check in failed))
        if not self.options.atomic:
            raise ReleaseFailure(message, failed_checks=failed)
        rollback = self._roll_back(previous)
        raise ReleaseFailure("%s; %s" % (message, rollback["message"]), failed_checks=failed, rollback=rollback)

    def _roll_back(self, previous):
        """Put the previous revision back (or remove a first install); report what happened.

        The rollback does not wait for readiness: what failed the check may well fail the previous
        revision's pods too, and the task is failing either way; the previous manifests are restored.
        """
        name, namespace = self.spec.name, self.spec.namespace
        try:
            if previous and previous["status"] == "deployed":
                self._retrying("rollback", lambda: self.engine.rollback(name, namespace, previous["revision"], False, self.spec.timeout))
                restored = self.current_release()
                return {"action": "rollback", "to_revision": previous["revision"],
                        "revision": restored["revision"] if restored else None,
                        "message": "rolled back to revision %d (now revision %s)" % (
                            previous["revision"], restored["revision"] if restored else "unknown")}
            self._retrying("uninstall", lambda: self.engine.uninstall(name, namespace, False, self.spec.timeout))
            return {"action": "uninstall", "message": "uninstalled the release, which had no earlier deployed revision"}
        except ReleaseFailure as error:
            return {"action": "failed", "message": "the rollback failed too: %s" % error}

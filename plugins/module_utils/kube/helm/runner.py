# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""helm_release_checked's orchestration: preflight, plan, install/upgrade, checks, rollback.

Engine-agnostic: it talks to a HelmEngine for release operations and to a KubeClient for everything it
reads itself (the release record, the checks), so the same logic serves the CLI and the SDK engine.
"""

from __future__ import annotations

import dataclasses
import time

from ansible.module_utils.common.yaml import yaml_dump

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import ApiError
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.retry import Retry
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import InvalidInput, KubeError
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import manifest as manifests
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import storage
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
DEFAULT_TRANSIENT_ATTEMPTS = 4
# Backoff windows of 2, 4, then 8 seconds: a Helm operation is a few dozen requests, not one.
HELM_BACKOFF_BASE = 2.0
HELM_BACKOFF_CAP = 8.0


class ReleaseFailure(ApiError):
    """The task failed; ``result`` holds the fields the failed task returns next to the message."""

    def __init__(self, message, **result):
        super().__init__(message)
        self.result = result


@dataclasses.dataclass(frozen=True)
class ReleaseOptions:
    """How the runner treats the release (what it is, is the ReleaseSpec); validated when built.

    preflight: kube_version, required_crds, required_namespaces, required_secrets; validation_jobs: name or
    label_selector, namespace, log_pattern; secret_paths: dotted paths of values to mask wherever shown.
    """

    state: str
    atomic: bool
    wait: bool
    wait_timeout: int
    preflight: dict = dataclasses.field(default_factory=dict)
    validation_jobs: list = dataclasses.field(default_factory=list)
    secret_paths: list = dataclasses.field(default_factory=list)
    transient_attempts: int = DEFAULT_TRANSIENT_ATTEMPTS

    def __post_init__(self):
        if self.preflight.get("kube_version"):
            try:
                parse_range(self.preflight["kube_version"])
            except VersionRangeError as error:
                raise InvalidInput("preflight.kube_version: %s" % error) from error
        if self.transient_attempts < 1:
            raise InvalidInput("transient_attempts must be at least 1, got %d" % self.transient_attempts)


class ReleaseRunner:
    def __init__(self, engine, kube, spec, options, check_mode=False, diff_mode=False,
                 clock=time.monotonic, sleep=time.sleep):
        """engine: a HelmEngine; kube: a KubeClient; spec: the ReleaseSpec; options: the ReleaseOptions."""
        self.engine = engine
        self.kube = kube
        self.spec = spec
        self.options = options
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self._clock = clock
        self._sleep = sleep
        self.result = {"changed": False, "checks": []}

    # --- reading the release
    def current_release(self):
        """The latest stored revision, read straight from Helm's storage Secrets: one list request."""
        secrets = self.kube.list("Secret", self.spec.namespace, label_selector=storage.release_selector(self.spec.name))
        raw = storage.latest_release(secrets)
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
        current = self.current_release()
        if current and current["status"].startswith("pending"):
            raise ReleaseFailure(
                "release %s/%s is %s (revision %d): another operation is in progress or was interrupted. Wait for it, "
                "or roll back to the last deployed revision (helm rollback %s) before running this task again."
                % (self.spec.namespace, self.spec.name, current["status"], current["revision"], self.spec.name),
                status=current["status"], revision=current["revision"])
        chart = self.engine.chart_metadata(self.spec)
        if current and self.release_is_current(current, chart):
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
        """Deployed, same chart name and version, same user values: nothing to do."""
        return (current["status"] == "deployed"
                and current["chart_name"] == chart.get("name")
                and current["chart_version"] == str(chart.get("version"))
                and values_equal(current["config"], self.spec.values))

    def _diff(self, current, planned):
        before_values = yaml_dump(self._masked(current["config"]) if current else {}, default_flow_style=False)
        after_values = yaml_dump(self._masked(self.spec.values), default_flow_style=False)
        manifest_text, changed_resources = manifests.manifest_diff(current["manifest"] if current else "",
                                                                   planned["manifest"], self.spec.namespace)
        before_chart = "%s-%s" % (current["chart_name"], current["chart_version"]) if current else "(not installed)"
        self.result["diff"] = [
            {"before_header": "values (revision %d, %s)" % (current["revision"], before_chart) if current else "values (not installed)",
             "after_header": "values (planned, %s-%s)" % (planned["chart_name"], planned["chart_version"]),
             "before": before_values, "after": after_values},
            {"prepared": manifest_text or "(no manifest changes)\n"},
        ]
        self.result["changed_resources"] = changed_resources

    def _apply(self, current):
        """upgrade --install, retried while the failures are transient.

        After a transient failure the stored release tells what happened: a new deployed revision means
        the operation went through; otherwise the next attempt upgrades from whatever is stored (a failed
        release is upgraded, as Helm allows).
        """
        before_revision = current["revision"] if current else 0

        def attempt():
            try:
                return self.engine.upgrade_install(self.spec)
            except HelmEngineError as error:
                stored = self.current_release()
                if stored and stored["revision"] > before_revision and stored["status"] == "deployed":
                    return stored
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

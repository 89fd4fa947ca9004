# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Preflight before a release is touched, and readiness/validation checks after it changed."""

from __future__ import annotations

import re
import time

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import KubeError
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.versions import version_in_range

MAX_LOG_CHARS = 20000


def run_preflight(kube, preflight):
    """Read-only checks; returns (list of problems, kubernetes version or None). Nothing is written."""
    problems = []
    server_version = None
    if preflight.get("kube_version"):
        server_version = kube.version().get("gitVersion", "")
        if not version_in_range(server_version, preflight["kube_version"]):
            problems.append("Kubernetes %s is outside the supported range %s" % (server_version, preflight["kube_version"]))
    for crd in preflight.get("required_crds") or []:
        if kube.get("CustomResourceDefinition", crd) is None:
            problems.append("CustomResourceDefinition %s is missing" % crd)
    for namespace in preflight.get("required_namespaces") or []:
        if kube.get("Namespace", namespace) is None:
            problems.append("namespace %s is missing" % namespace)
    for secret in preflight.get("required_secrets") or []:
        namespace, _sep, name = secret.rpartition("/")
        if kube.get("Secret", name, namespace or preflight["default_namespace"]) is None:
            problems.append("secret %s/%s is missing" % (namespace or preflight["default_namespace"], name))
    return problems, server_version


def _condition(obj, kind):
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def workload_state(obj):
    """``(ready, failed, detail)`` of a Deployment, StatefulSet, DaemonSet or Job, as kubectl rollout status reads it."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation", 0)
    if kind == "Job":
        complete, failed = _condition(obj, "Complete"), _condition(obj, "Failed")
        if failed and failed.get("status") == "True":
            return False, True, "job failed: %s" % (failed.get("reason") or failed.get("message") or "")
        if complete and complete.get("status") == "True":
            return True, False, "complete"
        return False, False, "%s of %s completions" % (status.get("succeeded", 0), spec.get("completions", 1))
    if status.get("observedGeneration", 0) < generation:
        return False, False, "waiting for the controller to observe generation %s" % generation
    if kind == "Deployment":
        wanted = spec.get("replicas", 1)
        available = _condition(obj, "Available")
        ready = (status.get("updatedReplicas", 0) >= wanted and status.get("availableReplicas", 0) >= wanted
                 and (available is None or available.get("status") == "True"))
        return ready, False, "%s/%s replicas available" % (status.get("availableReplicas", 0), wanted)
    if kind == "StatefulSet":
        wanted = spec.get("replicas", 1)
        ready = status.get("readyReplicas", 0) >= wanted and status.get("updatedReplicas", wanted) >= wanted
        if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
            ready = False
        return ready, False, "%s/%s replicas ready" % (status.get("readyReplicas", 0), wanted)
    if kind == "DaemonSet":
        wanted = status.get("desiredNumberScheduled", 0)
        ready = status.get("numberReady", 0) >= wanted and status.get("updatedNumberScheduled", 0) >= wanted
        return ready, False, "%s/%s pods ready" % (status.get("numberReady", 0), wanted)
    return True, False, "not a workload"


class Checker:
    """Waits for a release's workloads and validation jobs; every check gets a result and a duration."""

    def __init__(self, kube, timeout, poll_interval=1.0, clock=time.monotonic, sleep=time.sleep):
        self.kube = kube
        self.deadline = clock() + timeout
        self.poll_interval = poll_interval
        self._clock = clock
        self._sleep = sleep

    def _wait(self, probe):
        """Poll probe() -> (done, failed, detail) until done, failed or the shared deadline."""
        while True:
            try:
                done, failed, detail = probe()
            except KubeError as error:
                done, failed, detail = False, False, str(error)
            if done or failed or self._clock() >= self.deadline:
                return done, detail
            self._sleep(self.poll_interval)

    def workload(self, ref):
        started = self._clock()

        def probe():
            obj = self.kube.get(ref["kind"], ref["name"], ref["namespace"])
            if obj is None:
                return False, False, "not found"
            return workload_state(obj)

        passed, detail = self._wait(probe)
        return {"name": "%s %s/%s ready" % (ref["kind"], ref["namespace"], ref["name"]), "type": "workload",
                "passed": passed, "detail": detail if passed else "not ready in time: %s" % detail,
                "duration": round(self._clock() - started, 3)}

    def validation_job(self, spec, default_namespace):
        namespace = spec.get("namespace") or default_namespace
        target = spec.get("name") or spec.get("label_selector")
        started = self._clock()
        found = {}

        def probe():
            if spec.get("name"):
                job = self.kube.get("Job", spec["name"], namespace)
                jobs = [job] if job else []
            else:
                jobs = self.kube.list("Job", namespace, label_selector=spec["label_selector"])
            if not jobs:
                return False, False, "no job %s yet" % target
            states = [workload_state(job) for job in jobs]
            found["jobs"] = [job["metadata"]["name"] for job in jobs]
            if any(failed for _ready, failed, _detail in states):
                return False, True, "; ".join(detail for _r, failed, detail in states if failed)
            return all(ready for ready, _f, _d in states), False, ", ".join(detail for _r, _f, detail in states)

        passed, detail = self._wait(probe)
        logs = self._job_logs(namespace, found.get("jobs", []))
        pattern = spec.get("log_pattern")
        if passed and pattern and not re.search(pattern, logs, re.MULTILINE):
            passed, detail = False, "logs do not match %r" % pattern
        elif not passed and self._clock() >= self.deadline and "failed" not in detail:
            detail = "not complete in time: %s" % detail
        return {"name": "validation job %s/%s" % (namespace, target), "type": "validation_job", "passed": passed,
                "detail": detail, "jobs": found.get("jobs", []), "logs": logs[-MAX_LOG_CHARS:],
                "duration": round(self._clock() - started, 3)}

    def _job_logs(self, namespace, jobs):
        chunks = []
        for job in jobs:
            try:
                pods = self.kube.list("Pod", namespace, label_selector="job-name=%s" % job)
                for pod in sorted(pods, key=lambda item: item["metadata"]["name"]):
                    chunks.append(self.kube.pod_log(namespace, pod["metadata"]["name"]))
            except KubeError as error:
                chunks.append("(logs of job %s unavailable: %s)" % (job, error))
        return "".join(chunks)

"""A background loop standing in for kube-controller-manager, the scheduler and the kubelets.

Workloads own pods (Deployment -> ReplicaSet -> Pod; StatefulSet, DaemonSet, Job -> Pod); a pod is
Running and Ready `ready_delay_seconds` after the loop first sees it, and the owners' status is
computed from their pods exactly in the fields kubectl rollout status/wait, helm (kstatus) and
kubernetes.core read. Also: service load balancer IPs, bound PVCs, namespace termination, garbage
collection of objects whose owners are gone, and fault injection (never_ready, failing_jobs)."""

import copy
import hashlib
import json
import threading
import time

from tests.sandbox.kube.api import random_suffix
from tests.sandbox.kube.apply import now

NODE_NAME = "sandbox-node"
NODE_IP = "172.18.0.2"
APPS = "apps/v1"


def _hash(template):
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return "".join(c for c in digest if c in "bcdfghjklmnpqrstvwxz2456789")[:10] or digest[:10]


def _owner_ref(owner, api_version, kind):
    return {"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def _controlled_by(obj, uid):
    return any(ref.get("uid") == uid and ref.get("controller") for ref in obj["metadata"].get("ownerReferences") or [])


def _condition(kind, status, reason, message, stamp):
    return {"type": kind, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp, "reason": reason, "message": message}


def _keep_times(old_conditions, new_conditions):
    """Transition times only move when a condition's status changes (keeps writes idempotent)."""
    old = {c.get("type"): c for c in old_conditions or []}
    for condition in new_conditions:
        previous = old.get(condition["type"])
        if previous and previous.get("status") == condition["status"] and previous.get("reason") == condition.get("reason"):
            for key in ("lastUpdateTime", "lastTransitionTime", "lastProbeTime"):
                if key in previous:
                    condition[key] = previous[key]
    return new_conditions


class Controllers:
    """Reconciles everything on every tick; writes only what changed."""

    def __init__(self, api, config):
        self.api, self.store, self.registry, self.config = api, api.store, api.registry, config
        self.wake = threading.Event()
        self.first_seen = {}
        self.terminating = {}  # namespace uid -> when the loop saw its deletion
        self.stopped = False
        self.store.listeners.append(lambda *_: self.wake.set())
        self.ip_counter = 10
        self.next_due = None  # monotonic time a waiting pod or namespace is due: tick then even without changes

    # --- lifecycle
    def start(self):
        threading.Thread(target=self._run, name="controllers", daemon=True).start()

    def stop(self):
        self.stopped = True
        self.wake.set()

    def _run(self):
        while not self.stopped:
            timeout = None if self.next_due is None else max(self.next_due - time.monotonic(), 0.0)
            woken = self.wake.wait(5.0 if timeout is None else min(timeout, 5.0))
            self.wake.clear()
            if self.stopped:
                return
            if not woken and (self.next_due is None or time.monotonic() < self.next_due):
                continue
            try:
                with self.store.lock:
                    self.reconcile()
            except Exception as error:  # pylint: disable=broad-except  # the loop must survive any object
                print(f"controller error: {error!r}", flush=True)

    # --- helpers
    def _delay(self):
        return float(self.config.get("ready_delay_seconds", 1) or 0)

    def _faults(self):
        return self.config.get("faults") or {}

    def _never_ready(self, obj):
        names = set(self._faults().get("never_ready") or [])
        meta = obj["metadata"]
        return meta["name"] in names or f"{meta.get('namespace', '')}/{meta['name']}" in names

    def _elapsed(self, obj):
        uid = obj["metadata"]["uid"]
        started = self.first_seen.setdefault(uid, time.monotonic())
        return time.monotonic() - started >= self._delay()

    def _items(self, group, plural):
        return self.store.list((group, plural))[0]

    def _create(self, group, plural, body):
        res = self.registry.storage_resource(group, plural)
        obj = self.api.new_object(res, body)
        obj["metadata"]["managedFields"] = []
        obj["metadata"].pop("managedFields")
        return self.store.put((group, plural), obj, "ADDED")

    def _save_if_changed(self, key, old, new):
        if old != new:
            self.store.put(key, new, "MODIFIED")

    def _set_status(self, key, obj, status):
        if obj.get("status") != status:
            new = copy.deepcopy(obj)
            new["status"] = status
            self.store.put(key, new, "MODIFIED")

    def _pods_of(self, uid, pods):
        return [pod for pod in pods if _controlled_by(pod, uid) and not pod["metadata"].get("deletionTimestamp")]

    def _new_pod(self, owner, api_version, kind, name, template, extra_labels):
        meta = copy.deepcopy(template.get("metadata") or {})
        meta["labels"] = dict(meta.get("labels") or {}, **extra_labels)
        meta.update({"name": name, "namespace": owner["metadata"]["namespace"], "ownerReferences": [_owner_ref(owner, api_version, kind)]})
        meta.pop("generateName", None)
        return self._create("", "pods", {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})})

    @staticmethod
    def _ready(pod):
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])

    # --- the loop body
    def _due(self, when):
        self.next_due = when if self.next_due is None else min(self.next_due, when)

    def reconcile(self):
        self.next_due = None
        self.ensure_node()
        self.namespaces()
        self.garbage_collect()
        self.deployments(self._items("", "pods"))
        self.replicasets(self._items("", "pods"))
        self.statefulsets(self._items("", "pods"))
        self.daemonsets(self._items("", "pods"))
        self.jobs(self._items("", "pods"))
        self.pods(self._items("", "pods"))
        self.services()
        self.claims()

    def ensure_node(self):
        if self.store.exists(("", "nodes"), "", NODE_NAME):
            return
        stamp = now()
        node = self._create("", "nodes", {"metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "node-role.kubernetes.io/control-plane": ""}}, "spec": {"podCIDR": "10.244.0.0/24"}})
        self._set_status(("", "nodes"), node, {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}],
            "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE_NAME}],
            "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"}, "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.30.6", "operatingSystem": "linux", "architecture": "amd64",
                         "containerRuntimeVersion": "containerd://1.7.0"}})

    def namespaces(self):
        for namespace in self._items("", "namespaces"):
            name = namespace["metadata"]["name"]
            if not namespace["metadata"].get("deletionTimestamp"):
                if not self.store.exists(("", "serviceaccounts"), name, "default"):
                    self._create("", "serviceaccounts", {"metadata": {"name": "default", "namespace": name}})
                continue
            # like the real namespace controller, start a moment later: `kubectl delete -f` deletes the
            # namespace first and its contents right after, and expects those to still be there
            seen = self.terminating.setdefault(namespace["metadata"]["uid"], time.monotonic())
            delay = float(self.config.get("namespace_delete_delay_seconds", 0.5))
            if time.monotonic() - seen < delay:
                self._due(seen + delay)
                continue
            remaining = 0
            for key in self.store.keys():
                res = self.registry.storage_resource(*key)
                if res is None or not res.namespaced:
                    continue
                for obj in self.store.list(key, name)[0]:
                    remaining += 1
                    self.delete_object(res, obj)
            if remaining == 0:
                self.store.remove(("", "namespaces"), "", name)
                self.terminating.pop(namespace["metadata"]["uid"], None)

    def delete_object(self, res, obj):
        """Delete as the garbage collector does: finalizers first, then removal."""
        meta = obj["metadata"]
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now()
                meta["deletionGracePeriodSeconds"] = 0
                self.store.put(res.key, obj, "MODIFIED")
            return
        self.api.remove(res, obj)

    def garbage_collect(self):
        uids, owned = set(), []
        for key, items in self.store.objects.items():  # read in place (the lock is held): no copies per tick
            for obj in items.values():
                uids.add(obj["metadata"]["uid"])
                if obj["metadata"].get("ownerReferences"):
                    owned.append((key, obj))
        for key, obj in owned:
            obj = copy.deepcopy(obj)
            refs = obj["metadata"]["ownerReferences"]
            if not any(ref.get("uid") in uids for ref in refs):
                res = self.registry.storage_resource(*key)
                if res is not None:
                    self.delete_object(res, obj)

    # --- workloads
    def deployments(self, pods):
        replicasets = self._items("apps", "replicasets")
        for deploy in self._items("apps", "deployments"):
            meta, spec = deploy["metadata"], deploy.get("spec") or {}
            if meta.get("deletionTimestamp"):
                continue
            template = spec.get("template") or {}
            pod_hash = _hash(template)
            desired = spec.get("replicas", 1)
            owned = [rs for rs in replicasets if _controlled_by(rs, meta["uid"])]
            current = next((rs for rs in owned if (rs["metadata"].get("labels") or {}).get("pod-template-hash") == pod_hash), None)
            revisions = [int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")) for rs in owned]
            if current is None:
                labels = dict((template.get("metadata") or {}).get("labels") or {}, **{"pod-template-hash": pod_hash})
                rs_template = copy.deepcopy(template)
                rs_template.setdefault("metadata", {})["labels"] = labels
                selector = copy.deepcopy(spec.get("selector") or {})
                selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
                current = self._create("apps", "replicasets", {
                    "metadata": {"name": f"{meta['name']}-{pod_hash}", "namespace": meta["namespace"], "labels": labels,
                                 "annotations": {"deployment.kubernetes.io/revision": str(max(revisions + [0]) + 1),
                                                 "deployment.kubernetes.io/desired-replicas": str(desired)},
                                 "ownerReferences": [_owner_ref(deploy, APPS, "Deployment")]},
                    "spec": {"replicas": desired, "selector": selector, "template": rs_template}})
                owned.append(current)
            for rs in owned:
                want = desired if rs is current else 0
                if (rs.get("spec") or {}).get("replicas") != want:
                    new = copy.deepcopy(rs)
                    new["spec"]["replicas"] = want
                    self.store.put(("apps", "replicasets"), new, "MODIFIED")
            revision = (current["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "1")
            if (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision") != revision:
                new = copy.deepcopy(deploy)
                new["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = revision
                deploy = self.store.put(("apps", "deployments"), new, "MODIFIED")
            self._deployment_status(deploy, owned, current, desired, pods)

    def _deployment_status(self, deploy, owned, current, desired, pods):
        all_pods = [pod for rs in owned for pod in self._pods_of(rs["metadata"]["uid"], pods)]
        updated = self._pods_of(current["metadata"]["uid"], pods)
        ready = sum(1 for pod in all_pods if self._ready(pod))
        stamp = now()
        complete = len(updated) == desired and len(all_pods) == desired and ready >= desired
        status = {"observedGeneration": deploy["metadata"].get("generation", 1), "replicas": len(all_pods),
                  "updatedReplicas": len(updated), "readyReplicas": ready, "availableReplicas": ready}
        if len(all_pods) - ready:
            status["unavailableReplicas"] = len(all_pods) - ready
        status = {k: v for k, v in status.items() if v or k in ("observedGeneration",)}
        rs_name = current["metadata"]["name"]
        conditions = [
            _condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", stamp) if ready >= desired
            else _condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", stamp),
            _condition("Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.', stamp)
            if complete else
            _condition("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.', stamp),
        ]
        status["conditions"] = _keep_times((deploy.get("status") or {}).get("conditions"), conditions)
        self._set_status(("apps", "deployments"), deploy, status)

    def replicasets(self, pods):
        for rs in self._items("apps", "replicasets"):
            meta, spec = rs["metadata"], rs.get("spec") or {}
            if meta.get("deletionTimestamp"):
                continue
            mine = self._pods_of(meta["uid"], pods)
            desired = spec.get("replicas", 1)
            template = spec.get("template") or {}
            for _missing in range(desired - len(mine)):
                mine.append(self._new_pod(rs, APPS, "ReplicaSet", f"{meta['name']}-{random_suffix()}", template, {}))
            for pod in mine[desired:]:
                self.store.remove(("", "pods"), pod["metadata"]["namespace"], pod["metadata"]["name"])
            mine = mine[:desired]
            ready = sum(1 for pod in mine if self._ready(pod))
            status = {"replicas": len(mine), "fullyLabeledReplicas": len(mine), "readyReplicas": ready, "availableReplicas": ready,
                      "observedGeneration": meta.get("generation", 1)}
            self._set_status(("apps", "replicasets"), rs, {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")})

    def statefulsets(self, pods):
        for sts in self._items("apps", "statefulsets"):
            meta, spec = sts["metadata"], sts.get("spec") or {}
            if meta.get("deletionTimestamp"):
                continue
            revision = f"{meta['name']}-{_hash(spec.get('template') or {})}"
            desired = spec.get("replicas", 1)
            mine = {pod["metadata"]["name"]: pod for pod in self._pods_of(meta["uid"], pods)}
            for name, pod in list(mine.items()):
                index = int(name.rsplit("-", 1)[-1]) if name.rsplit("-", 1)[-1].isdigit() else desired
                stale = (pod["metadata"].get("labels") or {}).get("controller-revision-hash") != revision
                if index >= desired or stale:
                    self.store.remove(("", "pods"), meta["namespace"], name)
                    del mine[name]
            for index in range(desired):
                name = f"{meta['name']}-{index}"
                if name not in mine:
                    mine[name] = self._new_pod(sts, APPS, "StatefulSet", name, spec.get("template") or {}, {
                        "controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": name,
                        "apps.kubernetes.io/pod-index": str(index)})
            ready = sum(1 for pod in mine.values() if self._ready(pod))
            status = {"observedGeneration": meta.get("generation", 1), "replicas": len(mine), "readyReplicas": ready,
                      "currentReplicas": len(mine), "updatedReplicas": len(mine), "availableReplicas": ready,
                      "currentRevision": revision, "updateRevision": revision, "collisionCount": 0}
            keep = ("replicas", "observedGeneration", "collisionCount")
            self._set_status(("apps", "statefulsets"), sts, {k: v for k, v in status.items() if v or k in keep})

    def daemonsets(self, pods):
        for ds in self._items("apps", "daemonsets"):
            meta, spec = ds["metadata"], ds.get("spec") or {}
            if meta.get("deletionTimestamp"):
                continue
            revision = _hash(spec.get("template") or {})
            mine = self._pods_of(meta["uid"], pods)
            for pod in mine:
                if (pod["metadata"].get("labels") or {}).get("controller-revision-hash") != revision:
                    self.store.remove(("", "pods"), meta["namespace"], pod["metadata"]["name"])
            mine = [pod for pod in mine if (pod["metadata"].get("labels") or {}).get("controller-revision-hash") == revision]
            if not mine:
                mine.append(self._new_pod(ds, APPS, "DaemonSet", f"{meta['name']}-{random_suffix()}", spec.get("template") or {},
                                          {"controller-revision-hash": revision, "pod-template-generation": str(meta.get("generation", 1))}))
            ready = sum(1 for pod in mine if self._ready(pod))
            status = {"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberMisscheduled": 0, "numberReady": ready,
                      "observedGeneration": meta.get("generation", 1), "updatedNumberScheduled": 1, "numberAvailable": ready}
            if not ready:
                status["numberUnavailable"] = 1
                del status["numberAvailable"]
            self._set_status(("apps", "daemonsets"), ds, status)

    def jobs(self, pods):
        failing = set(self._faults().get("failing_jobs") or [])
        for job in self._items("batch", "jobs"):
            meta, spec = job["metadata"], job.get("spec") or {}
            if meta.get("deletionTimestamp") or spec.get("suspend"):
                continue
            old = job.get("status") or {}
            if any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in old.get("conditions") or []):
                continue
            mine = self._pods_of(meta["uid"], pods)
            status = dict(old)
            if not mine:
                template = spec.get("template") or {}
                mine = [self._new_pod(job, "batch/v1", "Job", f"{meta['name']}-{random_suffix()}", template, {})]
                status.update({"startTime": now(), "active": 1, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}})
            phase = (mine[0].get("status") or {}).get("phase")
            stamp = now()
            name = meta["name"]
            if phase == "Succeeded":
                status.pop("active", None)
                status.update({"succeeded": spec.get("completions", 1), "completionTime": stamp, "ready": 0, "conditions": [
                    _job_condition("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods", stamp),
                    _job_condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods", stamp)]})
            elif phase == "Failed" or (name in failing and phase == "Running"):
                status.pop("active", None)
                status.update({"failed": 1, "ready": 0, "conditions": [
                    _job_condition("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", stamp),
                    _job_condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", stamp)]})
            self._set_status(("batch", "jobs"), job, status)

    def _top_owner(self, pod):
        """(kind, object) of the workload a pod belongs to, following ReplicaSet -> Deployment."""
        for ref in pod["metadata"].get("ownerReferences") or []:
            if not ref.get("controller"):
                continue
            group = ref.get("apiVersion", "v1").rpartition("/")[0]
            res = self.registry.by_kind(group, ref.get("apiVersion", "v1").rpartition("/")[2], ref.get("kind"))
            owner = self.store.get(res.key, pod["metadata"]["namespace"], ref.get("name")) if res else None
            if owner is None:
                return ref.get("kind"), None
            if ref.get("kind") == "ReplicaSet":
                return self._top_owner(owner) if owner["metadata"].get("ownerReferences") else ("ReplicaSet", owner)
            return ref.get("kind"), owner
        return "Pod", pod

    def pods(self, pods):
        failing = set(self._faults().get("failing_jobs") or [])
        for pod in pods:
            meta = pod["metadata"]
            phase = (pod.get("status") or {}).get("phase", "Pending")
            if meta.get("deletionTimestamp") or phase in ("Succeeded", "Failed"):
                continue
            kind, owner = self._top_owner(pod)
            if owner is not None and self._never_ready(owner) or self._never_ready(pod):
                self._schedule(pod)  # lifting the fault (PUT /_sandbox/config) wakes the loop
                continue
            if not self._elapsed(pod):
                self._schedule(pod)
                self._due(self.first_seen[meta["uid"]] + self._delay())
                continue
            if kind == "Job" and phase == "Running":
                final = "Failed" if owner is not None and owner["metadata"]["name"] in failing else "Succeeded"
                self._set_status(("", "pods"), pod, self._pod_status(pod, final))
            elif phase != "Running":
                self._set_status(("", "pods"), pod, self._pod_status(pod, "Running"))
        live = {pod["metadata"]["uid"] for pod in pods}
        for uid in [uid for uid in self.first_seen if uid not in live]:
            del self.first_seen[uid]

    def _schedule(self, pod):
        if not (pod.get("spec") or {}).get("nodeName"):
            new = copy.deepcopy(pod)
            new["spec"]["nodeName"] = NODE_NAME
            status = dict(new.get("status") or {}, phase="Pending")
            status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now()}]
            new["status"] = status
            self.store.put(("", "pods"), new, "MODIFIED")

    def _pod_status(self, pod, phase):
        stamp = now()
        old = pod.get("status") or {}
        self.ip_counter = self.ip_counter % 250 + 1
        ip = old.get("podIP") or f"10.244.0.{self.ip_counter}"
        running = phase == "Running"
        ready = "True" if running else "False"
        containers = []
        for container in (pod.get("spec") or {}).get("containers") or []:
            if running:
                state = {"running": {"startedAt": stamp}}
            else:
                state = {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1, "reason": "Completed" if phase == "Succeeded" else "Error",
                                        "startedAt": old.get("startTime", stamp), "finishedAt": stamp}}
            containers.append({"name": container.get("name"), "image": container.get("image"), "imageID": "",
                               "containerID": f"containerd://{_hash(pod['metadata']['uid'] + container.get('name', ''))}",
                               "ready": running, "started": running, "restartCount": 0, "state": state})
        reason = {} if running else {"reason": "PodCompleted"}
        conditions = [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp},
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp, **reason},
            {"type": "Ready", "status": ready, "lastProbeTime": None, "lastTransitionTime": stamp, **reason},
            {"type": "ContainersReady", "status": ready, "lastProbeTime": None, "lastTransitionTime": stamp, **reason},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp},
        ]
        return {"phase": phase, "conditions": conditions, "hostIP": NODE_IP, "hostIPs": [{"ip": NODE_IP}], "podIP": ip,
                "podIPs": [{"ip": ip}], "startTime": old.get("startTime", stamp), "containerStatuses": containers,
                "qosClass": old.get("qosClass", "BestEffort")}

    # --- networking and storage
    def services(self):
        for svc in self._items("", "services"):
            if (svc.get("spec") or {}).get("type") != "LoadBalancer":
                continue
            if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                continue
            octet = int(hashlib.sha256(svc["metadata"]["uid"].encode()).hexdigest(), 16) % 200 + 20
            self._set_status(("", "services"), svc, {"loadBalancer": {"ingress": [{"ip": f"172.18.255.{octet}", "ipMode": "VIP"}]}})

    def claims(self):
        for pvc in self._items("", "persistentvolumeclaims"):
            if (pvc.get("status") or {}).get("phase") == "Bound":
                continue
            spec = pvc.get("spec") or {}
            new = copy.deepcopy(pvc)
            new["spec"]["volumeName"] = f"pvc-{pvc['metadata']['uid']}"
            new["spec"].setdefault("storageClassName", "standard")
            new["spec"].setdefault("volumeMode", "Filesystem")
            new.setdefault("metadata", {}).setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
            new["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                             "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")}}
            self.store.put(("", "persistentvolumeclaims"), new, "MODIFIED")


def _job_condition(kind, reason, message, stamp):
    return {"type": kind, "status": "True", "lastProbeTime": stamp, "lastTransitionTime": stamp, "reason": reason, "message": message}

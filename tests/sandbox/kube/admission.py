"""Defaulting and mutation a real API server does on writes, reduced to what clients observe:
service IPs, secret stringData, job selectors, workload defaults, namespace phase."""

import base64
import ipaddress
import random
import threading

_ip_lock = threading.Lock()
_SERVICE_NET = ipaddress.ip_network("10.96.0.0/16")


def _allocate_ip(used):
    with _ip_lock:
        for _attempt in range(1000):
            candidate = str(_SERVICE_NET[random.randint(10, _SERVICE_NET.num_addresses - 2)])
            if candidate not in used:
                return candidate
    raise RuntimeError("service IP range exhausted")


def _default_ports(ports, service=False):
    for port in ports or []:
        port.setdefault("protocol", "TCP")
        if service and port.get("targetPort") in (None, 0, "") and "port" in port:  # SetDefaults_Service
            port["targetPort"] = port["port"]


def _default_pod_spec(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        image = container.get("image", "")
        default_policy = "Always" if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1] else "IfNotPresent"
        container.setdefault("imagePullPolicy", default_policy)
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        _default_ports(container.get("ports"))


def default(resource_key, obj, old, used_ips):
    """Mutate obj in place for (group, plural) resource_key; old is the previous version or None."""
    group, plural = resource_key
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    if (group, plural) == ("", "secrets"):
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {}) or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
        obj.setdefault("type", "Opaque")
    elif (group, plural) == ("", "services") and spec is not None:
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        _default_ports(spec.get("ports"), service=True)
        if old and (old.get("spec") or {}).get("clusterIP") and "clusterIP" not in spec:
            spec["clusterIP"] = old["spec"]["clusterIP"]
            spec["clusterIPs"] = old["spec"].get("clusterIPs", [spec["clusterIP"]])
        if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
            spec["clusterIP"] = _allocate_ip(used_ips)
            spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    elif (group, plural) == ("", "namespaces"):
        obj.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if not old:
            obj["status"] = {"phase": "Active"}
    elif (group, plural) == ("", "pods") and spec is not None:
        _default_pod_spec(spec)
        if not old:
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif group == "apps" and spec is not None:
        spec.setdefault("revisionHistoryLimit", 10)
        if plural in ("deployments", "statefulsets", "replicasets"):
            spec.setdefault("replicas", 1)
        if plural == "deployments":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        if plural == "statefulsets":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        if plural == "daemonsets":
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
        _default_pod_spec(((spec.get("template") or {}).get("spec")) or {})
    elif (group, plural) == ("batch", "jobs") and spec is not None:
        _default_job(obj, spec, old)
    elif (group, plural) == ("batch", "cronjobs") and spec is not None:
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)


def _default_job(obj, spec, old):
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.setdefault("template", {})
    _default_pod_spec(template.setdefault("spec", {}))
    if old:  # the selector and its labels are immutable: keep the server-made ones
        spec["selector"] = (old.get("spec") or {}).get("selector", spec.get("selector"))
        labels = (((old.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        template.setdefault("metadata", {}).setdefault("labels", {}).update(
            {k: v for k, v in labels.items() if k in ("controller-uid", "batch.kubernetes.io/controller-uid", "job-name",
                                                      "batch.kubernetes.io/job-name")})
        return
    uid, name = obj["metadata"]["uid"], obj["metadata"]["name"]
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        template.setdefault("metadata", {}).setdefault("labels", {}).update({
            "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
            "controller-uid": uid, "job-name": name})

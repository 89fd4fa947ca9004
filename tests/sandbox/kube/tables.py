"""meta.k8s.io/v1 Table output, which `kubectl get` asks for: a few columns per common kind."""

import datetime


def wants_table(accept):
    return "as=Table" in (accept or "")


def _age(obj):
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    seconds = max(int((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "d" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _condition(obj, kind):
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return True
    return False


def _pod(obj):
    status = obj.get("status") or {}
    containers = (obj.get("spec") or {}).get("containers") or []
    ready = sum(1 for c in status.get("containerStatuses") or [] if c.get("ready"))
    return [f"{ready}/{len(containers)}", status.get("phase", "Pending"), 0]


def _deployment(obj):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", status.get("updatedReplicas", 0), status.get("availableReplicas", 0)]


def _service(obj):
    spec = obj.get("spec") or {}
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or ("<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []) or "<none>"
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP", "None"), external, ports]


def _job(obj):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    state = "Complete" if _condition(obj, "Complete") else "Failed" if _condition(obj, "Failed") else "Running"
    return [state, f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}"]


COLUMNS = {
    "pods": (["Ready", "Status", "Restarts"], _pod),
    "deployments": (["Ready", "Up-to-date", "Available"], _deployment),
    "services": (["Type", "Cluster-IP", "External-IP", "Port(s)"], _service),
    "jobs": (["Status", "Completions"], _job),
    "namespaces": (["Status"], lambda obj: [(obj.get("status") or {}).get("phase", "Active")]),
    "configmaps": (["Data"], lambda obj: [len(obj.get("data") or {}) + len(obj.get("binaryData") or {})]),
    "secrets": (["Type", "Data"], lambda obj: [obj.get("type", "Opaque"), len(obj.get("data") or {})]),
}


def _column(name, kind="string"):
    return {"name": name, "type": kind, "format": "name" if name == "Name" else "", "description": name, "priority": 0}


def table(plural, objects, resource_version, include_object):
    names, cells = COLUMNS.get(plural, ([], lambda obj: []))
    columns = [_column("Name")] + [_column(name) for name in names] + [_column("Age")]
    rows = []
    for obj in objects:
        row = {"cells": [obj["metadata"]["name"]] + cells(obj) + [_age(obj)]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": columns, "rows": rows}

"""Which resources exist: the builtin ones derived from the OpenAPI paths, plus CRD-defined ones.

Objects are stored per (group, plural) whatever version a client uses; every served version of a
group reads and writes the same objects (no conversion: the emulator's simplification)."""

import re
import threading

from tests.sandbox.kube.openapi import SchemaNode, crd_schema_node

ACTION_VERBS = {"get": "get", "list": "list", "post": "create", "put": "update", "patch": "patch",
                "delete": "delete", "deletecollection": "deletecollection"}
# Short names and categories are not in the OpenAPI document; these are kube-apiserver's.
SHORT_NAMES = {
    "pods": ["po"], "services": ["svc"], "deployments": ["deploy"], "namespaces": ["ns"], "configmaps": ["cm"],
    "serviceaccounts": ["sa"], "replicasets": ["rs"], "statefulsets": ["sts"], "daemonsets": ["ds"],
    "persistentvolumeclaims": ["pvc"], "persistentvolumes": ["pv"], "nodes": ["no"], "ingresses": ["ing"],
    "cronjobs": ["cj"], "horizontalpodautoscalers": ["hpa"], "customresourcedefinitions": ["crd", "crds"],
    "endpoints": ["ep"], "events": ["ev"], "networkpolicies": ["netpol"], "poddisruptionbudgets": ["pdb"],
    "storageclasses": ["sc"], "limitranges": ["limits"], "resourcequotas": ["quota"],
    "certificatesigningrequests": ["csr"], "replicationcontrollers": ["rc"], "priorityclasses": ["pc"],
    "componentstatuses": ["cs"],
}
CATEGORY_ALL = {"pods", "services", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs",
                "replicationcontrollers", "horizontalpodautoscalers"}
_PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))/(?P<rest>.+)$")


def version_priority(version):
    """Sort key: GA before beta before alpha, higher numbers first (kube's version ordering)."""
    match = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version)
    if not match:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    return (stage, -int(match.group(1)), -int(match.group(3) or 0), version)


class Resource:
    """One resource in one group-version."""

    def __init__(self, group, version, plural, kind, namespaced):
        self.group, self.version, self.plural, self.kind, self.namespaced = group, version, plural, kind, namespaced
        self.verbs = set()
        self.subresources = {}  # name -> (kind, group, version, verbs)
        self.short_names = list(SHORT_NAMES.get(plural, []))
        self.categories = ["all"] if plural in CATEGORY_ALL else []
        self.crd = None  # CRD name when custom
        self.crd_version = None  # that CRD version's spec entry
        self.list_kind = kind + "List"

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self):
        """`deployments.apps`, `pods`: how kube names the resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key(self):
        return (self.group, self.plural)

    @property
    def has_status(self):
        return "status" in self.subresources

    @property
    def singular(self):
        return self.kind.lower()

    @property
    def creatable_only(self):
        """Reviews and similar: POST returns an answer, nothing is stored."""
        return "get" not in self.verbs and "create" in self.verbs


class Registry:
    """Thread-safe resource index by group/version/plural and by kind."""

    def __init__(self, api):
        self.api = api
        self.lock = threading.RLock()
        self.resources = {}  # (group, version, plural) -> Resource
        self.generation = 0  # bumped on every change so discovery caches know to rebuild
        self._load_builtin()

    def _load_builtin(self):
        for path, item in self.api.doc["paths"].items():
            match = _PATH.match(path)
            if not match:
                continue
            group = match.group("group") or ""
            version = match.group("core") or match.group("version")
            if "alpha" in version:  # alpha APIs are off by default on a real cluster
                continue
            parts = match.group("rest").split("/")
            if parts[0] == "watch":
                continue
            namespaced = False
            if parts[0] == "namespaces" and len(parts) >= 3 and parts[1] == "{namespace}":
                namespaced, parts = True, parts[2:]
            plural = parts[0]
            for method, operation in item.items():
                if method == "parameters":
                    continue
                gvk = operation.get("x-kubernetes-group-version-kind")
                action = operation.get("x-kubernetes-action")
                if not gvk or action not in ACTION_VERBS:
                    continue
                verb = ACTION_VERBS[action]
                if len(parts) <= 2:
                    res = self.resources.get((group, version, plural))
                    if res is None:
                        res = Resource(group, version, plural, gvk["kind"], namespaced)
                        self.resources[(group, version, plural)] = res
                    # the all-namespaces list path (/apis/apps/v1/deployments) does not make it cluster-scoped
                    res.namespaced = res.namespaced or namespaced
                    res.verbs.add(verb)
                    if verb == "list":
                        res.verbs.add("watch")
                elif len(parts) == 3:
                    res = self.resources.setdefault((group, version, plural), Resource(group, version, plural, "", namespaced))
                    res.namespaced = res.namespaced or namespaced
                    sub = res.subresources.setdefault(parts[2], [gvk["kind"], gvk["group"], gvk["version"], set()])
                    sub[3].add(verb)
        for res in self.resources.values():
            if not res.kind:  # seen only through a subresource path so far
                res.kind = next(iter(res.subresources.values()))[0]
                res.list_kind = res.kind + "List"

    # --- lookups
    def get(self, group, version, plural):
        with self.lock:
            return self.resources.get((group, version, plural))

    def by_kind(self, group, version, kind):
        with self.lock:
            for res in self.resources.values():
                if res.group == group and res.version == version and res.kind == kind:
                    return res
        return None

    def versions_of(self, group, plural):
        with self.lock:
            return [res for res in self.resources.values() if res.group == group and res.plural == plural]

    def storage_resource(self, group, plural):
        """The preferred version of a (group, plural): the one controllers and snapshots use."""
        found = self.versions_of(group, plural)
        return min(found, key=lambda r: version_priority(r.version)) if found else None

    def all(self):
        with self.lock:
            return list(self.resources.values())

    def groups(self):
        """{group: [versions sorted by preference]}"""
        with self.lock:
            found = {}
            for res in self.resources.values():
                found.setdefault(res.group, set()).add(res.version)
        return {group: sorted(versions, key=version_priority) for group, versions in found.items()}

    def schema(self, res):
        """Root schema node for a resource's objects (None when unknown)."""
        if res.crd is not None:
            return crd_schema_node(res.crd_version)
        definition = self.api.definition_for(res.group, res.version, res.kind)
        return SchemaNode(self.api, definition) if definition else None

    # --- CustomResourceDefinitions
    def add_crd(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        group = spec.get("group", "")
        namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        with self.lock:
            self._drop_crd(crd["metadata"]["name"])
            for entry in spec.get("versions", []):
                if not entry.get("served", True):
                    continue
                res = Resource(group, entry["name"], names["plural"], names["kind"], namespaced)
                res.verbs = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
                res.short_names = list(names.get("shortNames", []))
                res.categories = list(names.get("categories", []))
                res.list_kind = names.get("listKind") or names["kind"] + "List"
                res.crd, res.crd_version = crd["metadata"]["name"], entry
                subs = entry.get("subresources") or {}
                if "status" in subs:
                    res.subresources["status"] = [names["kind"], group, entry["name"], {"get", "patch", "update"}]
                if "scale" in subs:
                    res.subresources["scale"] = ["Scale", "autoscaling", "v1", {"get", "patch", "update"}]
                self.resources[(group, entry["name"], names["plural"])] = res
            self.generation += 1

    def _drop_crd(self, crd_name):
        for key in [key for key, res in self.resources.items() if res.crd == crd_name]:
            del self.resources[key]

    def remove_crd(self, crd_name):
        with self.lock:
            self._drop_crd(crd_name)
            self.generation += 1

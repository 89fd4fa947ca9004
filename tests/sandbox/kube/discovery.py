"""Discovery documents (legacy and aggregated v2), /version and the OpenAPI endpoints."""

import hashlib
import json
import re
import threading

AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def _dumps(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


def wants_aggregated(accept):
    """True when the Accept header offers the v2 aggregated discovery form."""
    for media in (accept or "").split(","):
        params = dict(part.strip().split("=", 1) for part in media.split(";")[1:] if "=" in part)
        if params.get("g") == "apidiscovery.k8s.io" and params.get("v") == "v2" and params.get("as") == "APIGroupDiscoveryList":
            return True
    return False


def version_info(version):
    """The /version body for a configured gitVersion such as `v1.30.6`."""
    git_version = str(version or "v1.30.6")
    if not git_version.startswith("v"):
        git_version = "v" + git_version
    match = re.match(r"^v(\d+)\.(\d+)", git_version)
    major, minor = (match.group(1), match.group(2)) if match else ("1", "30")
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "minCompatibilityMajor": major, "minCompatibilityMinor": str(max(int(minor) - 1, 0)),
            "gitVersion": git_version, "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2024-01-01T00:00:00Z", "goVersion": "go1.22.0", "compiler": "gc", "platform": "linux/amd64"}


class Discovery:
    """Builds discovery bodies from the registry; cached until the registry changes (CRDs)."""

    def __init__(self, registry, server_address):
        self.registry = registry
        self.server_address = server_address
        self._lock = threading.Lock()
        self._generation = None
        self._cache = {}

    def _cached(self, key, build):
        with self._lock:
            if self._generation != self.registry.generation:
                self._cache, self._generation = {}, self.registry.generation
            if key not in self._cache:
                self._cache[key] = _dumps(build())
            return self._cache[key]

    @staticmethod
    def _resource_list_entries(res):
        entry = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced, "kind": res.kind,
                 "verbs": sorted(res.verbs),
                 "storageVersionHash": hashlib.sha256(f"{res.group}/{res.plural}".encode()).hexdigest()[:12]}
        if res.short_names:
            entry["shortNames"] = res.short_names
        if res.categories:
            entry["categories"] = res.categories
        entries = [entry]
        for name, (kind, group, version, verbs) in sorted(res.subresources.items()):
            sub = {"name": f"{res.plural}/{name}", "singularName": "", "namespaced": res.namespaced, "kind": kind,
                   "verbs": sorted(verbs)}
            if (group, version) != (res.group, res.version):
                sub["group"], sub["version"] = group, version
            entries.append(sub)
        return entries

    def resource_list(self, group, version):
        """`/api/v1`, `/apis/<group>/<version>` (APIResourceList), or None."""
        def build():
            found = [res for res in self.registry.all() if res.group == group and res.version == version]
            if not found:
                return None
            entries = []
            for res in sorted(found, key=lambda r: r.plural):
                entries.extend(self._resource_list_entries(res))
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
                    "resources": entries}
        body = self._cached(("list", group, version), build)
        return None if body == b"null" else body

    def api_versions(self):
        return self._cached("api", lambda: {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}]})

    def _group(self, name, versions):
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": entries, "preferredVersion": entries[0]}

    def api_group_list(self):
        def build():
            groups = self.registry.groups()
            return {"kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [self._group(name, versions) for name, versions in sorted(groups.items()) if name]}
        return self._cached("apis", build)

    def api_group(self, name):
        groups = self.registry.groups()
        if not name or name not in groups:
            return None
        return self._cached(("group", name), lambda: dict({"kind": "APIGroup", "apiVersion": "v1"}, **self._group(name, groups[name])))

    # --- aggregated discovery (apidiscovery.k8s.io/v2)
    @staticmethod
    def _aggregated_resource(res):
        entry = {"resource": res.plural, "responseKind": {"group": res.group, "version": res.version, "kind": res.kind},
                 "scope": "Namespaced" if res.namespaced else "Cluster", "singularResource": res.singular,
                 "verbs": sorted(res.verbs)}
        if res.short_names:
            entry["shortNames"] = res.short_names
        if res.categories:
            entry["categories"] = res.categories
        subs = [{"subresource": name, "responseKind": {"group": group, "version": version, "kind": kind}, "verbs": sorted(verbs)}
                for name, (kind, group, version, verbs) in sorted(res.subresources.items())]
        if subs:
            entry["subresources"] = subs
        return entry

    def aggregated(self, core):
        def build():
            by_group = {}
            for res in self.registry.all():
                if (res.group == "") == core:
                    by_group.setdefault(res.group, {}).setdefault(res.version, []).append(res)
            order = self.registry.groups()
            items = []
            for group in sorted(by_group):
                versions = [{"version": version, "freshness": "Current",
                             "resources": [self._aggregated_resource(r) for r in sorted(by_group[group][version], key=lambda r: r.plural)]}
                            for version in order[group] if version in by_group[group]]
                items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": versions})
            return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
        return self._cached(("aggregated", core), build)

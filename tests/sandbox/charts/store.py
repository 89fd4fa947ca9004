"""What the emulator serves: the HTTP repository's index and archives, and the registry's OCI repositories.

Both are seeded at start from chart directories (packaged with Helm's SDK, one archive per listed
version). The registry also takes pushes; its repositories and blobs are the state snapshot, so a
pushed chart survives a restart. Callers hold `lock` while they read or change the registry.
"""

import base64
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

import helm_python

# Helm's OCI artifact (helm.sh/docs/topics/registries): a Chart.yaml-as-JSON config and the archive as the one layer.
HELM_CONFIG_TYPE = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
SAVE_DELAY = 1.0


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def helm_tag(version):
    """OCI tags cannot hold '+', so Helm tags a chart version with '_' in its place."""
    return version.replace("+", "_")


def package_charts(charts):
    """[(file name, archive bytes, Chart.yaml metadata)] of each {"path", "versions"} entry, and the index.yaml Helm makes of them."""
    packaged = []
    with tempfile.TemporaryDirectory(prefix="sandbox-charts-") as workdir:
        for chart in charts:
            for version in chart.get("versions") or [None]:
                archive = Path(helm_python.package(chart["path"], destination=workdir, version=version))
                with helm_python.Chart.load(archive) as loaded:
                    metadata = loaded.metadata
                packaged.append((archive.name, archive.read_bytes(), metadata))
        helm_python.repo_index_generate(workdir)
        index = Path(workdir, "index.yaml").read_bytes()
    return packaged, index


class Store:
    def __init__(self, state_path, charts, namespace="charts"):
        self.state_path = Path(state_path) if state_path else None
        self.lock = threading.RLock()
        self.namespace = namespace
        self.blobs = {}  # digest -> bytes
        self.repositories = {}  # "<namespace>/<chart>" -> {"tags": {tag: digest}, "manifests": {digest: manifest bytes}}
        self.uploads = {}  # upload id -> bytearray
        self._timer = None
        if self.state_path and self.state_path.exists():
            self._load(json.loads(self.state_path.read_text(encoding="utf-8")))
        packaged, self.index = package_charts(charts)
        self.archives = {name: data for name, data, _metadata in packaged}
        for _name, data, metadata in packaged:
            self._seed_oci(data, metadata)

    # --- the registry
    def _seed_oci(self, archive, metadata):
        repository = f"{self.namespace}/{metadata['name']}"
        tag = helm_tag(metadata["version"])
        if tag in self.repositories.get(repository, {}).get("tags", {}):
            return  # pushed or seeded before: the snapshot wins
        config = json.dumps(metadata, separators=(",", ":")).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST_TYPE,
            "config": {"mediaType": HELM_CONFIG_TYPE, "digest": self.put_blob(config), "size": len(config)},
            "layers": [{"mediaType": HELM_CHART_TYPE, "digest": self.put_blob(archive), "size": len(archive)}],
            "annotations": {"org.opencontainers.image.title": metadata["name"],
                            "org.opencontainers.image.version": metadata["version"],
                            "org.opencontainers.image.description": metadata.get("description", "")},
        }
        self.put_manifest(repository, tag, json.dumps(manifest, indent=2).encode())

    def put_blob(self, data):
        digest = digest_of(data)
        with self.lock:
            self.blobs[digest] = bytes(data)
            self._changed()
        return digest

    def put_manifest(self, repository, reference, data):
        """Store a manifest under its digest, and tag it unless reference is that digest; returns the digest."""
        digest = digest_of(data)
        with self.lock:
            entry = self.repositories.setdefault(repository, {"tags": {}, "manifests": {}})
            entry["manifests"][digest] = bytes(data)
            if reference != digest:
                entry["tags"][reference] = digest
            self._changed()
        return digest

    def manifest(self, repository, reference):
        """(digest, bytes) of a manifest by tag or digest, or None."""
        with self.lock:
            entry = self.repositories.get(repository)
            if entry is None:
                return None
            digest = entry["tags"].get(reference, reference)
            data = entry["manifests"].get(digest)
            return (digest, data) if data is not None else None

    # --- the snapshot: the registry only (the HTTP repository is seeded at every start)
    def _load(self, snapshot):
        self.blobs = {digest: base64.b64decode(data) for digest, data in snapshot.get("blobs", {}).items()}
        self.repositories = {
            name: {"tags": dict(entry["tags"]),
                   "manifests": {digest: base64.b64decode(data) for digest, data in entry["manifests"].items()}}
            for name, entry in snapshot.get("repositories", {}).items()}

    def _changed(self):
        """Save shortly after a change; a burst of changes (a push: blobs, then the manifest) is one write."""
        if self.state_path and self._timer is None:
            self._timer = threading.Timer(SAVE_DELAY, self.save)
            self._timer.daemon = True
            self._timer.start()

    def save(self):
        if not self.state_path:
            return
        with self.lock:
            self._timer = None
            snapshot = {
                "blobs": {digest: base64.b64encode(data).decode() for digest, data in self.blobs.items()},
                "repositories": {name: {"tags": entry["tags"],
                                        "manifests": {digest: base64.b64encode(data).decode() for digest, data in entry["manifests"].items()}}
                                 for name, entry in self.repositories.items()},
            }
            temp = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
            temp.write_text(json.dumps(snapshot), encoding="utf-8")
            os.replace(temp, self.state_path)

    def close(self):
        with self.lock:
            if self._timer is not None:
                self._timer.cancel()
        self.save()

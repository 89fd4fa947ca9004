"""State of the GCP emulator: one JSON document, guarded by one lock, saved atomically and debounced.

Layout of `data` (what the --state snapshot holds):

    projects          projectId -> {projectId, projectNumber, name, createTime, services: {name: ENABLED|DISABLED},
                                    iamPolicy}
    serviceAccounts   email -> ServiceAccount resource (+ "iamPolicy")
    keys              keyId -> public part of a key: {email, certificatePem, validAfterTime, validBeforeTime, disabled}
    bootstrap         the sandbox admin's key (private part included, so --admin-key-out can be rewritten)
    tokens            access token -> {email, expiry (epoch seconds)}
    biglake           catalogs / databases / tables: resource name -> resource
    operations        name -> finished Operation (Service Usage)
"""

import datetime
import json
import os
import secrets
import threading
import time
from pathlib import Path

from tests.sandbox import common

# Services this emulator knows by name (Service Usage lists these) and their console titles.
SERVICE_TITLES = {
    "biglake.googleapis.com": "BigLake API",
    "bigquery.googleapis.com": "BigQuery API",
    "bigquerystorage.googleapis.com": "BigQuery Storage API",
    "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
    "container.googleapis.com": "Kubernetes Engine API",
    "iam.googleapis.com": "Identity and Access Management (IAM) API",
    "iamcredentials.googleapis.com": "IAM Service Account Credentials API",
    "serviceusage.googleapis.com": "Service Usage API",
    "storage.googleapis.com": "Cloud Storage API",
    "storage-api.googleapis.com": "Google Cloud Storage JSON API",
    "sts.googleapis.com": "Security Token Service API",
}
DEFAULT_DISABLED = ("biglake.googleapis.com", "bigquery.googleapis.com", "bigquerystorage.googleapis.com")

DEFAULT_CONFIG = {
    # The project the bootstrap admin account lives in.
    "default_project": "sandbox-project",
    # Known projects. Seeded into the state when the state lacks them; afterwards the state (Service
    # Usage enable/disable) wins. A project's services not listed in enabled_services are DISABLED.
    "projects": {
        "sandbox-project": {
            "number": "123456789012",
            "enabled_services": sorted(set(SERVICE_TITLES) - set(DEFAULT_DISABLED)),
        },
    },
    "admin_account_id": "sandbox-admin",
    "token_lifetime_seconds": 3600,
    # Base URL written into token_uri of generated keys; default http://{host}:{port}.
    "public_url": None,
    "faults": {"error_rate": 0.0, "error_codes": [429, 500, 503], "latency_ms": 0},
}


def rfc3339(moment=None):
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def numeric_id(digits=21):
    """Google's unique ids are decimal strings (21 digits for service accounts)."""
    return str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


class Store:
    """The emulator's data plus persistence. Callers hold `lock` while they read or change `data`."""

    SAVE_DELAY = 1.0

    def __init__(self, path, config=None):
        self.path = Path(path)
        self.lock = threading.RLock()
        self.config = common.merge(DEFAULT_CONFIG, config)
        self.data = {"version": 1, "projects": {}, "serviceAccounts": {}, "keys": {}, "bootstrap": None,
                     "tokens": {}, "biglake": {"catalogs": {}, "databases": {}, "tables": {}}, "operations": {}}
        self.loaded = False
        if self.path.exists():
            self.data.update(json.loads(self.path.read_text(encoding="utf-8")))
            self.loaded = True
        self.seed_projects()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._saver = threading.Thread(target=self._save_loop, name="state-saver", daemon=True)

    # --- config
    def seed_projects(self):
        with self.lock:
            for project_id, settings in (self.config.get("projects") or {}).items():
                if project_id in self.data["projects"]:
                    continue
                number = str(settings.get("number") or numeric_id(12))
                enabled = set(settings.get("enabled_services") or [])
                services = {name: "ENABLED" if name in enabled else "DISABLED" for name in sorted(set(SERVICE_TITLES) | enabled)}
                self.data["projects"][project_id] = {
                    "projectId": project_id, "projectNumber": number, "name": settings.get("name", project_id),
                    "createTime": rfc3339(), "services": services, "iamPolicy": {"version": 1, "etag": "ACAB", "bindings": []},
                }

    def project(self, id_or_number):
        """A project record by id or number, or None."""
        projects = self.data["projects"]
        if id_or_number in projects:
            return projects[id_or_number]
        for record in projects.values():
            if record["projectNumber"] == id_or_number:
                return record
        return None

    # --- persistence
    def mark_dirty(self):
        self._dirty.set()

    def start(self):
        self._saver.start()

    def save(self):
        with self.lock:
            self.prune_tokens()
            text = json.dumps(self.data, indent=1, sort_keys=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds keys and tokens
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, self.path)

    def prune_tokens(self):
        now = time.time()
        tokens = self.data["tokens"]
        for token in [token for token, entry in tokens.items() if entry["expiry"] < now]:
            del tokens[token]

    def _save_loop(self):
        while not self._stop.is_set():
            if self._dirty.wait(0.2):
                time.sleep(self.SAVE_DELAY)  # coalesce bursts: at most ~1 write per second
                self._dirty.clear()
                self.save()

    def close(self):
        self._stop.set()
        if self._saver.is_alive():
            self._saver.join(timeout=5)
        self.save()

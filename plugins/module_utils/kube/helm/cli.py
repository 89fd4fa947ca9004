# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Helm engine as a ``helm`` binary (3.8 or newer).

Commands are argument lists built by one builder for plan and apply alike (``--dry-run=server`` is the
only difference), never shell strings. The bearer token goes through HELM_KUBETOKEN rather than the
command line, where other users of the machine could read it; values go through a 0600 file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile

try:
    import yaml
    HAS_YAML = True
except ImportError:  # PyYAML comes with ansible-core on the controller, but is optional for module code
    HAS_YAML = False

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    HelmEngine,
    HelmEngineError,
    ReleaseNotFound,
    looks_transient,
    release_from_helm_json,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.versions import parse_version

MIN_VERSION = (3, 8, 0)
_NOT_FOUND = re.compile(r"release: not found|not found", re.IGNORECASE)


def helm_version(binary, run_command):
    """The binary's version tuple; raises HelmEngineError when it cannot tell."""
    rc, out, err = run_command([binary, "version", "--template", "{{.Version}}"])
    if rc != 0:
        raise HelmEngineError("%s version failed: %s" % (binary, (err or out).strip()))
    return parse_version(out.strip())


class CliEngine(HelmEngine):
    name = "cli"

    def __init__(self, binary, connection, run_command):
        """run_command(argv, environ_update=None) -> (rc, stdout, stderr), as AnsibleModule.run_command."""
        self.binary = binary
        self.connection = connection
        self._run_command = run_command

    # --- command lines
    def global_args(self):
        args = []
        conn = self.connection
        if conn.kubeconfig:
            args += ["--kubeconfig", conn.kubeconfig]
        if conn.context:
            args += ["--kube-context", conn.context]
        if conn.host:
            args += ["--kube-apiserver", conn.host]
        if conn.ca_cert:
            args += ["--kube-ca-file", conn.ca_cert]
        if not conn.validate_certs:
            args += ["--kube-insecure-skip-tls-verify"]
        return args

    def environment(self):
        return {"HELM_KUBETOKEN": self.connection.api_key} if self.connection.api_key else {}

    def upgrade_args(self, spec, values_file, dry_run=False):
        args = [self.binary, "upgrade", spec.name, spec.chart_ref, "--install", "--namespace", spec.namespace,
                "--output", "json", "--values", values_file]
        if spec.chart_version:
            args += ["--version", spec.chart_version]
        if spec.chart_repo_url:
            args += ["--repo", spec.chart_repo_url]
        if spec.create_namespace:
            args += ["--create-namespace"]
        if spec.wait and not dry_run:
            args += ["--wait", "--wait-for-jobs", "--timeout", "%ds" % spec.timeout]
        if dry_run:
            args += ["--dry-run=server"]
        return args + self.global_args()

    def rollback_args(self, name, namespace, revision, wait, timeout):
        args = [self.binary, "rollback", name, str(revision), "--namespace", namespace]
        if wait:
            args += ["--wait", "--timeout", "%ds" % timeout]
        return args + self.global_args()

    def uninstall_args(self, name, namespace, wait, timeout):
        args = [self.binary, "uninstall", name, "--namespace", namespace]
        if wait:
            args += ["--wait", "--timeout", "%ds" % timeout]
        return args + self.global_args()

    def status_args(self, name, namespace):
        return [self.binary, "status", name, "--namespace", namespace, "--output", "json"] + self.global_args()

    def history_args(self, name, namespace):
        return [self.binary, "history", name, "--namespace", namespace, "--output", "json"] + self.global_args()

    def show_chart_args(self, spec):
        args = [self.binary, "show", "chart", spec.chart_ref]
        if spec.chart_version:
            args += ["--version", spec.chart_version]
        if spec.chart_repo_url:
            args += ["--repo", spec.chart_repo_url]
        return args

    # --- running them
    def _run(self, argv, what):
        rc, out, err = self._run_command(argv, environ_update=self.environment())
        if rc != 0:
            message = (err or out).strip()
            if _NOT_FOUND.search(message) and what in ("status", "history", "rollback"):
                raise ReleaseNotFound(message)
            raise HelmEngineError("helm %s failed: %s" % (what, message), transient=looks_transient(message))
        return out

    def chart_metadata(self, spec):
        return yaml.safe_load(self._run(self.show_chart_args(spec), "show chart")) or {}

    def upgrade_install(self, spec, dry_run=False):
        fd, values_file = tempfile.mkstemp(prefix="helm-values-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp creates it 0600
                yaml.safe_dump(spec.values or {}, handle, default_flow_style=False)
            out = self._run(self.upgrade_args(spec, values_file, dry_run), "upgrade")
        finally:
            os.unlink(values_file)
        return parse_release_json(out)

    def rollback(self, name, namespace, revision, wait, timeout):
        self._run(self.rollback_args(name, namespace, revision, wait, timeout), "rollback")

    def uninstall(self, name, namespace, wait, timeout):
        self._run(self.uninstall_args(name, namespace, wait, timeout), "uninstall")

    def status(self, name, namespace):
        try:
            return parse_release_json(self._run(self.status_args(name, namespace), "status"))
        except ReleaseNotFound:
            return None

    def history(self, name, namespace):
        try:
            return parse_history_json(self._run(self.history_args(name, namespace), "history"))
        except ReleaseNotFound:
            return []


def parse_release_json(text):
    """The release record from ``helm status|upgrade -o json`` (warnings may precede the JSON)."""
    start = text.find("{")
    if start < 0:
        raise HelmEngineError("helm printed no JSON release: %s" % text.strip()[:500])
    return release_from_helm_json(json.loads(text[start:]))


def parse_history_json(text):
    """``helm history -o json`` -> [{revision, status, chart, app_version, description}], oldest first."""
    start = text.find("[")
    entries = json.loads(text[start:]) if start >= 0 else []
    return sorted(({
        "revision": int(entry.get("revision", 0)),
        "status": str(entry.get("status", "")).lower(),
        "chart": entry.get("chart", ""),
        "app_version": entry.get("app_version", ""),
        "description": entry.get("description", ""),
    } for entry in entries), key=lambda entry: entry["revision"])

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

from ansible.module_utils.common.yaml import yaml_dump, yaml_load

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    HelmEngine,
    HelmEngineError,
    ReleaseNotFound,
    engine_error,
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
            if _NOT_FOUND.search(message) and what == "rollback":
                raise ReleaseNotFound(message)
            raise engine_error("helm %s failed: %s" % (what, message))
        return out

    def chart_metadata(self, spec):
        return yaml_load(self._run(self.show_chart_args(spec), "show chart")) or {}

    def upgrade_install(self, spec, dry_run=False):
        fd, values_file = tempfile.mkstemp(prefix="helm-values-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp creates it 0600
                yaml_dump(spec.values or {}, handle, default_flow_style=False)
            out = self._run(self.upgrade_args(spec, values_file, dry_run), "upgrade")
        finally:
            os.unlink(values_file)
        return parse_release_json(out)

    def rollback(self, name, namespace, revision, wait, timeout):
        self._run(self.rollback_args(name, namespace, revision, wait, timeout), "rollback")

    def uninstall(self, name, namespace, wait, timeout):
        self._run(self.uninstall_args(name, namespace, wait, timeout), "uninstall")


def parse_release_json(text):
    """The release record from ``helm upgrade -o json`` (warnings may precede the JSON)."""
    start = text.find("{")
    if start < 0:
        raise HelmEngineError("helm printed no JSON release: %s" % text.strip()[:500])
    return release_from_helm_json(json.loads(text[start:]))

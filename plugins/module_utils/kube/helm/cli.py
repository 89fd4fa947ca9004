# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Helm engine as a ``helm`` binary (3.8 or newer).

Commands are argument lists built by one builder for plan and apply alike (``--dry-run=server`` is the
only difference), never shell strings. The bearer token goes through HELM_KUBETOKEN rather than the
command line, where other users of the machine could read it; values go through a 0600 file. A chart
repository's or registry's password goes to ``helm repo add`` / ``helm registry login`` on stdin
(``--password-stdin``), which keep it in a repository or registry config of their own in a 0700
directory that is removed once the chart is pulled; the user's own Helm configuration is not touched.
"""

from __future__ import annotations

import json
import os
import re
import tempfile

from ansible.module_utils.common.yaml import yaml_dump

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    HelmEngine,
    HelmEngineError,
    ReleaseNotFound,
    engine_error,
    release_from_helm_json,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.source import (
    ChartCache,
    is_oci,
    oci_registry,
    private_directory,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.versions import parse_version

MIN_VERSION = (3, 8, 0)
# The name chart_repo_url gets in the private repository config a pull uses.
REPO_NAME = "source"
_NOT_FOUND = re.compile(r"release: not found|not found", re.IGNORECASE)


def helm_version(binary, run_command):
    """The binary's version tuple; raises HelmEngineError when it cannot tell."""
    rc, out, err = run_command([binary, "version", "--template", "{{.Version}}"])
    if rc != 0:
        raise HelmEngineError("%s version failed: %s" % (binary, (err or out).strip()))
    return parse_version(out.strip())


class CliEngine(HelmEngine):
    name = "cli"

    def __init__(self, binary, connection, run_command, charts=None):
        """run_command(argv, environ_update=None, data=None) -> (rc, stdout, stderr), as AnsibleModule.run_command
        (data: what the command reads on stdin); charts: the source.ChartCache, a default one when None."""
        super().__init__(charts or ChartCache())
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

    def upgrade_args(self, spec, chart, values_file, dry_run=False):
        """chart: the local chart (chart_path), so that neither plan nor apply reaches the chart's source."""
        args = [self.binary, "upgrade", spec.name, chart, "--install", "--namespace", spec.namespace,
                "--output", "json", "--values", values_file]
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

    @staticmethod
    def tls_args(auth, insecure_flag="--insecure-skip-tls-verify"):
        args = ["--ca-file", auth.ca_file] if auth.ca_file else []
        return args + ([insecure_flag] if auth.insecure_skip_tls_verify else [])

    @staticmethod
    def repository_args(config_dir):
        return ["--repository-config", os.path.join(config_dir, "repositories.yaml"),
                "--repository-cache", os.path.join(config_dir, "cache")]

    @staticmethod
    def registry_args(config_dir):
        return ["--registry-config", os.path.join(config_dir, "registry.json")]

    def repo_add_args(self, spec, config_dir):
        """chart_repo_url into the private repository config; with credentials, the password follows on stdin."""
        args = [self.binary, "repo", "add", REPO_NAME, spec.chart_repo_url] + self.repository_args(config_dir)
        if spec.repo_auth.username:
            args += ["--username", spec.repo_auth.username, "--password-stdin"]
        return args + self.tls_args(spec.repo_auth)

    def registry_login_args(self, spec, config_dir):
        """A login to the oci:// chart's registry, into the private registry config; the password follows on stdin."""
        return ([self.binary, "registry", "login", oci_registry(spec.chart_ref), "--username", spec.repo_auth.username,
                 "--password-stdin"] + self.registry_args(config_dir) + self.tls_args(spec.repo_auth, "--insecure"))

    def pull_args(self, spec, destination, config_dir):
        chart = "%s/%s" % (REPO_NAME, spec.chart_ref) if spec.chart_repo_url else spec.chart_ref
        args = [self.binary, "pull", chart, "--destination", destination]
        if spec.chart_version:
            args += ["--version", spec.chart_version]
        if spec.chart_repo_url:
            args += self.repository_args(config_dir)
        elif is_oci(spec.chart_ref) and spec.repo_auth.username:
            args += self.registry_args(config_dir)
        return args + self.tls_args(spec.repo_auth)

    # --- running them
    def _run(self, argv, what, data=None):
        rc, out, err = self._run_command(argv, environ_update=self.environment(), data=data)
        if rc != 0:
            message = (err or out).strip()
            if _NOT_FOUND.search(message) and what == "rollback":
                raise ReleaseNotFound(message)
            raise engine_error("helm %s failed: %s" % (what, message))
        return out

    def pull(self, spec, destination):
        """helm pull into destination: from chart_repo_url through a private repository config, from an oci://
        registry with credentials through a private login, from anywhere else as Helm's own settings say."""
        password = spec.repo_auth.password
        with private_directory("helm-source-") as config_dir:
            if spec.chart_repo_url:
                self._run(self.repo_add_args(spec, config_dir), "repo add", data=password)
            elif is_oci(spec.chart_ref) and spec.repo_auth.username:
                self._run(self.registry_login_args(spec, config_dir), "registry login", data=password)
            self._run(self.pull_args(spec, destination, config_dir), "pull")

    def upgrade_install(self, spec, dry_run=False):
        chart = self.chart_path(spec)
        fd, values_file = tempfile.mkstemp(prefix="helm-values-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp creates it 0600
                yaml_dump(spec.values or {}, handle, default_flow_style=False)
            out = self._run(self.upgrade_args(spec, chart, values_file, dry_run), "upgrade")
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

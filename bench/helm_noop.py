"""Benchmark: API requests and wall time of a no-op, helm_release_checked against kubernetes.core.k8s.

Installs the test chart once with helm_release_checked, then measures, through the sandbox's request
log, a second (no-op) run of the same task, and kubernetes.core.k8s applying the same rendered manifests
(already applied, so also a no-op). Prints figures; asserts nothing about time.

    .venv/bin/python bench/helm_noop.py            # starts a throw-away sandbox
    SANDBOX_DIR=.sandbox .venv/bin/python bench/helm_noop.py

Target (issue 4): a no-op needs at most 2 reads beyond discovery.
"""

import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import helm_python

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "tests" / "charts" / "checked"
RELEASE, NAMESPACE = "bench", "bench"
DISCOVERY_PREFIXES = ("/api", "/apis", "/openapi", "/version")


class Sandbox:
    def __init__(self, directory):
        self.dir = Path(directory)
        self.endpoints = json.loads((self.dir / "endpoints.json").read_text())
        self.token = json.loads((self.dir / "credentials.json").read_text())["kube"]["token"]
        self.tls = ssl.create_default_context(cafile=self.endpoints["kube"]["ca"])

    def admin(self, path, method="GET"):
        request = urllib.request.Request(f"{self.endpoints['kube']['admin']}/{path}", method=method,
                                         headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, context=self.tls, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else {}


def playbook(directory, task):
    text = (f"- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - {task}\n")
    path = Path(directory) / "play.yml"
    path.write_text(text)
    return path


def run(sandbox, play):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               K8S_AUTH_KUBECONFIG=str(sandbox.dir / "kubeconfig"))
    sandbox.admin("requests/reset", method="POST")
    started = time.monotonic()
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(play)],
                               cwd=REPO, env=env, text=True, capture_output=True, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit(completed.stdout + completed.stderr)
    log = sandbox.admin("requests")
    entries = log.get("entries", [])
    discovery = sum(1 for entry in entries if entry.get("path", "").split("?")[0].startswith(DISCOVERY_PREFIXES)
                    and "/namespaces/" not in entry.get("path", ""))
    return {"seconds": round(elapsed, 2), "requests": log["total"], "writes": log["writes"],
            "discovery": discovery, "beyond_discovery": log["total"] - discovery, "by_verb": log["by_verb"]}


def main():
    directory = os.environ.get("SANDBOX_DIR")
    own = None
    if not directory:
        own = tempfile.mkdtemp(prefix="bench-sandbox-")
        subprocess.run([sys.executable, "-m", "tests.sandbox", "up", "--dir", own, "--port-base", "33000"], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        directory = own
    sandbox = Sandbox(directory)
    try:
        with tempfile.TemporaryDirectory() as work:
            helm_task = ("mlplatform.selfhosted.helm_release_checked: {name: %s, release_namespace: %s, create_namespace: true, "
                         "chart_ref: '%s', engine: sdk, preflight: {kube_version: '>=1.24'}}" % (RELEASE, NAMESPACE, CHART))
            first = run(sandbox, playbook(work, helm_task))
            noop = run(sandbox, playbook(work, helm_task))
            chart = helm_python.Chart.load(str(CHART))
            rendered = chart.render(name=RELEASE, namespace=NAMESPACE)
            manifests = "\n---\n".join(text for path, text in sorted(rendered.items()) if path.endswith((".yaml", ".yml")) and text.strip())
            manifest_file = Path(work) / "rendered.yaml"
            manifest_file.write_text(manifests)
            k8s_task = "kubernetes.core.k8s: {namespace: %s, src: '%s', state: present}" % (NAMESPACE, manifest_file)
            k8s_first = run(sandbox, playbook(work, k8s_task))
            k8s_noop = run(sandbox, playbook(work, k8s_task))
    finally:
        if own:
            subprocess.run([sys.executable, "-m", "tests.sandbox", "down", "--dir", own], cwd=REPO, check=False,
                           stdout=subprocess.DEVNULL)
    print("helm_release_checked, first run (install):   %s" % json.dumps(first))
    print("helm_release_checked, no-op run:             %s" % json.dumps(noop))
    print("kubernetes.core.k8s, first apply:            %s" % json.dumps(k8s_first))
    print("kubernetes.core.k8s, no-op apply:            %s" % json.dumps(k8s_noop))
    print("target: a no-op needs at most 2 reads beyond discovery -> helm_release_checked made %d (%s)"
          % (noop["beyond_discovery"], "met" if noop["beyond_discovery"] <= 2 else "NOT met"))


if __name__ == "__main__":
    main()

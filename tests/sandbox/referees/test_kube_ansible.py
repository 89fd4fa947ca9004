"""Referee: kubernetes.core.k8s (apply + wait) through ansible-playbook, idempotent on the second run."""

import json
import re
import subprocess
import sys
from pathlib import Path

from kubernetes import client, config

PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: {python}
  tasks:
    - name: Namespace and application, applied and waited for
      kubernetes.core.k8s:
        state: present
        apply: true
        wait: true
        wait_timeout: 60
        wait_sleep: 1
        definition:
          - apiVersion: v1
            kind: Namespace
            metadata:
              name: ansible-demo
          - apiVersion: v1
            kind: ConfigMap
            metadata:
              name: app-settings
              namespace: ansible-demo
            data:
              greeting: hello
          - apiVersion: v1
            kind: Secret
            metadata:
              name: app-secret
              namespace: ansible-demo
            stringData:
              password: s3cret
          - apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: app
              namespace: ansible-demo
              labels:
                app: app
            spec:
              replicas: 2
              selector:
                matchLabels:
                  app: app
              template:
                metadata:
                  labels:
                    app: app
                spec:
                  containers:
                    - name: app
                      image: nginx:1.25
                      ports:
                        - containerPort: 8080
          - apiVersion: v1
            kind: Service
            metadata:
              name: app
              namespace: ansible-demo
            spec:
              selector:
                app: app
              ports:
                - port: 80
                  targetPort: 8080
"""
KUBE_CONFIG = {"ready_delay_seconds": 0.5}


def _play(kube, tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(python=sys.executable), encoding="utf-8")
    env = kube.env()
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
    result = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", str(playbook)],
                            env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout)
    assert recap, result.stdout
    return int(recap.group(2))


def test_apply_wait_and_idempotence(kube, tmp_path):
    assert _play(kube, tmp_path) == 1
    api_client = config.new_client_from_config(config_file=kube.kubeconfig)
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    deployment = apps.read_namespaced_deployment("app", "ansible-demo")
    assert deployment.status.ready_replicas == 2  # wait: true returned only once the rollout was done
    assert "kubectl.kubernetes.io/last-applied-configuration" in deployment.metadata.annotations
    assert core.read_namespaced_service("app", "ansible-demo").spec.cluster_ip
    assert core.read_namespaced_config_map("app-settings", "ansible-demo").data == {"greeting": "hello"}
    assert core.read_namespaced_secret("app-secret", "ansible-demo").data == {"password": "czNjcmV0"}
    kube.reset_requests()
    assert _play(kube, tmp_path) == 0
    log = kube.requests()
    assert log["by_verb"].get("create", 0) == 0, json.dumps(log["by_verb"])

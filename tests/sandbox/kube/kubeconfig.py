"""Write a kubeconfig for the emulator: CA data inline, bearer token, context `sandbox`."""

import base64
import os
from pathlib import Path

import yaml

CONTEXT = "sandbox"


def build(server_url, ca_file, token, namespace="default"):
    """Return the kubeconfig as a dict."""
    ca_data = base64.b64encode(Path(ca_file).read_bytes()).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CONTEXT, "cluster": {"server": server_url, "certificate-authority-data": ca_data}}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}],
        "current-context": CONTEXT,
    }


def write(path, server_url, ca_file, token, namespace="default"):
    """Write the kubeconfig to path (mode 0600: it holds the token) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(build(server_url, ca_file, token, namespace), handle, default_flow_style=False)
    return path

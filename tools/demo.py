"""`make demo`: run playbooks/site.yml on the sandbox twice; the second run must change nothing."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
                   r"failed=(?P<failed>\d+)", re.MULTILINE)


def run_site(label):
    print(f"== {label}: ansible-playbook playbooks/site.yml -i inventories/sandbox", flush=True)
    command = ["ansible-playbook", "playbooks/site.yml", "-i", "inventories/sandbox"]
    result = subprocess.run(command, cwd=REPO, text=True, capture_output=True, check=False)
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    if result.returncode != 0:
        raise SystemExit(f"{label} failed (exit {result.returncode})")
    recaps = [match.groupdict() for match in RECAP.finditer(result.stdout)]
    if not recaps:
        raise SystemExit(f"{label}: no PLAY RECAP in the output")
    return sum(int(recap["changed"]) for recap in recaps)


def main():
    sandbox = Path(os.environ.get("SANDBOX_DIR", REPO / ".sandbox"))
    run_site("first run")
    changed = run_site("second run")
    if changed:
        raise SystemExit(f"second run reported changed={changed}; it must be 0")
    endpoints = json.loads((sandbox / "endpoints.json").read_text(encoding="utf-8"))
    print("\nSecond run: changed=0.\n")
    print("Where things are (the sandbox keeps running; `make sandbox-down` stops it):")
    print(f"  Kubernetes API   {endpoints['kube']['url']}   export KUBECONFIG={endpoints['kube']['kubeconfig']}")
    print(f"  AWS (moto)       {endpoints['aws']['endpoint_url']}   EKS cluster {endpoints['aws']['eks_cluster']}")
    print(f"  Keycloak         {endpoints['keycloak']['url']}")
    print(f"  GCP APIs         {endpoints['gcp']['biglake']}   Cloud Storage {endpoints['gcp']['storage']}")
    print(f"  Credentials      {sandbox / 'credentials.json'}  (shell: source {sandbox / 'env'})")
    print("  Deployed:        the platforms' preflight checks passed (keycloak, mlflow, jfrogml, zenml);")
    print("                   `kubectl get all -A` lists what the platforms' roles deploy.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

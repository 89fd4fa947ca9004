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


def deployed(sandbox, endpoints):
    """One line per kind of thing in the sandbox, read with boto3, googleapiclient and the kubernetes client."""
    import boto3
    from google.oauth2 import service_account
    from googleapiclient.discovery import build
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    credentials = json.loads((sandbox / "credentials.json").read_text(encoding="utf-8"))
    aws = endpoints["aws"]

    def boto(service):
        return boto3.client(service, endpoint_url=aws["endpoint_url"], region_name=aws["region"], **credentials["aws"])

    lines = ["S3 buckets:         %s" % ", ".join(b["Name"] for b in boto("s3").list_buckets()["Buckets"]) or "-"]
    roles = [r["RoleName"] for r in boto("iam").list_roles()["Roles"] if r["RoleName"] != "sandbox-eks-cluster"]
    lines.append("IAM roles (IRSA):   %s" % (", ".join(roles) or "-"))
    workgroups = [w["Name"] for w in boto("athena").list_work_groups()["WorkGroups"] if w["Name"] != "primary"]
    lines.append("Athena workgroups:  %s" % (", ".join(workgroups) or "-"))
    gcp = endpoints["gcp"]
    google = service_account.Credentials.from_service_account_file(
        credentials["gcp"]["admin_key_file"], scopes=["https://www.googleapis.com/auth/cloud-platform"])
    storage = build("storage", "v1", credentials=google, client_options={"api_endpoint": gcp["storage"]}, static_discovery=True)
    buckets = [b["name"] for b in storage.buckets().list(project="sandbox-project").execute().get("items", [])]
    lines.append("GCS buckets:        %s" % (", ".join(buckets) or "-"))
    biglake = build("biglake", "v1", credentials=google, client_options={"api_endpoint": gcp["biglake"]}, static_discovery=True)
    try:
        catalogs = biglake.projects().locations().catalogs().list(parent="projects/sandbox-project/locations/us").execute()
        names = [c["name"].rsplit("/", 1)[-1] for c in catalogs.get("catalogs", [])]
    except Exception as error:  # pylint: disable=broad-exception-caught  # a summary line, not a check
        names = ["(%s)" % str(error).splitlines()[0][:80]]
    lines.append("BigLake catalogs:   %s" % (", ".join(names) or "-"))
    core = k8s_client.CoreV1Api(k8s_config.new_client_from_config(config_file=str(sandbox / "kubeconfig")))
    namespaces = [n.metadata.name for n in core.list_namespace().items if not n.metadata.name.startswith("kube-")]
    lines.append("Kubernetes namespaces: %s" % ", ".join(namespaces))
    releases = core.list_secret_for_all_namespaces(label_selector="owner=helm").items
    release_names = sorted({"%s/%s" % (item.metadata.namespace, item.metadata.labels["name"]) for item in releases})
    lines.append("Helm releases:      %s" % (", ".join(release_names) or "-"))
    networking = k8s_client.NetworkingV1Api(core.api_client)
    ingresses = networking.list_ingress_for_all_namespaces().items
    urls = sorted("%s://%s (%s/%s)" % ("https" if ingress.spec.tls else "http", rule.host,
                                       ingress.metadata.namespace, ingress.metadata.name)
                  for ingress in ingresses for rule in ingress.spec.rules or [])
    lines.append("Ingress URLs:       %s" % (", ".join(urls) or "-"))
    realms = [realm["realm"] for realm in keycloak_realms(endpoints["keycloak"]["url"], credentials["keycloak"])]
    lines.append("Keycloak realms:    %s" % (", ".join(realm for realm in realms if realm != "master") or "-"))
    return lines


def keycloak_realms(url, credentials):
    """The realms, through python-keycloak as the sandbox's admin."""
    from keycloak import KeycloakAdmin

    return KeycloakAdmin(server_url=url, username=credentials["admin_username"], password=credentials["admin_password"],
                         realm_name="master").get_realms()


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
    print("\nWhat the site deployed, as the sandbox's own clients see it:")
    for line in deployed(sandbox, endpoints):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

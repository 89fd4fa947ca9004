"""The mlflow role: every chart values document it produces validates against the upstream chart's values schema
(the stand-in's copy) and, rendered by the stand-in chart (which renders the keys the role sets as community-charts'
mlflow 1.11.5 does), migrates with the server's image, scrapes a port the Service has and allows the Service's names;
invalid inventories fail in the preflight, naming the variable, with no write to the Kubernetes API. Deployments with
their idempotence are the Molecule scenarios mlflow_*."""

import copy
import fnmatch
import json
import uuid
from pathlib import Path

import helm_python
import jsonschema
import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "tests/charts/mlflow-standin"
SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
CHART_DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
# The same schema without "required" lists and cross-field rules (which need the chart's defaults beside them): the
# role's own document must be valid where it speaks.
PARTIAL_SCHEMA = json.loads(json.dumps(SCHEMA).replace('"required": [', '"_required": ['))
PARTIAL_SCHEMA.pop("allOf")
PARTIAL_VALIDATOR = jsonschema.Draft7Validator(PARTIAL_SCHEMA)
ROLE_PLAYBOOK = "tests/integration/playbooks/mlflow_role/role.yml"
VALUES_PLAYBOOK = "tests/integration/playbooks/mlflow_role/values.yml"
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}

CLIENT_SECRET = "oidc-client-secret-never-in-values"
OIDC_ENV = {
    "OIDC_DISCOVERY_URL": "https://sso.example.com/realms/ml/.well-known/openid-configuration",
    "OIDC_CLIENT_ID": "mlflow", "OIDC_CLIENT_SECRET": CLIENT_SECRET,
    "OIDC_REDIRECT_URI": "https://mlflow.example.com/callback", "OIDC_SCOPE": "openid,email,profile,groups",
    "OIDC_GROUPS_ATTRIBUTE": "groups", "OIDC_ADMIN_GROUP_NAME": "mlflow-admins", "OIDC_GROUP_NAME": "mlflow-users"}
GCP_FACTS = {"gcp_prerequisites_mlflow_outputs": {
    "project": "ml-project", "service_account_email": "mlflow-artifacts@ml-project.iam.gserviceaccount.com",
    "bucket": "ml-mlflow-gcs", "artifacts_destination": "gs://ml-mlflow-gcs/mlflow-artifacts"}}
AWS_FACTS = {"aws_prerequisites_mlflow_outputs": {
    "role_arn": "arn:aws:iam::123456789012:role/mlflow-artifacts", "bucket": "ml-mlflow-s3", "region": "eu-west-1",
    "artifacts_destination": "s3://ml-mlflow-s3/mlflow-artifacts"}}
DB_PASSWORD = "database-password-never-in-values"
MINIO_SECRET = "minio-secret-never-in-values"
MINIO = {"mlflow_artifacts": "minio", "mlflow_artifacts_bucket": "mlflow", "mlflow_minio_endpoint": "http://minio.minio.svc:9000",
         "mlflow_minio_access_key": "minio-user", "mlflow_minio_secret_key": MINIO_SECRET}
# Over the sandbox inventory's MLflow settings, which the documents must not inherit. The namespace is one no test
# installs into, so the chart's server-side dry run meets none of its objects.
BASE = {"mlflow_namespace": "mlflow-values", "mlflow_ingress_host": "mlflow.example.com", "mlflow_ingress_tls_secret": "mlflow-tls",
        "mlflow_auth": "none", "mlflow_service_monitor_enabled": False, "mlflow_backend": "postgres_in_cluster", "mlflow_artifacts_bucket": "",
        "mlflow_minio_endpoint": "", "mlflow_minio_access_key": "", "mlflow_minio_secret_key": ""}

VARIANTS = {
    "gcs, in-cluster postgres, no auth": dict(GCP_FACTS, mlflow_artifacts="gcs"),
    "gcs, cloudsql with a password, no auth, metrics": dict(
        GCP_FACTS, mlflow_artifacts="gcs", mlflow_backend="cloudsql", mlflow_database_password=DB_PASSWORD,
        mlflow_cloudsql_instance_connection_name="ml-project:europe-west1:mlflow", mlflow_service_monitor_enabled=True),
    "gcs, cloudsql impersonating its own account, private IP, oidc": dict(
        GCP_FACTS, mlflow_artifacts="gcs", mlflow_backend="cloudsql", mlflow_database_existing_secret="mlflow-db",
        mlflow_cloudsql_instance_connection_name="ml-project:europe-west1:mlflow", mlflow_cloudsql_private_ip=True,
        mlflow_cloudsql_service_account="cloudsql@ml-project.iam.gserviceaccount.com", mlflow_auth="oidc",
        mlflow_oidc_env=OIDC_ENV),
    "gcs, given account and bucket, proxied, mirrored image, release tracking, more hosts": dict(
        mlflow_artifacts="gcs", mlflow_gcp_service_account="wi@other.iam.gserviceaccount.com",
        mlflow_artifacts_bucket="other-bucket", mlflow_artifacts_proxied=True, mlflow_artifacts_path="",
        mlflow_image_repository="registry.example.com:5000/mirror/burakince/mlflow", mlflow_image_tag="3.14.0",
        mlflow_release_name="tracking", mlflow_service_monitor_enabled=True,
        mlflow_extra_allowed_hosts=["100.64.*", "tracking.internal"], mlflow_extra_cors_origins=["https://app.example.com"]),
    "s3 from aws_prerequisites, external URL, no auth": dict(
        AWS_FACTS, mlflow_artifacts="s3", mlflow_backend="external",
        mlflow_external_database_url="postgresql://mlflow:%s@db.example.com:6543/tracking" % DB_PASSWORD),
    "s3 with given role and region, external existing secret, oidc": dict(
        mlflow_artifacts="s3", mlflow_artifacts_bucket="given-bucket", mlflow_aws_region="us-west-2",
        mlflow_aws_role_arn="arn:aws:iam::210987654321:role/given", mlflow_backend="external",
        mlflow_database_existing_secret="pg", mlflow_database_host="pg.internal", mlflow_auth="oidc", mlflow_oidc_env=OIDC_ENV),
    "minio, in-cluster postgres, oidc with an existing client secret": dict(
        MINIO, mlflow_auth="oidc", mlflow_oidc_existing_secret="oidc-secret",
        mlflow_oidc_env={k: v for k, v in OIDC_ENV.items() if k != "OIDC_CLIENT_SECRET"}),
    "minio from an existing secret, not proxied, no ingress": dict(
        MINIO, mlflow_minio_access_key="", mlflow_minio_secret_key="", mlflow_minio_existing_secret="minio-creds",
        mlflow_artifacts_proxied=False, mlflow_ingress_enabled=False),
    "minio, oidc without groups or redirect URI, metrics, resources, replicas": dict(
        MINIO, mlflow_auth="oidc", mlflow_service_monitor_enabled=True, mlflow_service_monitor_labels={"release": "kps"},
        mlflow_oidc_env={"OIDC_DISCOVERY_URL": OIDC_ENV["OIDC_DISCOVERY_URL"], "OIDC_CLIENT_ID": "mlflow",
                         "OIDC_CLIENT_SECRET": CLIENT_SECRET},
        mlflow_replicas=3, mlflow_resources={"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}),
    "s3, ingress without TLS, annotations, extra service account annotations": dict(
        AWS_FACTS, mlflow_artifacts="s3", mlflow_ingress_tls_secret="", mlflow_ingress_class_name="traefik",
        mlflow_ingress_annotations={"traefik.ingress.kubernetes.io/router.entrypoints": "websecure"},
        mlflow_service_account_annotations={"example.com/owner": "ml-team"}, mlflow_image_tag="3.5.0"),
    "cloudsql with s3 artifacts (the proxy's account annotates the service account)": dict(
        AWS_FACTS, mlflow_artifacts="s3", mlflow_backend="cloudsql", mlflow_database_password=DB_PASSWORD,
        mlflow_cloudsql_instance_connection_name="p:r:i", mlflow_cloudsql_service_account="sql@p-1234.iam.gserviceaccount.com",
        mlflow_image_tag="3.15.0", mlflow_service_monitor_enabled=True, mlflow_ingress_enabled=False),
}


def run_with_vars(run_playbook, tmp_path, playbook, variables, *args, extra_env=None):
    vars_file = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:6])
    vars_file.write_text(json.dumps({k: v for k, v in variables.items() if v is not None}), encoding="utf-8")
    return run_playbook(playbook, "-e", "@%s" % vars_file, *args, extra_env=extra_env)


def rendered_values(result):
    report = json.loads(result.stdout[result.stdout.index("{"):])
    tasks = [task for play in report["plays"] for task in play["tasks"]]
    return next(task["hosts"]["localhost"]["mlflow_chart_values"] for task in tasks if task["task"]["name"] == "Show them")


def merged(defaults, values):
    """Helm's merge of user values over the chart's: maps deeply, everything else replaced."""
    out = copy.deepcopy(defaults)
    for key, value in values.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture(scope="module")
def role_values(run_playbook, tmp_path_factory):
    """variant -> (its variables, the chart values the role composes for them); each variant is composed once."""
    composed = {}

    def compose(variant):
        if variant not in composed:
            variables = dict(BASE, **VARIANTS[variant])
            result = run_with_vars(run_playbook, tmp_path_factory.mktemp("values"), VALUES_PLAYBOOK, variables,
                                   extra_env=JSON_CALLBACK)
            assert result.rc == 0, result.output
            composed[variant] = (variables, rendered_values(result))
        return composed[variant]

    return compose


@pytest.fixture(scope="module")
def monitoring_api(sandbox):
    """The monitoring.coreos.com/v1 API (the Prometheus operator's CRD), so the chart renders its ServiceMonitor; removed
    afterwards when this module created it."""
    extensions = k8s_client.ApiextensionsV1Api(k8s_config.new_client_from_config(config_file=str(sandbox.kubeconfig)))
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
           "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
                    "names": {"kind": "ServiceMonitor", "listKind": "ServiceMonitorList", "plural": "servicemonitors",
                              "singular": "servicemonitor"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    try:
        extensions.create_custom_resource_definition(crd)
        created = True
    except k8s_client.ApiException as error:
        if error.status != 409:
            raise
        created = False
    yield
    if created:
        extensions.delete_custom_resource_definition(crd["metadata"]["name"])


@pytest.fixture(scope="module")
def render(sandbox, monitoring_api):
    """values, release -> {kind: [object]}: the stand-in chart as a server-side dry-run install (capabilities from the
    sandbox, nothing written)."""
    def run(values, release="mlflow", namespace=BASE["mlflow_namespace"]):
        helm = helm_python.Config(kubeconfig_path=str(sandbox.kubeconfig), namespace=namespace)
        try:
            manifest = helm.install(str(CHART), release, values, namespace=namespace, dry_run="server")["manifest"]
        finally:
            helm.close()
        objects = {}
        for document in yaml.safe_load_all(manifest):
            if document:
                objects.setdefault(document["kind"], []).append(document)
        return objects

    return run


def pod_spec(objects):
    return objects["Deployment"][0]["spec"]["template"]["spec"]


def environment(objects):
    """The data of the chart's env ConfigMap (MLflow's environment)."""
    return next(c for c in objects["ConfigMap"] if c["metadata"]["name"].endswith("-env-configmap"))["data"]


def endpoint_port_exists(objects):
    """Whether the ServiceMonitor's endpoint names a port Prometheus finds: `port` a Service port, `targetPort` a pod
    port (by name or number)."""
    endpoint = objects["ServiceMonitor"][0]["spec"]["endpoints"][0]
    if "port" in endpoint:
        return endpoint["port"] in [port.get("name") for port in objects["Service"][0]["spec"]["ports"]]
    container_ports = [port for container in pod_spec(objects)["containers"] for port in container.get("ports", [])]
    return endpoint["targetPort"] in [port.get(key) for port in container_ports for key in ("name", "containerPort")]


def host_allowed(allowed, host):
    """MLflow's check of the Host header (mlflow.server.security_utils.is_allowed_host_header): fnmatch for a pattern
    with `*`, equality otherwise, the port part of the header."""
    patterns = allowed.split(",")
    return "*" in patterns or any(fnmatch.fnmatch(host, p) if "*" in p else host == p for p in patterns)


def test_the_stand_in_defaults_validate():
    VALIDATOR.validate(CHART_DEFAULTS)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_values_document_validates_against_the_upstream_schema(role_values, variant):
    variables, values = role_values(variant)
    PARTIAL_VALIDATOR.validate(values)
    VALIDATOR.validate(merged(CHART_DEFAULTS, values))

    text = json.dumps(values)
    for secret in (CLIENT_SECRET, DB_PASSWORD, MINIO_SECRET):
        assert secret not in text
    backend = values["backendStore"]
    assert backend["postgres"]["enabled"] and backend["postgres"]["password"] == "" and backend["postgres"]["user"] == ""
    assert backend["existingDatabaseSecret"]["name"]
    annotations = values["serviceAccount"]["annotations"]
    artifacts = variables["mlflow_artifacts"]
    if artifacts == "gcs":
        assert values["artifactRoot"]["gcs"]["enabled"] and "s3" not in values["artifactRoot"]
        assert annotations["iam.gke.io/gcp-service-account"] == variables.get(
            "mlflow_gcp_service_account", GCP_FACTS["gcp_prerequisites_mlflow_outputs"]["service_account_email"])
    elif artifacts == "s3":
        assert annotations["eks.amazonaws.com/role-arn"] == variables.get(
            "mlflow_aws_role_arn", AWS_FACTS["aws_prerequisites_mlflow_outputs"]["role_arn"])
        assert values["extraEnvVars"]["AWS_DEFAULT_REGION"]
        assert values["artifactRoot"]["s3"]["existingSecret"]["name"] == ""
    else:
        assert values["extraEnvVars"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio.minio.svc:9000"
        assert values["artifactRoot"]["s3"]["existingSecret"]["name"] == (variables.get("mlflow_minio_existing_secret") or "mlflow-minio")
    assert values["artifactRoot"]["proxiedArtifactStorage"] == variables.get("mlflow_artifacts_proxied", artifacts == "minio")

    if variables.get("mlflow_backend") == "cloudsql":
        proxy = values["initContainers"][0]
        assert proxy["name"] == "cloud-sql-proxy" and proxy["args"][-1] == variables["mlflow_cloudsql_instance_connection_name"]
        assert backend["postgres"]["host"] == "127.0.0.1" and not backend["databaseMigration"]
        assert ("--private-ip" in proxy["args"]) == variables.get("mlflow_cloudsql_private_ip", False)
        impersonated = [arg for arg in proxy["args"] if arg.startswith("--impersonate-service-account=")]
        assert bool(impersonated) == (artifacts == "gcs" and "mlflow_cloudsql_service_account" in variables)
    else:
        assert values["initContainers"] == [] and backend["databaseMigration"]
    assert "extraContainers" not in values and not backend["databaseConnectionCheck"]
    if variables.get("mlflow_backend") == "external" and "mlflow_external_database_url" in variables:
        assert (backend["postgres"]["host"], backend["postgres"]["port"], backend["postgres"]["database"]) == (
            "db.example.com", 6543, "tracking")

    if variables["mlflow_auth"] == "oidc":
        oidc = values["oidcAuth"]
        assert oidc["enabled"] and oidc["clientSecret"] == ""
        assert oidc["existingSecret"]["name"] == (variables.get("mlflow_oidc_existing_secret") or "mlflow-oidc")
        assert not values["auth"]["enabled"] and not values["ldapAuth"]["enabled"] and not values["oauth2Proxy"]["enabled"]
        assert oidc["database"]["postgres"]["database"] == "mlflow_auth"
        if "OIDC_GROUP_NAME" in variables["mlflow_oidc_env"]:
            assert oidc["groupName"] == ["mlflow-users"] and oidc["adminGroupName"] == ["mlflow-admins"]
        else:  # the chart's defaults stay
            assert "groupName" not in oidc and merged(CHART_DEFAULTS, values)["oidcAuth"]["groupName"] == ["mlflow"]
        assert oidc["redirectUri"] == "https://mlflow.example.com/callback"
    else:
        assert "oidcAuth" not in values
    ingress = values["ingress"]
    if variables.get("mlflow_ingress_enabled", True):
        assert ingress["hosts"][0]["host"] == "mlflow.example.com"
        assert ingress["tls"] == ([{"hosts": ["mlflow.example.com"], "secretName": "mlflow-tls"}]
                                  if variables["mlflow_ingress_tls_secret"] else [])
    else:
        assert ingress == {"enabled": False}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_chart_migrates_with_the_server_image_scrapes_a_service_port_and_allows_the_service_names(
        role_values, render, variant):
    variables, values = role_values(variant)
    release, namespace = variables.get("mlflow_release_name", "mlflow"), variables["mlflow_namespace"]
    objects = render(values, release=release, namespace=namespace)
    spec = pod_spec(objects)
    server = next(container for container in spec["containers"] if container["name"] == "mlflow")
    image = "%s:%s" % (variables.get("mlflow_image_repository", "burakince/mlflow"), variables.get("mlflow_image_tag", "3.15.1"))
    assert server["image"] == image

    # Every init container runs the server's MLflow, but the Cloud SQL Auth Proxy; no busybox connection check.
    init = spec.get("initContainers", [])
    assert [c["image"] for c in init if c["name"] != "cloud-sql-proxy"] == [image]
    assert [c["name"] for c in init].count("mlflow-db-migration") == 1 and "dbchecker" not in [c["name"] for c in init]
    if variables["mlflow_backend"] == "cloudsql":
        # The proxy is a native sidecar started (and probed) before the migration, which reaches it on 127.0.0.1.
        assert [c["name"] for c in init] == ["cloud-sql-proxy", "mlflow-db-migration"]
        assert init[0]["restartPolicy"] == "Always" and init[0]["startupProbe"]["httpGet"]["path"] == "/startup"
        migration_env = {entry["name"]: entry for entry in init[1]["env"]}
        assert migration_env["PGHOST"]["value"] == "127.0.0.1"
        assert migration_env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == values["backendStore"]["existingDatabaseSecret"]["name"]
        assert [c["name"] for c in spec["containers"]] == ["mlflow"]
    else:
        assert [c["name"] for c in init] == ["mlflow-db-migration"]

    service_name = objects["Service"][0]["metadata"]["name"]
    assert service_name == objects["Deployment"][0]["metadata"]["name"] == (release if "mlflow" in release else release + "-mlflow")
    if variables.get("mlflow_service_monitor_enabled"):
        assert endpoint_port_exists(objects)
        assert objects["ServiceMonitor"][0]["metadata"]["namespace"] == namespace
    else:
        assert "ServiceMonitor" not in objects

    env = environment(objects)
    allowed = env["MLFLOW_SERVER_ALLOWED_HOSTS"]
    for name in (service_name, "%s.%s" % (service_name, namespace), "%s.%s.svc" % (service_name, namespace),
                 "%s.%s.svc.cluster.local" % (service_name, namespace)):
        assert host_allowed(allowed, name) and host_allowed(allowed, name + ":80"), (name, allowed)
    for host in ("10.12.0.7:5000", "172.20.3.4:5000", "192.168.1.9:5000", "localhost:5000", "127.0.0.1:8080"):
        assert host_allowed(allowed, host), host  # Prometheus by pod IP, kubectl port-forward
    for host in ("evil.example.net", "%s.evil.example.net" % service_name, "172.32.0.1:5000", "mlflow.example.com.evil.net"):
        assert not host_allowed(allowed, host), host
    assert "*" not in allowed.split(",")
    origins = env.get("MLFLOW_SERVER_CORS_ALLOWED_ORIGINS", "").split(",")
    if variables.get("mlflow_ingress_enabled", True):
        assert host_allowed(allowed, "mlflow.example.com") and host_allowed(allowed, "mlflow.example.com:8443")
        assert ("https://" if variables["mlflow_ingress_tls_secret"] else "http://") + "mlflow.example.com" in origins
    for extra in variables.get("mlflow_extra_allowed_hosts", []):
        assert extra in allowed.split(",")
    assert set(variables.get("mlflow_extra_cors_origins", [])) <= set(origins)


def test_the_stand_in_fails_as_the_upstream_chart_does_without_the_role_s_settings(role_values, render):
    """What the role's settings prevent, the stand-in reproduces: a migration image from the chart's appVersion, a
    ServiceMonitor whose port the pod does not have, allowed hosts of the ingress only, and with Cloud SQL the chart's
    own migration running before any proxy of initContainers."""
    values = role_values("gcs, cloudsql with a password, no auth, metrics")[1]
    pinned = merged(values, {"image": {"tag": "3.5.0"}, "backendStore": {"databaseMigration": True}})
    del pinned["initImages"], pinned["serverAllowedHosts"], pinned["serviceMonitor"]["useServicePort"]
    pinned["initContainers"] = [c for c in values["initContainers"] if c["name"] == "cloud-sql-proxy"]
    objects = render(pinned)
    spec = pod_spec(objects)
    assert spec["containers"][0]["image"] == "burakince/mlflow:3.5.0"
    assert [(c["name"], c["image"]) for c in spec["initContainers"]] == [
        ("mlflow-db-migration", "burakince/mlflow:3.15.1"), ("cloud-sql-proxy", values["initContainers"][0]["image"])]
    assert objects["ServiceMonitor"][0]["spec"]["endpoints"][0] == {
        "targetPort": "http", "interval": "30s", "path": "/metrics", "scrapeTimeout": "10s"}
    assert not endpoint_port_exists(objects)
    env = environment(objects)
    assert env["MLFLOW_SERVER_ALLOWED_HOSTS"] == "mlflow.example.com"
    assert not host_allowed(env["MLFLOW_SERVER_ALLOWED_HOSTS"], "mlflow.mlflow-values.svc")
    assert env["MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"] == "https://mlflow.example.com"
    assert environment(render(merged(values, {"serverAllowedHosts": ["a", "*"]})))["MLFLOW_SERVER_ALLOWED_HOSTS"] == "*"


def test_the_schema_refuses_what_the_chart_refuses():
    """The schema really checks the facts the role relies on: group names are lists, unknown keys are refused."""
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(merged(CHART_DEFAULTS, {"oidcAuth": {"groupName": "mlflow-users"}}))
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(merged(CHART_DEFAULTS, {"artifactRoot": {"minio": {"endpoint": "http://minio:9000"}}}))
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(merged(CHART_DEFAULTS, {"auth": {"enabled": True}, "ldapAuth": {"enabled": True}}))


# Each invalid inventory: the variables (over the sandbox inventory's) and what the failure must say.
INVALID = {
    "cloudsql without an instance": (
        {"mlflow_backend": "cloudsql", "mlflow_database_password": "x", "mlflow_gcp_service_account": "a@p-1.iam.gserviceaccount.com"},
        "set mlflow_cloudsql_instance_connection_name"),
    "cloudsql with a password and an existing secret": (
        {"mlflow_backend": "cloudsql", "mlflow_cloudsql_instance_connection_name": "p:r:i", "mlflow_database_password": "x",
         "mlflow_database_existing_secret": "db", "mlflow_gcp_service_account": "a@p-1.iam.gserviceaccount.com"},
        "set mlflow_database_password (vault-encrypted) or mlflow_database_existing_secret"),
    "oidc without the keycloak facts": ({"mlflow_auth": "oidc"}, "run the keycloak role first (its fact\nkeycloak_mlflow_env) or set mlflow_oidc_env"),
    "oidc without a client secret": (
        {"mlflow_auth": "oidc", "mlflow_oidc_env": {k: v for k, v in OIDC_ENV.items() if k != "OIDC_CLIENT_SECRET"}},
        "mlflow_oidc_existing_secret"),
    "s3 without a region": (
        {"mlflow_artifacts": "s3", "mlflow_aws_role_arn": "arn:aws:iam::123456789012:role/r"}, "set mlflow_aws_region"),
    "s3 without a role": ({"mlflow_artifacts": "s3", "mlflow_aws_region": "eu-west-1"}, "set mlflow_aws_role_arn"),
    "gcs without a Workload Identity account": ({"mlflow_artifacts": "gcs"}, "set mlflow_gcp_service_account"),
    "external without a URL or a secret": ({"mlflow_backend": "external"}, "set mlflow_external_database_url"),
    "external with a MySQL URL": (
        {"mlflow_backend": "external", "mlflow_external_database_url": "mysql://u:p@db/mlflow"},
        "mlflow_external_database_url must look like postgresql://"),
    "external secret without a host": (
        {"mlflow_backend": "external", "mlflow_database_existing_secret": "pg"}, "set mlflow_database_host"),
    "minio without an endpoint": ({"mlflow_minio_endpoint": ""}, "set mlflow_minio_endpoint"),
    "minio without credentials": ({"mlflow_minio_secret_key": ""}, "set mlflow_minio_access_key and mlflow_minio_secret_key"),
    "an invalid bucket name": ({"mlflow_artifacts_bucket": "Not_A_Bucket"}, "set mlflow_artifacts_bucket to a bucket name"),
    "an ingress without a host": ({"mlflow_ingress_host": ""}, "set mlflow_ingress_host"),
    "an ingress host localhost": ({"mlflow_ingress_host": "localhost"}, "set mlflow_ingress_host to a fully qualified DNS name"),
    "an ingress host with an empty label": (
        {"mlflow_ingress_host": "mlflow..example.com"}, "fully qualified DNS name such as mlflow.example.com, without a scheme"),
    "an ingress host with a scheme": (
        {"mlflow_ingress_host": "https://mlflow.example.com"}, "got 'https://mlflow.example.com'"),
    "an ingress host that is an IP address": ({"mlflow_ingress_host": "10.0.0.1"}, "set mlflow_ingress_host to a fully"),
    "a negative Helm timeout": (
        {"mlflow_helm_wait_timeout": -5}, "mlflow_helm_wait_timeout must be a positive number of seconds, got '-5'"),
    "a zero Helm timeout": ({"mlflow_helm_wait_timeout": 0}, "mlflow_helm_wait_timeout must be a positive number"),
    "an image tag with a colon": ({"mlflow_image_tag": "3.15.1:latest"}, "mlflow_image_tag must be an image tag"),
    "an empty image tag": ({"mlflow_image_tag": ""}, "mlflow_image_tag must be an image tag such as 3.15.1, got ''"),
    "an image repository with a tag": (
        {"mlflow_image_repository": "burakince/mlflow:3.15.1"}, "mlflow_image_repository must be an image repository without a tag"),
    "an allowed host with a scheme": (
        {"mlflow_extra_allowed_hosts": ["https://tools.example.com"]}, "mlflow_extra_allowed_hosts must hold host names"),
    "a CORS origin without a scheme": (
        {"mlflow_extra_cors_origins": ["app.example.com"]}, "mlflow_extra_cors_origins must hold origins"),
    "the auth database is the tracking database": (
        {"mlflow_auth": "oidc", "mlflow_oidc_env": OIDC_ENV, "mlflow_auth_database_name": "mlflow"}, "mlflow_auth_database_name must be"),
    "an unknown backend": ({"mlflow_backend": "sqlite"}, "mlflow_backend"),
    "a memory request with a space": ({"mlflow_resources": {"requests": {"memory": "1 GB"}}},
                                      "mlflow_resources must be requests and limits of Kubernetes quantities such as 500m or 1Gi, got requests.memory='1 GB'."),
    "a PostgreSQL limit in gigabytes": ({"mlflow_postgres_resources": {"limits": {"memory": "2gb"}}},
                                        "mlflow_postgres_resources must be requests and limits of Kubernetes quantities"),
    "proxy resources without requests or limits": ({"mlflow_cloudsql_proxy_resources": {"cpu": "100m"}},
                                                   "mlflow_cloudsql_proxy_resources must be requests and limits of Kubernetes quantities "
                                                   "such as 500m or 1Gi, got cpu is not requests or limits."),
    "an existing secret that does not exist": (
        {"mlflow_artifacts": "minio", "mlflow_minio_access_key": "", "mlflow_minio_secret_key": "",
         "mlflow_minio_existing_secret": "no-such-secret"},
        "Secret %s/no-such-secret named by mlflow_minio_existing_secret does not exist"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_inventory_fails_in_the_preflight_before_any_write(sandbox, run_playbook, tmp_path, case):
    variables, message = INVALID[case]
    namespace = "mlflow-invalid-%s" % uuid.uuid4().hex[:6]
    # The sandbox inventory's single sign-on needs the keycloak role's facts; only the oidc cases keep it.
    variables = dict({"mlflow_auth": "none"}, **variables, mlflow_namespace=namespace)
    sandbox.kube_admin("requests/reset", method="POST")
    result = run_with_vars(run_playbook, tmp_path, ROLE_PLAYBOOK, variables)
    assert result.rc != 0, result.output
    flat = " ".join(result.output.split())
    assert " ".join((message % namespace if "%s" in message else message).split()) in flat, result.output
    assert sandbox.kube_writes() == 0
    assert CLIENT_SECRET not in result.output

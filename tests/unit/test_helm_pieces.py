"""helm_release_checked's engine-independent pieces: version ranges, values, manifests, storage, CLI adapter."""

import base64
import gzip
import json

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.masking import MASK
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.client import ConnectionSettings
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import cli, manifest, storage, values, versions
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    HelmEngineError,
    HelmTransient,
    ReleaseNotFound,
    ReleaseSpec,
)


# --- version ranges
@pytest.mark.parametrize("version, expected", [
    ("v1.24.0", True), ("1.30.6", True), ("v1.32.9-eks-1234", True), ("v1.23.17", False), ("v1.33.0", False),
])
def test_range_with_lower_and_upper_bound(version, expected):
    assert versions.version_in_range(version, ">=1.24,<1.33") is expected


@pytest.mark.parametrize("range_text, version, expected", [
    ("<=1.32", "1.32.5", True),
    ("<=1.32", "1.33.0", False),
    (">1.32", "1.32.5", False),
    ("==1.30", "1.30.6", True),
    ("1.30", "1.31.0", False),
    ("!=1.29", "1.29.3", False),
    (">= 1.24 < 1.33", "1.28.1", True),
    (">=1.24.3", "1.24.2", False),
])
def test_a_clause_compares_as_many_components_as_it_names(range_text, version, expected):
    assert versions.version_in_range(version, range_text) is expected


@pytest.mark.parametrize("bad", ["", ">=", "~1.2", ">=one", "1.2.3.4"])
def test_unparseable_ranges_are_refused_with_the_text(bad):
    with pytest.raises(versions.VersionRangeError):
        versions.parse_range(bad)


def test_version_parser_drops_prefix_and_suffixes():
    assert versions.parse_version("v3.14.2+g1234") == (3, 14, 2)
    assert versions.parse_version("1.30") == (1, 30, 0)


# --- values
def test_values_files_then_values_merge_deeply_later_wins():
    merged = values.merge_values({"image": {"repo": "a", "tag": "1"}, "replicas": 1},
                                 {"image": {"tag": "2"}}, {"replicas": 3, "extra": [1]})
    assert merged == {"image": {"repo": "a", "tag": "2"}, "replicas": 3, "extra": [1]}


def test_normalised_values_treat_integral_floats_and_empty_documents_as_helm_stores_them():
    assert values.values_equal({"replicas": 2.0, "ratio": 0.5}, {"replicas": 2, "ratio": 0.5})
    assert values.values_equal(None, {})
    assert not values.values_equal({"port": "80"}, {"port": 80})
    assert not values.values_equal({"a": [1, 2]}, {"a": [2, 1]})


def test_masking_hides_secret_looking_keys_and_extra_paths_only():
    shown = values.mask_values({"auth": {"adminPassword": "s3cret", "adminUser": "admin", "clientSecret": "x"},
                                "db": {"url": "postgres://u:p@h/db"}, "token": "", "tokens": {"n": 1}},
                               extra_secret_paths=["db.url"])
    assert shown == {"auth": {"adminPassword": MASK, "adminUser": "admin", "clientSecret": MASK},
                     "db": {"url": MASK}, "token": "", "tokens": {"n": 1}}


SECRET_KEYS = ["joinkey", "joinKey", "masterKey", "enrollmentKey", "encryptionKey", "jwtSecretKey", "adminPassword",
               "clientSecret", "JOIN_KEY", "secretAccessKey", "signing-key", "passphrase", "credentials", "apiKey"]
HARMLESS_KEYS = ["keyName", "monkey", "secretName", "existingSecret", "existingSecretKey", "existingSecretPasswordKey",
                 "key", "tokenTTL", "passwordSecretRef"]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_credential_key_names_are_masked_wherever_they_sit(key):
    assert values.mask_values({key: "s3cr3t-value", "list": [{key: 1234}]}) == {key: MASK, "list": [{key: MASK}]}


@pytest.mark.parametrize("key", HARMLESS_KEYS)
def test_names_of_secrets_and_lookalikes_are_not_masked(key):
    assert values.mask_values({key: "my-release-auth"}) == {key: "my-release-auth"}


def test_switches_and_empty_values_under_secret_looking_keys_are_shown():
    shown = {"automountServiceAccountToken": False, "joinKey": "", "adminPassword": None}
    assert values.mask_values(shown) == shown


def test_manifest_diff_masks_secret_looking_keys_outside_secrets_too():
    before = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {joinKey: join-one, masterKey: master-one, mode: a}\n"
              "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  template:\n    spec:\n      containers:\n"
              "      - name: app\n        env:\n        - {name: JFROG_JOIN_KEY, value: join-one}\n        - {name: MODE, value: a}\n")
    after = before.replace("join-one", "join-two").replace("mode: a", "mode: b").replace("value: a}", "value: b}")
    text, changed = manifest.manifest_diff(before, after, "ml")
    assert changed == ["ConfigMap/ml/app", "Deployment/ml/app"]
    assert "join-one" not in text and "join-two" not in text and "master-one" not in text
    assert "+  joinKey: '******** (changed)'" in text and "   masterKey: '********'\n" in text
    assert "-  mode: a\n+  mode: b" in text
    assert "+          value: '******** (changed)'" in text and "+          value: b" in text
    added, _changed = manifest.manifest_diff("", after, "ml")
    assert "join-two" not in added and "joinKey: '********'" in added and "(changed)" not in added


# --- manifests
MANIFEST_V1 = """---
# Source: app/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: app-creds
data:
  password: c2VjcmV0MQ==
  user: YWRtaW4=
---
# Source: app/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
---
apiVersion: batch/v1
kind: Job
metadata:
  name: app-validate
  namespace: other
"""


def test_manifest_resources_and_workloads():
    resources = manifest.parse_manifest(MANIFEST_V1, "ml")
    assert sorted(resources) == ["Deployment/ml/app", "Job/other/app-validate", "Secret/ml/app-creds"]
    assert manifest.workloads(resources) == [
        {"kind": "Deployment", "namespace": "ml", "name": "app", "api_version": "apps/v1"},
        {"kind": "Job", "namespace": "other", "name": "app-validate", "api_version": "batch/v1"},
    ]
    assert manifest.resource_refs(resources)[0] == {"kind": "Deployment", "api_version": "apps/v1", "namespace": "ml", "name": "app"}


def test_manifest_diff_is_per_resource_and_never_shows_secret_values():
    after = MANIFEST_V1.replace("replicas: 1", "replicas: 3").replace("c2VjcmV0MQ==", "c2VjcmV0Mg==")
    text, changed = manifest.manifest_diff(MANIFEST_V1, after, "ml")
    assert changed == ["Deployment/ml/app", "Secret/ml/app-creds"]
    assert "-  replicas: 1\n+  replicas: 3" in text
    assert "c2VjcmV0" not in text and "YWRtaW4=" not in text
    assert "+  password: '******** (changed)'" in text
    assert "   user: '********'\n" in text  # an unchanged key stays masked and unmarked
    assert "a/Deployment/ml/app" in text


def test_manifest_diff_of_identical_manifests_is_empty():
    assert manifest.manifest_diff(MANIFEST_V1, MANIFEST_V1, "ml") == ("", [])


def test_added_and_removed_resources_diff_against_dev_null():
    text, changed = manifest.manifest_diff("", MANIFEST_V1, "ml")
    assert len(changed) == 3 and text.count("--- /dev/null") == 3


# --- Helm's storage records
def encoded_release(release):
    """A storage Secret's ``release`` value as Helm writes it: JSON, gzipped, base64 twice."""
    packed = base64.b64encode(gzip.compress(json.dumps(release).encode("utf-8")))
    return base64.b64encode(packed).decode("ascii")


def test_storage_round_trip_and_latest_revision():
    def record(revision, status):
        release = {"name": "app", "version": revision, "info": {"status": status}, "config": {"r": revision}}
        metadata = {"name": "sh.helm.release.v1.app.v%d" % revision, "labels": {"version": str(revision), "status": status}}
        return {"type": storage.SECRET_TYPE, "metadata": metadata, "data": {"release": encoded_release(release)}}
    latest = storage.latest_release([record(1, "superseded"), record(10, "deployed"), record(2, "superseded")])
    assert latest["version"] == 10 and latest["config"] == {"r": 10}
    assert storage.latest_release([]) is None
    assert storage.release_selector("app") == "owner=helm,name=app"


# --- the CLI adapter
class FakeRun:
    """Records command lines and answers them from a script; stands in for AnsibleModule.run_command."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, argv, environ_update=None, data=None):
        self.calls.append((list(argv), dict(environ_update or {})))
        return self.answers.pop(0)


def _engine(run, **connection):
    return cli.CliEngine("/usr/local/bin/helm", ConnectionSettings(**connection), run)


def test_cli_upgrade_command_line_plan_and_apply_differ_only_by_dry_run():
    spec = ReleaseSpec("mlflow", "mlflow", "mlflow", {"a": 1}, chart_version="1.11.5",
                       chart_repo_url="https://charts.example", create_namespace=True, timeout=120)
    engine = _engine(None, kubeconfig="/k/config", context="prod", ca_cert="/k/ca.crt", validate_certs=False)
    # Both install the pulled archive: neither reaches the chart repository (no --version, no --repo).
    apply = engine.upgrade_args(spec, "/cache/mlflow-1.11.5.tgz", "/tmp/v.yaml")
    plan = engine.upgrade_args(spec, "/cache/mlflow-1.11.5.tgz", "/tmp/v.yaml", dry_run=True)
    assert apply == ["/usr/local/bin/helm", "upgrade", "mlflow", "/cache/mlflow-1.11.5.tgz", "--install", "--namespace", "mlflow",
                     "--output", "json", "--values", "/tmp/v.yaml",
                     "--create-namespace",
                     "--kubeconfig", "/k/config", "--kube-context", "prod", "--kube-ca-file", "/k/ca.crt",
                     "--kube-insecure-skip-tls-verify"]
    assert [arg for arg in plan if arg not in apply] == ["--dry-run=server"]
    assert [arg for arg in apply if arg not in plan] == []


def test_cli_token_travels_in_the_environment_not_the_command_line():
    run = FakeRun((0, "release \"x\" uninstalled\n", ""))
    engine = _engine(run, host="https://k:6443", api_key="tok-123")
    engine.uninstall("x", "ns", False, 60)
    argv, env = run.calls[0]
    assert "tok-123" not in " ".join(argv)
    assert env == {"HELM_KUBETOKEN": "tok-123"}
    assert argv[-2:] == ["--kube-apiserver", "https://k:6443"]


def test_cli_values_file_is_private_and_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(cli.tempfile, "tempdir", str(tmp_path))
    seen = {}

    def run(argv, environ_update=None, data=None):
        path = argv[argv.index("--values") + 1]
        seen["mode"] = oct((tmp_path / path.split("/")[-1]).stat().st_mode & 0o777)
        seen["content"] = open(path, encoding="utf-8").read()
        return 0, '{"name": "x", "version": 2, "info": {"status": "deployed"}}', ""

    chart = tmp_path / "chart"
    chart.mkdir()
    _engine(run).upgrade_install(ReleaseSpec("x", "ns", str(chart), {"password": "p"}))
    assert seen == {"mode": "0o600", "content": "password: p\n"}
    assert list(tmp_path.iterdir()) == [chart]


def test_cli_parses_release_json_after_warnings():
    text = 'WARNING: kubeconfig is group-readable\n' + json.dumps({
        "name": "mlflow", "namespace": "ml", "version": 3,
        "info": {"status": "deployed", "description": "Upgrade complete"},
        "chart": {"metadata": {"name": "mlflow", "version": "1.11.5", "appVersion": "3.15.1"}},
        "config": {"replicaCount": 2}, "manifest": "---\nkind: Service\n"})
    assert cli.parse_release_json(text) == {
        "name": "mlflow", "namespace": "ml", "revision": 3, "status": "deployed", "description": "Upgrade complete",
        "chart_name": "mlflow", "chart_version": "1.11.5", "app_version": "3.15.1", "config": {"replicaCount": 2},
        "manifest": "---\nkind: Service\n"}


def test_cli_missing_release_is_not_found_and_other_failures_say_why():
    engine = _engine(FakeRun((1, "", "Error: release: not found"),
                             (1, "", "Error: Kubernetes cluster unreachable: 503 Service Unavailable"),
                             (1, "", "Error: chart requires kubeVersion: >=1.40")))
    with pytest.raises(ReleaseNotFound) as missing:
        engine.rollback("x", "ns", 1, False, 60)
    assert isinstance(missing.value, errors.NotFound)
    with pytest.raises(HelmTransient) as failure:
        engine.uninstall("x", "ns", False, 60)
    assert isinstance(failure.value, errors.Transient) and "cluster unreachable" in str(failure.value)
    with pytest.raises(HelmEngineError) as refused:
        engine.uninstall("x", "ns", False, 60)
    assert not isinstance(refused.value, errors.Transient)
    assert str(refused.value) == "helm uninstall failed: Error: chart requires kubeVersion: >=1.40"


def test_cli_version_probe():
    assert cli.helm_version("helm", FakeRun((0, "v3.14.4", ""))) == (3, 14, 4)
    with pytest.raises(HelmEngineError, match="version failed"):
        cli.helm_version("helm", FakeRun((127, "", "helm: not found")))

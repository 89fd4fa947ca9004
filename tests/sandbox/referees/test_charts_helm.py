"""Referee: Helm's own client (Helm v4's Go SDK through helm-python-sdk) pulls from the chart emulator's
password-protected repository and pushes to, pulls from and inspects its OCI registry; a wrong password
is refused, and TLS is verified against the emulator's CA."""

import hashlib
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import helm_python as helm
import pytest
from helm_python import _native

from tests.sandbox.charts import testing

REFEREE_CHART = Path(__file__).resolve().parents[2] / "charts" / "referee"


@pytest.fixture(scope="module", name="charts")
def fixture_charts():
    with testing.running() as charts:
        yield charts


@pytest.fixture(name="client")
def fixture_client(charts, tmp_path):
    """A registry client logged in as the emulator's user (its credentials in a file of the test's own)."""
    with helm.RegistryClient(credentials_file=tmp_path / "registry.json") as client:
        client.login(charts.registry, charts.username, charts.password, insecure=True)
        yield client


def loaded(archive):
    with helm.Chart.load(archive) as chart:
        return chart.metadata


def test_the_repository_serves_a_pinned_version_and_the_latest_to_its_user(charts, tmp_path):
    charts.reset_requests()
    helm.pull("checked", repo_url=charts.repo_url, version="0.2.0", destination=tmp_path, username=charts.username,
              password=charts.password, insecure_skip_tls_verify=True)
    (tmp_path / "latest").mkdir()  # Helm writes into the destination, it does not make it
    helm.pull("checked", repo_url=charts.repo_url, destination=tmp_path / "latest", username=charts.username,
              password=charts.password, insecure_skip_tls_verify=True)
    assert loaded(tmp_path / "checked-0.2.0.tgz")["version"] == "0.2.0"
    assert loaded(tmp_path / "latest" / "checked-0.3.0.tgz")["appVersion"] == "2.0.0"
    log = charts.requests()
    assert log["by_resource"] == {"index": 2, "archive": 2} and log["downloads"] == 2
    assert {entry["user"] for entry in log["entries"]} == {charts.username}


def test_the_index_lists_every_version_with_the_digest_of_its_archive(charts, tmp_path):
    index = helm.repo_index(charts.repo_url, username=charts.username, password=charts.password, insecure_skip_tls_verify=True)
    entries = index["entries"]["checked"]
    assert [entry["version"] for entry in entries] == ["0.3.0", "0.2.0"]
    helm.pull("checked", repo_url=charts.repo_url, version="0.3.0", destination=tmp_path, username=charts.username,
              password=charts.password, insecure_skip_tls_verify=True)
    assert entries[0]["digest"] == hashlib.sha256((tmp_path / "checked-0.3.0.tgz").read_bytes()).hexdigest()


def test_the_repository_refuses_a_wrong_password_and_no_password(charts, tmp_path):
    charts.reset_requests()
    with pytest.raises(helm.HelmRepoError, match="401 Unauthorized"):
        helm.pull("checked", repo_url=charts.repo_url, version="0.2.0", destination=tmp_path, username=charts.username,
                  password="wrong", insecure_skip_tls_verify=True)
    with pytest.raises(helm.HelmRepoError, match="401 Unauthorized"):
        helm.pull("checked", repo_url=charts.repo_url, version="0.2.0", destination=tmp_path, insecure_skip_tls_verify=True)
    assert list(tmp_path.iterdir()) == []
    assert charts.requests()["downloads"] == 0


def test_the_repository_is_verified_against_the_emulators_ca(charts, tmp_path):
    with pytest.raises(helm.HelmRepoError, match="certificate signed by unknown authority"):
        helm.pull("checked", repo_url=charts.repo_url, version="0.2.0", destination=tmp_path, username=charts.username,
                  password=charts.password)
    # the CA file as libhelm_c's helm_pull takes it (helm-python-sdk 0.2.2's pull() does not pass it on)
    options = {"dest_dir": str(tmp_path), "version": "0.2.0", "repo_url": charts.repo_url, "username": charts.username,
               "password": charts.password, "ca_file": charts.ca_file}
    _native.call_string("helm_pull", _native.HANDLE(0), "checked", json.dumps(options))
    assert loaded(tmp_path / "checked-0.2.0.tgz")["name"] == "checked"


def test_a_registry_login_then_tags_show_resolve_and_pull(charts, client, tmp_path):
    ref = charts.oci + "/checked"
    assert client.tags(ref) == ["0.3.0", "0.2.0"]
    shown = client.show(ref, output_format="chart")  # the latest: Helm picks it from the tags
    assert "name: checked" in shown and "version: 0.3.0" in shown
    descriptor = client.resolve(ref + ":0.2.0")
    assert descriptor["media_type"] == "application/vnd.oci.image.manifest.v1+json" and descriptor["digest"].startswith("sha256:")
    charts.reset_requests()
    client.pull(ref, destination=tmp_path, version="0.2.0")
    assert loaded(tmp_path / "checked-0.2.0.tgz")["version"] == "0.2.0"
    log = charts.requests()
    assert log["downloads"] == 1 and log["by_resource"]["manifests"] >= 1
    assert {entry["user"] for entry in log["entries"] if entry["status"] == 200} == {charts.username}


def test_the_registry_wants_a_token_and_refuses_a_wrong_password(charts, tmp_path):
    request = urllib.request.Request(charts.url + "/v2/charts/checked/tags/list")
    context = ssl.create_default_context(cafile=charts.ca_file)
    with pytest.raises(urllib.error.HTTPError) as challenge:
        urllib.request.urlopen(request, context=context, timeout=10)  # nosec - loopback only
    assert challenge.value.code == 401
    assert challenge.value.headers["WWW-Authenticate"] == (
        'Bearer realm="%s/token",service="sandbox-charts",scope="repository:charts/checked:pull"' % charts.url)
    with helm.RegistryClient(credentials_file=tmp_path / "registry.json") as client:
        with pytest.raises(helm.HelmRegistryError, match="401"):
            client.login(charts.registry, charts.username, "wrong", insecure=True)
        with pytest.raises(helm.HelmRepoError, match="401"):
            client.pull(charts.oci + "/checked", destination=tmp_path, version="0.2.0")
    assert not list(tmp_path.glob("*.tgz"))


def test_the_registry_is_verified_against_the_emulators_ca(charts, tmp_path):
    with helm.RegistryClient(credentials_file=tmp_path / "anonymous.json") as client:
        with pytest.raises(helm.HelmRegistryError, match="certificate signed by unknown authority"):
            client.login(charts.registry, charts.username, charts.password)
    with helm.RegistryClient(credentials_file=tmp_path / "registry.json") as client:
        # the CA file as libhelm_c's helm_registry_login takes it; the client keeps that TLS setting for its pulls
        _native.call_status("helm_registry_login", client._raw(), charts.registry, charts.username,
                            charts.password, json.dumps({"ca_file": charts.ca_file}))
        client.pull(charts.oci + "/checked", destination=tmp_path, version="0.3.0")
    assert loaded(tmp_path / "checked-0.3.0.tgz")["version"] == "0.3.0"


def test_a_pushed_chart_can_be_pulled_back_and_survives_a_restart(charts, client, tmp_path):
    archive = Path(helm.package(REFEREE_CHART, destination=tmp_path, version="1.2.3"))
    charts.reset_requests()
    client.push(archive, charts.oci)
    log = charts.requests()
    manifest_puts = [entry for entry in log["entries"]
                     if entry["method"] == "PUT" and entry["path"].endswith("/manifests/1.2.3")]
    assert log["by_resource"]["upload"] >= 2 and manifest_puts
    assert client.tags(charts.oci + "/referee") == ["1.2.3"]
    charts.stop()
    charts.start()
    with helm.RegistryClient(credentials_file=tmp_path / "again.json") as again:
        again.login(charts.registry, charts.username, charts.password, insecure=True)
        (tmp_path / "back").mkdir()
        again.pull(charts.oci + "/referee", destination=tmp_path / "back", version="1.2.3")
    assert (tmp_path / "back" / "referee-1.2.3.tgz").read_bytes() == archive.read_bytes()

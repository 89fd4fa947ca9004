"""Chart sources: the controller-side chart cache, and how each engine pulls with a repository's credentials."""

import io
import json
import os
import stat
import tarfile

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import AuthError, Transient
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.masking import MASK
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.client import ConnectionSettings
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import InvalidInput
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import cli, sdk, source
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    ChartAccessDenied,
    HelmEngineError,
    HelmTransient,
    ReleaseSpec,
    RepoAuth,
)

PASSWORD = "s3cret-pa55"
REPO_URL = "https://charts.example/private"


def chart_archive(directory, name="app", version="1.2.3"):
    """A chart archive as helm pull leaves one: <name>-<version>.tgz holding <name>/Chart.yaml."""
    path = os.path.join(directory, "%s-%s.tgz" % (name, version))
    text = ("apiVersion: v2\nname: %s\nversion: %s\nappVersion: '9.9'\n" % (name, version)).encode()
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo("%s/Chart.yaml" % name)
        member.size = len(text)
        archive.addfile(member, io.BytesIO(text))
    return path


class Puller:
    """An engine's pull: writes the archive, or raises the scripted errors first; records every call."""

    def __init__(self, *failures):
        self.failures = list(failures)
        self.calls = []

    def __call__(self, spec, destination):
        self.calls.append((spec.chart_ref, spec.chart_version, oct(stat.S_IMODE(os.stat(destination).st_mode))))
        if self.failures:
            raise self.failures.pop(0)
        pinned = source.PINNED_VERSION.match(spec.chart_version or "")
        chart_archive(destination, version=spec.chart_version if pinned else "2.0.0")  # a range pulls the latest


def spec(version="1.2.3", chart_ref="app", repo_url=REPO_URL, **auth):
    return ReleaseSpec("app", "ns", chart_ref, {}, chart_version=version, chart_repo_url=repo_url,
                       repo_auth=RepoAuth(**auth) if auth else RepoAuth())


def mode(path):
    return oct(stat.S_IMODE(os.stat(path).st_mode))


# --- the cache
def test_a_pinned_chart_is_pulled_once_into_a_private_cache_and_read_from_disk_by_later_tasks(tmp_path):
    cache_dir = tmp_path / "cache"
    pull = Puller()
    first = source.ChartCache(str(cache_dir))
    path = first.chart_path(spec(username="u", password=PASSWORD), pull)
    assert first.metadata(spec(username="u", password=PASSWORD), pull)["appVersion"] == "9.9"
    first.close()
    later = source.ChartCache(str(cache_dir))
    assert later.chart_path(spec(username="u", password="rotated"), pull) == path  # credentials are not part of the key
    assert pull.calls == [("app", "1.2.3", "0o700")]
    assert os.path.exists(path) and os.path.basename(path) == "app-1.2.3.tgz"
    assert mode(cache_dir) == "0o700" and mode(os.path.dirname(path)) == "0o700"
    assert os.listdir(cache_dir) == [source.cache_key(spec())]  # the staging directory is gone
    assert PASSWORD not in json.dumps(os.listdir(cache_dir))


def test_the_cache_key_is_the_source_the_chart_and_the_version():
    keys = {source.cache_key(spec()), source.cache_key(spec(version="1.2.4")), source.cache_key(spec(repo_url="https://other.example")),
            source.cache_key(spec(chart_ref="oci://registry.example/charts/app", repo_url=None))}
    assert len(keys) == 4
    assert source.cache_key(spec(version="v1.2.3")) == source.cache_key(spec())


@pytest.mark.parametrize("version", [None, "~1.2", ">=1.0.0", "1.2"])
def test_a_version_that_is_not_pinned_is_pulled_for_every_task_and_removed_after_it(tmp_path, version):
    pull = Puller()
    paths = []
    for _task in range(2):
        charts = source.ChartCache(str(tmp_path / "cache"))
        paths.append(charts.chart_path(spec(version=version), pull))
        assert charts.chart_path(spec(version=version), pull) == paths[-1]  # once per task, for metadata and install
        charts.close()
        assert not os.path.exists(paths[-1])
    assert len(pull.calls) == 2 and pull.calls[0][2] == "0o700"
    assert not (tmp_path / "cache").exists()


def test_a_local_chart_is_used_where_it_is_and_a_missing_path_is_invalid_input(tmp_path, monkeypatch):
    pull = Puller()
    charts = source.ChartCache(str(tmp_path / "cache"))
    archive = chart_archive(str(tmp_path))
    assert charts.chart_path(spec(chart_ref=archive, repo_url=None), pull) == archive
    monkeypatch.setenv("HOME", str(tmp_path))
    assert charts.chart_path(spec(chart_ref="~/app-1.2.3.tgz", repo_url=None), pull) == archive
    assert charts.metadata(spec(chart_ref=str(archive), repo_url=None), pull)["name"] == "app"
    with pytest.raises(InvalidInput, match="chart_ref ./gone: there is no chart directory or archive at that path"):
        charts.chart_path(spec(chart_ref="./gone", repo_url=None), pull)
    assert pull.calls == []


def test_a_damaged_cache_entry_is_pulled_again(tmp_path):
    pull = Puller()
    path = source.ChartCache(str(tmp_path)).chart_path(spec(), pull)
    with open(path, "wb") as handle:
        handle.write(b"not a gzip file")
    assert source.ChartCache(str(tmp_path)).metadata(spec(), pull)["version"] == "1.2.3"
    assert len(pull.calls) == 2


def test_transient_pull_failures_are_retried_then_end_as_one_plain_error(tmp_path):
    sleeps = []
    pull = Puller(HelmTransient("helm pull failed: 503 Service Unavailable"))
    charts = source.ChartCache(str(tmp_path), attempts=2, sleep=sleeps.append)
    assert charts.chart_path(spec(), pull).endswith("app-1.2.3.tgz")
    assert len(pull.calls) == 2 and len(sleeps) == 1
    failing = Puller(*[HelmTransient("helm pull failed: dial tcp: connection refused")] * 2)
    with pytest.raises(HelmEngineError) as failure:
        source.ChartCache(str(tmp_path), attempts=2, sleep=sleeps.append).chart_path(spec(version="1.0.0"), failing)
    assert not isinstance(failure.value, Transient)  # the runner must not retry it once more
    assert str(failure.value) == ("cannot pull chart app 1.0.0 from %s: helm pull failed: dial tcp: connection refused (2 attempts)" % REPO_URL)
    assert os.listdir(tmp_path) == [source.cache_key(spec())]  # nothing half-pulled is left


def test_refused_credentials_name_the_repository_and_never_the_password(tmp_path):
    pull = Puller(HelmEngineError("helm pull failed: failed to fetch %s/index.yaml : 401 Unauthorized (password %s)" % (REPO_URL, PASSWORD)))
    with pytest.raises(ChartAccessDenied) as denied:
        source.ChartCache(str(tmp_path)).chart_path(spec(username="u", password=PASSWORD), pull)
    assert isinstance(denied.value, AuthError)
    assert str(denied.value).startswith("cannot pull chart app 1.2.3 from %s: " % REPO_URL)
    assert PASSWORD not in str(denied.value) and MASK in str(denied.value)


def test_a_port_or_digest_with_401_in_it_is_no_refusal():
    error = source.pull_failure(spec(), HelmEngineError("dial tcp 127.0.0.1:34015: connect: no route to host"))
    assert isinstance(error, HelmEngineError) and not isinstance(error, (ChartAccessDenied, HelmTransient))


def test_credentials_go_with_a_repository_or_registry_and_in_pairs():
    assert "s3cret" not in repr(spec(username="u", password="s3cret"))
    with pytest.raises(InvalidInput, match="go together"):
        spec(username="u")
    with pytest.raises(InvalidInput, match="chart_ref ./charts/app is neither"):
        spec(chart_ref="./charts/app", repo_url=None, username="u", password=PASSWORD)
    assert spec(chart_ref="oci://registry.example/charts/app", repo_url=None, username="u", password=PASSWORD)


# --- the CLI engine's pulls
class PullingRun:
    """run_command for helm: records argv, environment, stdin and the private config directory's mode; helm pull leaves an archive."""

    def __init__(self, fail=None):
        self.calls = []
        self.fail = fail

    def __call__(self, argv, environ_update=None, data=None):
        config = next((argv[index + 1] for index, arg in enumerate(argv) if arg in ("--repository-config", "--registry-config")), None)
        directory = os.path.dirname(config) if config else None
        self.calls.append({"argv": list(argv), "env": dict(environ_update or {}), "stdin": data,
                           "config_dir_mode": mode(directory) if directory else None, "config_dir": directory})
        if argv[1] == self.fail:
            return 1, "", "Error: looks like %r is not a valid chart repository: 401 Unauthorized" % REPO_URL
        if argv[1] == "pull":
            chart_archive(argv[argv.index("--destination") + 1])
        return 0, "", ""


def cli_pull(tmp_path, run, release_spec):
    engine = cli.CliEngine("/usr/bin/helm", ConnectionSettings(api_key="kube-token"), run, source.ChartCache(str(tmp_path / "cache")))
    return engine.chart_path(release_spec)


def test_cli_pulls_from_a_repository_through_a_private_repository_config_with_the_password_on_stdin(tmp_path):
    run = PullingRun()
    path = cli_pull(tmp_path, run, spec(username="deploy", password=PASSWORD, ca_file="/etc/ca.pem", insecure_skip_tls_verify=True))
    add, pull = run.calls
    config_dir = add["config_dir"]
    assert add["argv"] == ["/usr/bin/helm", "repo", "add", "source", REPO_URL,
                           "--repository-config", config_dir + "/repositories.yaml", "--repository-cache", config_dir + "/cache",
                           "--username", "deploy", "--password-stdin", "--ca-file", "/etc/ca.pem", "--insecure-skip-tls-verify"]
    assert add["stdin"] == PASSWORD
    destination = pull["argv"][pull["argv"].index("--destination") + 1]
    assert pull["argv"] == ["/usr/bin/helm", "pull", "source/app", "--destination", destination, "--version", "1.2.3",
                            "--repository-config", config_dir + "/repositories.yaml", "--repository-cache", config_dir + "/cache",
                            "--ca-file", "/etc/ca.pem", "--insecure-skip-tls-verify"]
    assert pull["stdin"] is None
    for call in run.calls:
        assert PASSWORD not in " ".join(call["argv"]) and PASSWORD not in json.dumps(call["env"])
        assert call["config_dir_mode"] == "0o700"
    assert not os.path.exists(config_dir)
    assert path.endswith("/app-1.2.3.tgz")


def test_cli_logs_in_to_an_oci_registry_with_a_private_registry_config(tmp_path):
    run = PullingRun()
    cli_pull(tmp_path, run, spec(chart_ref="oci://registry.example:5000/charts/app", repo_url=None, username="deploy",
                                 password=PASSWORD, ca_file="/etc/ca.pem"))
    login, pull = run.calls
    registry_config = login["config_dir"] + "/registry.json"
    assert login["argv"] == ["/usr/bin/helm", "registry", "login", "registry.example:5000", "--username", "deploy", "--password-stdin",
                             "--registry-config", registry_config, "--ca-file", "/etc/ca.pem"]
    assert login["stdin"] == PASSWORD
    assert pull["argv"][:3] == ["/usr/bin/helm", "pull", "oci://registry.example:5000/charts/app"]
    assert pull["argv"][-6:] == ["--version", "1.2.3", "--registry-config", registry_config, "--ca-file", "/etc/ca.pem"]
    assert all(PASSWORD not in " ".join(call["argv"]) for call in run.calls)
    assert login["config_dir_mode"] == "0o700" and not os.path.exists(login["config_dir"])


def test_cli_pulls_an_oci_chart_without_credentials_with_the_users_own_registry_logins(tmp_path):
    run = PullingRun()
    cli_pull(tmp_path, run, spec(chart_ref="oci://registry.example/charts/app", repo_url=None, insecure_skip_tls_verify=True))
    [pull] = run.calls
    assert "--registry-config" not in pull["argv"] and pull["argv"][-1] == "--insecure-skip-tls-verify"


def test_cli_a_refused_login_removes_the_private_config_and_names_the_repository(tmp_path):
    run = PullingRun(fail="repo")
    with pytest.raises(ChartAccessDenied) as denied:
        cli_pull(tmp_path, run, spec(username="deploy", password=PASSWORD))
    assert str(denied.value).startswith("cannot pull chart app 1.2.3 from %s: helm repo add failed: " % REPO_URL)
    assert len(run.calls) == 1 and not os.path.exists(run.calls[0]["config_dir"])
    assert os.listdir(tmp_path / "cache") == []


# --- the SDK engine's pulls
class FakeNative:
    """libhelm_c's calls as sdk.py makes them: options recorded as parsed JSON; pulls leave an archive."""

    HANDLE = int

    def __init__(self):
        self.calls = []

    def call_string(self, function, handle, ref, options):
        options = json.loads(options)
        self.calls.append((function, ref, options))
        chart_archive(options["dest_dir"])
        return '{"output": ""}'

    def call_status(self, function, handle, host, username, password, options):
        self.calls.append((function, host, username, password, json.loads(options)))


def sdk_pull(tmp_path, monkeypatch, release_spec):
    native = FakeNative()
    monkeypatch.setattr(sdk, "native", native)
    engine = sdk.SdkEngine(ConnectionSettings(), source.ChartCache(str(tmp_path / "cache")))
    try:
        engine.chart_path(release_spec)
    finally:
        engine.close()
    return native.calls


def test_sdk_passes_a_repositorys_credentials_and_ca_file_to_helms_pull(tmp_path, monkeypatch):
    [(function, ref, options)] = sdk_pull(tmp_path, monkeypatch, spec(username="deploy", password=PASSWORD, ca_file="/etc/ca.pem"))
    assert (function, ref) == ("helm_pull", "app")
    assert options == {"dest_dir": options["dest_dir"], "version": "1.2.3", "repo_url": REPO_URL, "username": "deploy",
                       "password": PASSWORD, "ca_file": "/etc/ca.pem"}


def test_sdk_logs_in_to_an_oci_registry_with_a_client_of_its_own(tmp_path, monkeypatch):
    seen = {}
    real_client = sdk.helm_python.RegistryClient

    def client(credentials_file):
        seen["dir"] = os.path.dirname(credentials_file)
        seen["mode"] = mode(seen["dir"])
        return real_client(credentials_file=credentials_file)

    monkeypatch.setattr(sdk.helm_python, "RegistryClient", client)
    oci_spec = spec(chart_ref="oci://registry.example/charts/app", repo_url=None, username="deploy", password=PASSWORD,
                    insecure_skip_tls_verify=True)
    login, pull = sdk_pull(tmp_path, monkeypatch, oci_spec)
    assert login == ("helm_registry_login", "registry.example", "deploy", PASSWORD, {"insecure": True})
    assert pull[:2] == ("helm_pull", "oci://registry.example/charts/app")
    assert pull[2]["version"] == "1.2.3" and "password" not in pull[2]
    assert seen["mode"] == "0o700" and not os.path.exists(seen["dir"])


def test_sdk_cannot_set_an_anonymous_registrys_tls(tmp_path, monkeypatch):
    with pytest.raises(InvalidInput, match="need chart_repo_username"):
        sdk_pull(tmp_path, monkeypatch, spec(chart_ref="oci://registry.example/charts/app", repo_url=None, ca_file="/etc/ca.pem"))

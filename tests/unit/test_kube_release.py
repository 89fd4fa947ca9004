"""helm_release_checked's pieces around the runner: options, values files, engine choice, retries, failures."""

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube import errors as kube_errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.client import ConnectionSettings
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import cli, module, sdk
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    HelmEngine,
    HelmEngineError,
    HelmTransient,
    ReleaseSpec,
    release_from_helm_json,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.runner import (
    DEFAULT_TRANSIENT_ATTEMPTS,
    ReleaseFailure,
    ReleaseOptions,
    ReleaseRunner,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.selection import select_engine
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.values import load_values
from ansible_collections.mlplatform.selfhosted.plugins.modules import helm_release_checked


def options(**overrides):
    return ReleaseOptions(**dict({"state": "present", "atomic": False, "wait": True, "wait_timeout": 30}, **overrides))


# --- options
def test_the_default_attempt_count_is_the_options_and_the_modules():
    assert options().transient_attempts == DEFAULT_TRANSIENT_ATTEMPTS
    assert helm_release_checked.ARGUMENT_SPEC["transient_attempts"]["default"] == DEFAULT_TRANSIENT_ATTEMPTS


def test_pending_releases_are_recovered_unless_the_task_says_not_to():
    assert options().recover_pending is True
    assert helm_release_checked.ARGUMENT_SPEC["recover_pending"] == {"type": "bool", "default": True}


@pytest.mark.parametrize("overrides, message", [
    ({"transient_attempts": 0}, "transient_attempts must be at least 1, got 0"),
    ({"preflight": {"kube_version": ">=one"}}, "preflight.kube_version: cannot parse '>=one' in version range '>=one'"),
])
def test_options_refuse_what_the_argument_spec_cannot(overrides, message):
    with pytest.raises(kube_errors.InvalidInput) as raised:
        options(**overrides)
    assert str(raised.value) == message


def test_module_params_become_options_with_the_secret_values_masked():
    params = {"state": "absent", "atomic": True, "wait": False, "wait_timeout": 10, "preflight": None,
              "validation_jobs": None, "values_secret_paths": ["db.url"], "secret_values": {"auth": {"password": "p"}},
              "transient_attempts": 2, "recover_pending": False}
    assert module.release_options(params) == ReleaseOptions(
        state="absent", atomic=True, wait=False, wait_timeout=10, preflight={}, validation_jobs=[],
        secret_paths=["db.url", "auth.password"], transient_attempts=2, recover_pending=False)


def test_a_present_release_needs_a_chart_before_anything_is_asked():
    with pytest.raises(kube_errors.InvalidInput, match="^chart_ref is required when state is present$"):
        module.ensure(None, {"state": "present", "chart_ref": None}, check_mode=False)


# --- values files
def test_values_files_then_values_then_secret_values(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("image: {repo: r, tag: '1'}\nreplicas: 1\n", encoding="utf-8")
    second.write_text("", encoding="utf-8")
    merged = load_values([str(first), str(second)], {"image": {"tag": "2"}}, {"auth": {"password": "p"}})
    assert merged == {"image": {"repo": "r", "tag": "2"}, "replicas": 1, "auth": {"password": "p"}}


def test_a_values_file_that_cannot_be_read_or_parsed_or_is_no_mapping_is_invalid_input(tmp_path):
    missing = str(tmp_path / "missing.yaml")
    with pytest.raises(kube_errors.InvalidInput, match="^cannot read values file %s: " % missing):
        load_values([missing])
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(kube_errors.InvalidInput, match="^cannot read values file %s: while parsing" % broken):
        load_values([str(broken)])
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(kube_errors.InvalidInput, match="^values file %s does not hold a mapping$" % listed):
        load_values([str(listed)])


# --- engine choice
class FakeHost:
    """What select_engine uses of AnsibleModule: a helm on PATH (or none) answering ``helm version``."""

    def __init__(self, path=None, version="v3.14.4", rc=0):
        self.path = path
        self.answer = (rc, version if rc == 0 else "", "" if rc == 0 else "helm: cannot execute")
        self.warnings = []
        self.commands = []

    def get_bin_path(self, name):
        return self.path

    def run_command(self, argv, environ_update=None):
        self.commands.append(argv)
        return self.answer

    def warn(self, text):
        self.warnings.append(text)


SETTINGS = ConnectionSettings(host="https://kube.example")


def test_auto_prefers_a_recent_helm_binary_then_the_sdk():
    engine = select_engine("auto", SETTINGS, FakeHost("/usr/bin/helm"))
    assert isinstance(engine, cli.CliEngine) and engine.binary == "/usr/bin/helm"
    assert isinstance(select_engine("auto", SETTINGS, FakeHost()), sdk.SdkEngine)
    assert isinstance(select_engine("auto", SETTINGS, FakeHost("/usr/bin/helm", version="v3.7.2")), sdk.SdkEngine)


def test_auto_warns_about_a_binary_it_cannot_use():
    host = FakeHost("/usr/bin/helm", rc=126)
    assert isinstance(select_engine("auto", SETTINGS, host), sdk.SdkEngine)
    assert host.warnings == ["ignoring /usr/bin/helm: /usr/bin/helm version failed: helm: cannot execute; using the Helm SDK"]


def test_binary_path_wins_and_sdk_never_looks_for_a_binary():
    assert select_engine("cli", SETTINGS, FakeHost("/usr/bin/helm"), binary_path="/opt/helm").binary == "/opt/helm"
    host = FakeHost("/usr/bin/helm")
    assert isinstance(select_engine("sdk", SETTINGS, host), sdk.SdkEngine) and host.commands == []


@pytest.mark.parametrize("host, message", [
    (FakeHost(), "engine=cli: no helm binary at binary_path or on PATH"),
    (FakeHost("/usr/bin/helm", version="v3.7.2"), "/usr/bin/helm is Helm 3.7.2; engine=cli needs 3.8 or newer"),
])
def test_cli_needs_a_recent_binary(host, message):
    with pytest.raises(HelmEngineError) as raised:
        select_engine("cli", SETTINGS, host)
    assert str(raised.value) == message


def test_every_engine_can_be_closed():
    assert HelmEngine.close is cli.CliEngine.close and sdk.SdkEngine.close is not HelmEngine.close
    cli.CliEngine("/usr/bin/helm", SETTINGS, None).close()


# --- the runner's retries and failures
class FakeKube:
    """A cluster with no release stored yet; each read counted. list_failures: what list() raises in turn (None: answers)."""

    def __init__(self, version="v1.30.6", list_failures=()):
        self.request_count = 0
        self._version = version
        self._list_failures = list(list_failures)

    def version(self):
        self.request_count += 1
        return {"gitVersion": self._version}

    def list(self, kind, namespace=None, label_selector=None):
        self.request_count += 1
        failure = self._list_failures.pop(0) if self._list_failures else None
        if failure is not None:
            raise failure
        return []

    def get(self, kind, name, namespace=None):
        self.request_count += 1


class FakeEngine(HelmEngine):
    """Fails upgrade_install with the given errors in turn, then installs revision 1."""

    name = "fake"

    def __init__(self, *failures):
        self.failures = list(failures)
        self.installs = 0

    def chart_metadata(self, spec):
        return {"name": "app", "version": "0.1.0"}

    def pull(self, spec, destination):
        raise AssertionError("no pull expected")

    def upgrade_install(self, spec, dry_run=False):
        self.installs += 1
        if self.failures:
            raise self.failures.pop(0)
        return release_from_helm_json({"name": spec.name, "namespace": spec.namespace, "version": 1, "info": {"status": "deployed"},
                                       "chart": {"metadata": {"name": "app", "version": "0.1.0"}}, "config": spec.values})

    def rollback(self, name, namespace, revision, wait, timeout):
        raise AssertionError("no rollback expected")

    def uninstall(self, name, namespace, wait, timeout):
        raise AssertionError("no uninstall expected")


def run(engine, kube=None, sleeps=None, **overrides):
    runner = ReleaseRunner(engine, kube or FakeKube(), ReleaseSpec("app", "ns", "./chart", {"a": 1}), options(**overrides),
                           sleep=(sleeps if sleeps is not None else []).append)
    return runner.run()


def test_transient_helm_failures_are_retried_within_full_jitter_windows():
    sleeps = []
    engine = FakeEngine(HelmTransient("helm upgrade failed: etcdserver: request timed out"),
                        HelmTransient("helm upgrade failed: connection reset by peer"))
    result = run(engine, sleeps=sleeps)
    assert result["changed"] and result["status"] == "deployed" and result["revision"] == 1
    assert engine.installs == 3 and len(sleeps) == 2
    assert 0 <= sleeps[0] <= 2.0 and 0 <= sleeps[1] <= 4.0


def test_when_the_attempts_run_out_the_failure_says_what_and_keeps_the_result():
    engine = FakeEngine(*[HelmTransient("helm upgrade failed: the server is currently unable to handle the request")] * 2)
    with pytest.raises(ReleaseFailure) as raised:
        run(engine, transient_attempts=2, preflight={"kube_version": ">=1.24"})
    assert str(raised.value) == ("helm install of ns/app failed: "
                                 "helm upgrade failed: the server is currently unable to handle the request")
    assert engine.installs == 2 and isinstance(raised.value, errors.ApiError)
    assert raised.value.result == {"changed": True, "checks": [], "kube_version": "v1.30.6"}


def test_other_helm_failures_and_kube_errors_are_not_retried():
    engine = FakeEngine(HelmEngineError("helm upgrade failed: chart requires kubeVersion >=1.40"))
    with pytest.raises(ReleaseFailure, match="^helm install of ns/app failed: helm upgrade failed: chart requires"):
        run(engine)
    assert engine.installs == 1
    # The client has retried its own requests; the runner does not retry them again.
    # After a transient Helm failure the runner reads the stored release, and that read fails for good.
    gave_up = kube_errors.Transient("GET /api/v1/namespaces/ns/secrets: gave up after 6 attempts: busy", status=503)
    engine = FakeEngine(HelmTransient("helm upgrade failed: too many requests"))
    with pytest.raises(ReleaseFailure, match="^install of ns/app: GET /api/v1/namespaces/ns/secrets: gave up after 6"):
        run(engine, FakeKube(list_failures=[None, gave_up]))
    assert engine.installs == 1


def test_a_failed_preflight_carries_its_problems_and_the_result_so_far():
    with pytest.raises(ReleaseFailure) as raised:
        run(FakeEngine(), FakeKube(version="v1.20.0"), preflight={"kube_version": ">=1.24"})
    assert str(raised.value) == "preflight failed, nothing was changed: Kubernetes v1.20.0 is outside the supported range >=1.24"
    assert raised.value.result == {"changed": False, "checks": [], "kube_version": "v1.20.0",
                                   "preflight": ["Kubernetes v1.20.0 is outside the supported range >=1.24"]}

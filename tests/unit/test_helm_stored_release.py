"""helm_release_checked's decisions from Helm's storage: a no-op without the chart, and pending releases recovered."""

import calendar
import tarfile
import time

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import storage
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import (
    HelmEngine,
    HelmEngineError,
    HelmTransient,
    ReleaseSpec,
    release_from_helm_json,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.runner import (
    ReleaseFailure,
    ReleaseOptions,
    ReleaseRunner,
    offline_chart,
)
from tests.unit.test_helm_pieces import encoded_release

NOW = calendar.timegm(time.strptime("2024-05-01T12:10:00Z", "%Y-%m-%dT%H:%M:%SZ"))
TEN_MINUTES_AGO = "2024-05-01T12:00:00Z"


def record(revision, status, config, chart=("app", "0.1.0"), created=TEN_MINUTES_AGO):
    """A storage Secret as Helm writes one revision."""
    release = {"name": "app", "namespace": "ns", "version": revision, "info": {"status": status},
               "chart": {"metadata": {"name": chart[0], "version": chart[1], "appVersion": "1.0"}},
               "config": config, "manifest": "---\nkind: ConfigMap\nmetadata:\n  name: app-%d\n" % revision}
    metadata = {"name": "sh.helm.release.v1.app.v%d" % revision, "namespace": "ns", "creationTimestamp": created,
                "labels": {"owner": "helm", "name": "app", "status": status, "version": str(revision)}}
    return {"type": storage.SECRET_TYPE, "metadata": metadata, "data": {"release": encoded_release(release)}}


class StoredKube:
    """A cluster holding one release's storage Secrets; every request is recorded."""

    def __init__(self, *secrets):
        self.secrets = list(secrets)
        self.requests = []

    def version(self):
        self.requests.append("version")
        return {"gitVersion": "v1.30.6"}

    def list(self, kind, namespace=None, label_selector=None):
        self.requests.append("list %s %s" % (kind, label_selector))
        return list(self.secrets)

    def get(self, kind, name, namespace=None):
        self.requests.append("get %s %s" % (kind, name))

    def revisions(self):
        return [(entry["revision"], entry["status"]) for entry in storage.history(self.secrets)]

    def stored(self, revision):
        return release_from_helm_json(storage.release_revision(self.secrets, revision))

    def add(self, status, config, chart=("app", "0.1.0")):
        for secret in self.secrets if status == "deployed" else ():  # as Helm supersedes, and leaves pending records be
            labels = secret["metadata"]["labels"]
            if labels["status"] == "deployed":
                labels["status"] = "superseded"
        revision = max([number for number, _status in self.revisions()] or [0]) + 1
        self.secrets.append(record(revision, status, config, chart))
        return self.stored(revision)


class RecordingEngine(HelmEngine):
    """Helm acting on a StoredKube's records; every call recorded. chart: what show chart answers (None: it fails the test)."""

    name = "recording"

    def __init__(self, kube, chart=("app", "0.1.0")):
        self.kube = kube
        self.chart = chart
        self.calls = []

    def chart_metadata(self, spec):
        self.calls.append("chart_metadata")
        if self.chart is None:
            raise AssertionError("the chart was looked up, though the release needs no chart")
        return {"name": self.chart[0], "version": self.chart[1]}

    def pull(self, spec, destination):
        raise AssertionError("the chart was pulled, though the release needs no chart")

    def upgrade_install(self, spec, dry_run=False):
        self.calls.append("plan" if dry_run else "upgrade_install")
        if dry_run:
            return release_from_helm_json({"name": spec.name, "version": 0, "info": {"status": "pending"}, "config": spec.values,
                                           "chart": {"metadata": {"name": "app", "version": spec.chart_version}}})
        return self.kube.add("deployed", spec.values, ("app", spec.chart_version))

    def rollback(self, name, namespace, revision, wait, timeout):
        self.calls.append("rollback %d" % revision)
        target = self.kube.stored(revision)
        self.kube.add("deployed", target["config"], (target["chart_name"], target["chart_version"]))

    def uninstall(self, name, namespace, wait, timeout):
        self.calls.append("uninstall wait=%s" % wait)
        self.kube.secrets = []


def run(kube, engine, chart_ref="repo/app", chart_version="0.1.0", values=None, check_mode=False, now=NOW, **overrides):
    spec = ReleaseSpec("app", "ns", chart_ref, {"replicas": 2} if values is None else values, chart_version=chart_version,
                       chart_repo_url=overrides.pop("chart_repo_url", None))
    options = ReleaseOptions(**dict({"state": "present", "atomic": False, "wait": False, "wait_timeout": 300}, **overrides))
    return ReleaseRunner(engine, kube, spec, options, check_mode=check_mode, wall_clock=lambda: now).run()


# --- the chart, named without fetching it
@pytest.mark.parametrize("chart_ref, chart_version, chart_repo_url, expected", [
    ("repo/app", "0.1.0", None, ("app", "0.1.0")),
    ("app", "0.1.0", "https://charts.example", ("app", "0.1.0")),
    ("oci://registry.example/charts/app", "0.1.0", None, ("app", "0.1.0")),
    ("oci://registry.example/charts/app:0.1.0", None, None, ("app", "0.1.0")),
    ("https://charts.example/files/kube-prometheus-stack-45.0.0.tgz", None, None, ("kube-prometheus-stack", "45.0.0")),
    ("https://charts.example/app-1.0.0-rc.1.tgz?token=x", "1.0.0-rc.1", None, ("app", "1.0.0-rc.1")),
    ("/gone/checked", "0.2.0", None, ("checked", "0.2.0")),
    ("./gone/app-1.2.3.tgz", None, None, ("app", "1.2.3")),
])
def test_the_chart_is_named_from_its_reference(chart_ref, chart_version, chart_repo_url, expected):
    assert offline_chart(ReleaseSpec("r", "ns", chart_ref, {}, chart_version=chart_version, chart_repo_url=chart_repo_url)) == expected


@pytest.mark.parametrize("chart_ref, chart_version, chart_repo_url", [
    ("repo/app", None, None),  # the latest version: only the repository knows it
    ("a/b/c", "1.0.0", None),
    ("app", "1.0.0", None),  # no repository to find it in
    ("repo/app", "1.0.0", "https://charts.example"),  # with a repository URL the reference is the chart's name
    ("oci://registry.example/charts/app:0.2.0", "0.1.0", None),
    ("oci://registry.example/charts/app@sha256:0123abcd", "0.1.0", None),
    ("https://charts.example/latest.tgz", "0.1.0", None),
    ("https://charts.example/app-0.2.0.tgz", "0.1.0", None),  # Helm would install the archive's 0.2.0
    ("/gone/checked", None, None),
])
def test_a_chart_the_reference_does_not_name_is_left_to_the_engine(chart_ref, chart_version, chart_repo_url):
    assert offline_chart(ReleaseSpec("r", "ns", chart_ref, {}, chart_version=chart_version, chart_repo_url=chart_repo_url)) is None


def test_a_local_chart_is_read_from_disk_whatever_chart_version_says(tmp_path):
    chart = tmp_path / "some-dir"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: checked\nversion: 0.2.0\n", encoding="utf-8")
    assert offline_chart(ReleaseSpec("r", "ns", str(chart), {}, chart_version="9.9.9")) == ("checked", "0.2.0")
    archive = tmp_path / "packaged.tgz"
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(str(chart / "Chart.yaml"), arcname="checked/Chart.yaml")
    assert offline_chart(ReleaseSpec("r", "ns", str(archive), {})) == ("checked", "0.2.0")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert offline_chart(ReleaseSpec("r", "ns", str(empty), {}, chart_version="0.2.0")) is None


# --- a no-op from storage alone
@pytest.mark.parametrize("chart_ref, chart_repo_url", [
    ("repo/app", None), ("app", "https://charts.example"), ("oci://registry.example/charts/app", None),
    ("https://charts.example/app-0.1.0.tgz", None),
])
def test_an_unchanged_release_with_a_pinned_version_needs_no_chart(chart_ref, chart_repo_url):
    kube = StoredKube(record(1, "superseded", {"replicas": 1}), record(2, "deployed", {"replicas": 2.0}))
    engine = RecordingEngine(kube, chart=None)
    result = run(kube, engine, chart_ref=chart_ref, chart_repo_url=chart_repo_url)
    assert not result["changed"] and result["status"] == "deployed" and result["revision"] == 2
    assert result["chart"] == "app-0.1.0" and result["values"] == {"replicas": 2}
    assert engine.calls == [] and kube.requests == ["list Secret owner=helm,name=app"]


def test_a_change_asks_the_engine_for_the_chart_first():
    kube = StoredKube(record(1, "deployed", {"replicas": 2}))
    engine = RecordingEngine(kube)
    assert run(kube, engine, values={"replicas": 3})["revision"] == 2
    assert engine.calls == ["chart_metadata", "upgrade_install"]


@pytest.mark.parametrize("chart_version", [None, "~0.1", "v0.1.0"])
def test_a_version_the_request_does_not_pin_exactly_is_the_engines_to_resolve(chart_version):
    kube = StoredKube(record(1, "deployed", {"replicas": 2}))
    engine = RecordingEngine(kube)
    assert not run(kube, engine, chart_version=chart_version)["changed"]
    engine.chart = ("app", "0.1.1")  # a newer chart in the repository
    assert run(kube, engine, chart_version=chart_version)["changed"]
    assert engine.calls == ["chart_metadata", "chart_metadata", "upgrade_install"]


def test_a_pinned_version_other_than_the_deployed_one_is_upgraded_to():
    kube = StoredKube(record(1, "deployed", {"replicas": 2}))
    engine = RecordingEngine(kube, chart=("app", "0.2.0"))
    assert run(kube, engine, chart_version="0.2.0")["chart"] == "app-0.2.0"
    assert engine.calls == ["chart_metadata", "upgrade_install"]


# --- storage history
def test_history_lists_every_revision_with_its_status_and_creation_time():
    secrets = [record(2, "pending-upgrade", {}, created="2024-05-01T12:09:50Z"), record(1, "deployed", {}), {"type": "Opaque"}]
    assert storage.history(secrets) == [{"revision": 1, "status": "deployed", "created": NOW - 600},
                                        {"revision": 2, "status": "pending-upgrade", "created": NOW - 10}]
    assert storage.history([record(1, "deployed", {}, created=None)])[0]["created"] is None


@pytest.mark.parametrize("statuses, before, expected", [
    (["deployed", "pending-upgrade"], 2, 1),
    (["superseded", "deployed", "pending-rollback"], 3, 2),
    (["superseded", "failed", "pending-upgrade"], 3, 1),
    (["failed", "pending-upgrade"], 2, None),
    (["pending-install"], 1, None),
])
def test_the_last_deployed_revision_is_the_newest_that_ran(statuses, before, expected):
    entries = [{"revision": number, "status": status, "created": None} for number, status in enumerate(statuses, 1)]
    assert storage.last_deployed(entries, before) == expected


# --- pending releases
def test_a_pending_upgrade_is_rolled_back_to_the_deployed_revision_then_upgraded():
    kube = StoredKube(record(1, "deployed", {"replicas": 1}), record(2, "pending-upgrade", {"replicas": 5}))
    engine = RecordingEngine(kube)
    result = run(kube, engine)
    assert engine.calls == ["rollback 1", "chart_metadata", "upgrade_install"]
    assert result["recovered"] == {"action": "rollback", "from_status": "pending-upgrade", "from_revision": 2, "to_revision": 1,
                                   "message": "release ns/app is pending-upgrade (revision 2): rolled back to revision 1"}
    assert result["changed"] and result["status"] == "deployed" and result["revision"] == 4
    assert kube.revisions() == [(1, "superseded"), (2, "pending-upgrade"), (3, "superseded"), (4, "deployed")]
    assert kube.stored(3)["config"] == {"replicas": 1} and kube.stored(4)["config"] == {"replicas": 2}


def test_a_first_install_left_pending_is_uninstalled_then_installed():
    kube = StoredKube(record(1, "pending-install", {"replicas": 2}))
    engine = RecordingEngine(kube)
    result = run(kube, engine)
    assert engine.calls == ["uninstall wait=True", "chart_metadata", "upgrade_install"]
    assert result["recovered"] == {"action": "uninstall", "from_status": "pending-install", "from_revision": 1, "to_revision": None,
                                   "message": "release ns/app is pending-install (revision 1): uninstalled it"}
    assert result["status"] == "deployed" and result["revision"] == 1 and kube.revisions() == [(1, "deployed")]


def test_an_interrupted_rollback_is_rolled_back_to_the_revision_deployed_before_it():
    kube = StoredKube(record(1, "superseded", {"replicas": 1}), record(2, "deployed", {"replicas": 2}),
                      record(3, "pending-rollback", {"replicas": 1}))
    engine = RecordingEngine(kube, chart=None)
    result = run(kube, engine)
    # Revision 2 holds what the task asks for: once it is restored there is nothing to upgrade, but the task changed it.
    assert engine.calls == ["rollback 2"]
    assert result["recovered"]["action"] == "rollback" and result["recovered"]["to_revision"] == 2
    assert result["changed"] and result["status"] == "deployed" and result["revision"] == 4


@pytest.mark.parametrize("secrets, advice", [
    ([record(1, "deployed", {}), record(2, "pending-upgrade", {})],
     "release ns/app is pending-upgrade (revision 2): another operation is in progress or was interrupted. Wait for it, "
     "or roll back to revision 1, the last deployed one (helm rollback app 1 --namespace ns), or set recover_pending to let "
     "this task do so."),
    ([record(1, "pending-install", {})],
     "release ns/app is pending-install (revision 1): another operation is in progress or was interrupted. Wait for it, "
     "or uninstall it (helm uninstall app --namespace ns), as it was never deployed, or set recover_pending to let this task do so."),
])
def test_without_recover_pending_the_failure_names_the_real_way_out(secrets, advice):
    kube = StoredKube(*secrets)
    engine = RecordingEngine(kube)
    with pytest.raises(ReleaseFailure) as raised:
        run(kube, engine, recover_pending=False)
    assert str(raised.value) == advice
    assert raised.value.result["status"] == secrets[-1]["metadata"]["labels"]["status"] and not raised.value.done
    assert engine.calls == [] and not raised.value.result["changed"]


def test_a_pending_record_younger_than_wait_timeout_may_be_a_running_operation_and_is_left_alone():
    kube = StoredKube(record(1, "pending-install", {}, created="2024-05-01T12:09:50Z"))
    engine = RecordingEngine(kube)
    with pytest.raises(ReleaseFailure) as raised:
        run(kube, engine, wait_timeout=60)
    assert str(raised.value).startswith("release ns/app is pending-install (revision 1), written 10s ago: another operation "
                                        "may still be running (recover_pending leaves a pending record alone until it is older "
                                        "than wait_timeout, 60s). Run the task again once it has ended (an interrupted one "
                                        "is recovered in 51s), or uninstall it")
    assert engine.calls == []
    assert run(kube, engine, wait_timeout=60, now=NOW + 50)["recovered"]["action"] == "uninstall"


def test_check_mode_reports_the_recovery_it_would_make_and_writes_nothing():
    kube = StoredKube(record(1, "deployed", {"replicas": 1, "auth": {"password": "old"}}), record(2, "pending-upgrade", {"replicas": 5}))
    engine = RecordingEngine(kube)
    result = run(kube, engine, check_mode=True, values={"replicas": 2, "auth": {"password": "new"}})
    assert engine.calls == [] and kube.revisions() == [(1, "deployed"), (2, "pending-upgrade")]
    assert result["changed"] and result["status"] == "planned"
    assert result["recovered"]["message"] == "release ns/app is pending-upgrade (revision 2): would roll back to revision 1"
    values_diff, note = result["diff"]
    assert values_diff["before_header"] == "values (revision 1, app-0.1.0)" and "replicas: 1" in values_diff["before"]
    assert "replicas: 2" in values_diff["after"] and "old" not in values_diff["before"] and "new" not in values_diff["after"]
    assert note == {"prepared": "release ns/app is pending-upgrade (revision 2): would roll back to revision 1, then apply the request\n"}
    first = StoredKube(record(1, "pending-install", {}))
    planned = run(first, RecordingEngine(first), check_mode=True)
    assert planned["recovered"]["action"] == "uninstall" and planned["diff"][0]["before_header"] == "values (not installed)"


def test_a_failure_after_the_recovery_reports_the_recovery_as_done():
    kube = StoredKube(record(1, "deployed", {"replicas": 1}), record(2, "pending-upgrade", {"replicas": 5}))
    engine = RecordingEngine(kube)

    def refuse(spec, dry_run=False):
        raise HelmEngineError("helm upgrade failed: chart requires kubeVersion >=1.40")

    engine.upgrade_install = refuse
    with pytest.raises(ReleaseFailure) as raised:
        run(kube, engine)
    assert raised.value.done == ["release ns/app is pending-upgrade (revision 2): rolled back to revision 1"]
    assert raised.value.result["recovered"]["to_revision"] == 1 and raised.value.result["changed"]


@pytest.mark.parametrize("secrets, left, calls, revision", [
    ([], "pending-install", ["uninstall wait=True"], 1),
    ([record(1, "deployed", {"replicas": 1})], "pending-upgrade", ["rollback 1"], 4),
])
def test_an_attempt_that_fails_half_way_is_recovered_before_the_next(secrets, left, calls, revision):
    kube = StoredKube(*secrets)
    engine = RecordingEngine(kube)
    install = engine.upgrade_install

    def interrupted_once(spec, dry_run=False):
        if engine.calls.count("upgrade_install") == 0:
            engine.calls.append("upgrade_install")
            kube.add(left, spec.values)  # Helm stored the pending record, then a request failed
            raise HelmTransient("helm upgrade failed: the server is currently unable to handle the request")
        return install(spec, dry_run)

    engine.upgrade_install = interrupted_once
    sleeps = []
    spec = ReleaseSpec("app", "ns", "repo/app", {"replicas": 2}, chart_version="0.1.0")
    options = ReleaseOptions(state="present", atomic=False, wait=False, wait_timeout=300)
    result = ReleaseRunner(engine, kube, spec, options, sleep=sleeps.append, wall_clock=lambda: NOW).run()
    assert engine.calls == ["chart_metadata", "upgrade_install"] + calls + ["upgrade_install"] and len(sleeps) == 1
    assert result["status"] == "deployed" and result["revision"] == revision and "recovered" not in result

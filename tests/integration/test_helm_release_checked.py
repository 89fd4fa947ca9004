"""helm_release_checked on the sandbox, with the Helm Go SDK engine; state checked with the kubernetes client and Helm's SDK."""

import base64
import calendar
import contextlib
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import helm_python
import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.rest import ApiException

REPO = Path(__file__).resolve().parents[2]
CHART = str(REPO / "tests" / "charts" / "checked")
PLAYBOOK = "tests/integration/playbooks/helm_release_checked/release.yml"


@pytest.fixture(scope="module")
def apps(sandbox):
    return k8s_client.AppsV1Api(k8s_config.new_client_from_config(config_file=str(sandbox.kubeconfig)))


@pytest.fixture(scope="module")
def core(sandbox):
    return k8s_client.CoreV1Api(k8s_config.new_client_from_config(config_file=str(sandbox.kubeconfig)))


@pytest.fixture()
def release(sandbox, run_playbook, tmp_path):
    """A fresh release name and namespace; run(**vars, check=False, diff=False) returns the task result."""
    name = "rel-%s" % uuid.uuid4().hex[:6]
    namespace = "hrc-%s" % name

    def run(check=False, diff=False, **variables):
        variables = dict({"release": name, "release_ns": namespace, "chart": CHART, "engine": "sdk"}, **variables)
        vars_file = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:6])
        vars_file.write_text(json.dumps(variables), encoding="utf-8")
        args = ["-e", "@%s" % vars_file] + (["--check"] if check else []) + (["--diff"] if diff else [])
        result = run_playbook(PLAYBOOK, *args, extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
        report = json.loads(result.stdout[result.stdout.index("{"):])
        task = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
        task["_rc"] = result.rc
        return task

    run.name, run.namespace = name, namespace
    yield run
    helm = helm_python.Config(kubeconfig_path=str(sandbox.kubeconfig), namespace=namespace)
    helm.uninstall(name, ignore_not_found=True)
    helm.close()


def helm_config(sandbox, namespace):
    return helm_python.Config(kubeconfig_path=str(sandbox.kubeconfig), namespace=namespace)


def set_faults(sandbox, **faults):
    sandbox.kube_admin("config", method="PUT", body={"faults": faults})


@pytest.fixture()
def clean_faults(sandbox):
    yield
    set_faults(sandbox, error_rate=0.0, never_ready=[], failing_jobs=[])


def test_install_then_same_again_is_ok_and_an_unchanged_release_costs_two_requests(sandbox, release, apps):
    first = release(release_values={"replicaCount": 2}, preflight={"kube_version": ">=1.24,<1.33"})
    assert first["_rc"] == 0, first["msg"]
    assert first["changed"] and first["status"] == "deployed" and first["revision"] == 1
    assert first["chart"] == "checked-0.2.0" and first["app_version"] == "2.0.0"
    assert {"kind": "Deployment", "api_version": "apps/v1", "namespace": release.namespace, "name": release.name + "-app"} in first["resources"]
    assert [check["passed"] for check in first["checks"]] == [True, True]
    assert apps.read_namespaced_deployment(release.name + "-app", release.namespace).spec.replicas == 2

    sandbox.kube_admin("requests/reset", method="POST")
    second = release(release_values={"replicaCount": 2.0}, preflight={"kube_version": ">=1.24,<1.33"})
    assert second["_rc"] == 0 and not second["changed"], second
    assert second["api_requests"] == 2  # /version for the preflight, one list of Helm's storage Secrets
    assert sandbox.kube_writes() == 0
    assert [entry["revision"] for entry in helm_config(sandbox, release.namespace).history(release.name)] == [1]


def test_check_mode_reports_the_change_with_a_masked_diff_and_stores_nothing(sandbox, release):
    assert release(release_values={"replicaCount": 1}, release_secret_values={"auth": {"adminPassword": "first-secret"}})["_rc"] == 0
    sandbox.kube_admin("requests/reset", method="POST")
    planned = release(check=True, diff=True, release_values={"replicaCount": 3},
                      release_secret_values={"auth": {"adminPassword": "second-secret"}})
    assert planned["_rc"] == 0 and planned["changed"] and planned["status"] == "planned", planned
    values_diff, manifest_diff = planned["diff"]
    assert "replicaCount: 3" in values_diff["after"] and "replicaCount: 1" in values_diff["before"]
    assert "-  replicas: 1\n+  replicas: 3" in manifest_diff["prepared"]
    assert "admin-password: '******** (changed)'" in manifest_diff["prepared"]
    serialized = json.dumps(planned)
    assert "second-secret" not in serialized and "first-secret" not in serialized
    assert "c2Vjb25kLXNlY3JldA" not in serialized  # base64 of the new password
    assert sorted(planned["changed_resources"]) == sorted([
        "Deployment/%s/%s-app" % (release.namespace, release.name), "Secret/%s/%s-auth" % (release.namespace, release.name),
        "Job/%s/%s-validation-1" % (release.namespace, release.name), "Job/%s/%s-validation-2" % (release.namespace, release.name)])
    history = helm_config(sandbox, release.namespace).history(release.name)
    assert [entry["revision"] for entry in history] == [1]
    assert sandbox.kube_writes() == 0


@pytest.mark.parametrize("version", ["v1.23.17", "v1.33.0"])
def test_preflight_outside_the_version_range_fails_before_any_write(sandbox, release, version):
    before = sandbox.kube_admin("config")["version"]
    sandbox.kube_admin("config", method="PUT", body={"version": version})
    try:
        sandbox.kube_admin("requests/reset", method="POST")
        result = release(preflight={"kube_version": ">=1.24,<1.33", "required_crds": ["widgets.nowhere.example"],
                                    "required_namespaces": ["absent-ns"], "required_secrets": ["default/absent-secret"]})
    finally:
        sandbox.kube_admin("config", method="PUT", body={"version": before})
    assert result["_rc"] != 0 and result["msg"].startswith("preflight failed, nothing was changed")
    assert result["preflight"] == [
        "Kubernetes %s is outside the supported range >=1.24,<1.33" % version,
        "CustomResourceDefinition widgets.nowhere.example is missing",
        "namespace absent-ns is missing",
        "secret default/absent-secret is missing",
    ]
    assert sandbox.kube_writes() == 0


def test_failing_validation_job_with_atomic_restores_the_previous_revision_and_values(sandbox, release, apps, clean_faults):
    assert release(release_values={"replicaCount": 1, "message": "v1"})["_rc"] == 0
    set_faults(sandbox, failing_jobs=["%s-validation-2" % release.name])
    sandbox.kube_admin("config", method="PUT", body={"job_logs": {"%s-validation-2" % release.name: "schema check: FAILED\n"}})
    result = release(atomic=True, release_values={"replicaCount": 2, "message": "v2"},
                     validation_jobs=[{"label_selector": "app.kubernetes.io/instance=%s,app.kubernetes.io/component=validation" % release.name,
                                       "log_pattern": "passed"}])
    assert result["_rc"] != 0
    assert "check failed after upgrade" in result["msg"] and "rolled back to revision 1" in result["msg"]
    failed = result["failed_checks"]
    # The job is one of the release's workloads too, so its readiness check fails with it.
    assert [(check["type"], check["name"].split(" ")[0]) for check in failed] == [("workload", "Job"), ("validation_job", "validation")]
    assert "schema check: FAILED" in failed[1]["logs"]
    assert result["rollback"]["action"] == "rollback" and result["rollback"]["to_revision"] == 1
    helm = helm_config(sandbox, release.namespace)
    history = helm.history(release.name)
    assert [entry["revision"] for entry in history] == [1, 2, 3] and history[-1]["status"] == "deployed"
    assert helm.get_values(release.name) == {"replicaCount": 1, "message": "v1"}
    assert apps.read_namespaced_deployment(release.name + "-app", release.namespace).spec.replicas == 1


def test_a_workload_that_never_becomes_ready_fails_within_wait_timeout_and_is_rolled_back(sandbox, release, clean_faults):
    assert release(release_values={"message": "v1"})["_rc"] == 0
    set_faults(sandbox, never_ready=["%s/%s-app" % (release.namespace, release.name)])
    result = release(atomic=True, wait_timeout=6, release_values={"message": "v2"})
    assert result["_rc"] != 0
    workload_check = [check for check in result["failed_checks"] if check["type"] == "workload"][0]
    assert workload_check["detail"].startswith("not ready in time")
    assert 5.0 <= workload_check["duration"] < 60
    assert result["rollback"]["action"] == "rollback"
    assert helm_config(sandbox, release.namespace).get_values(release.name) == {"message": "v1"}


def test_a_failed_first_install_with_atomic_is_removed(sandbox, release, core, clean_faults):
    set_faults(sandbox, failing_jobs=["%s-validation-1" % release.name])
    result = release(atomic=True, validation_jobs=[{"name": "%s-validation-1" % release.name}])
    assert result["_rc"] != 0 and result["rollback"]["action"] == "uninstall"
    assert core.list_namespaced_secret(release.namespace, label_selector="owner=helm,name=%s" % release.name).items == []


def test_absent_removes_the_release_and_is_idempotent(sandbox, release, apps, core):
    assert release()["_rc"] == 0
    removed = release(release_state="absent")
    assert removed["_rc"] == 0 and removed["changed"] and removed["status"] == "absent"
    assert core.list_namespaced_secret(release.namespace, label_selector="owner=helm,name=%s" % release.name).items == []
    assert apps.list_namespaced_deployment(release.namespace).items == []
    again = release(release_state="absent")
    assert again["_rc"] == 0 and not again["changed"]


def test_converges_with_ten_percent_of_requests_failing(sandbox, release, apps, clean_faults):
    # An install makes a few dozen requests, so at this rate most attempts meet a fault: allow more of them
    # than the default 4, or the test fails now and then when every attempt does.
    set_faults(sandbox, error_rate=0.1, error_codes=[500, 503])
    result = release(release_values={"replicaCount": 2}, transient_attempts=10)
    set_faults(sandbox, error_rate=0.0)
    assert result["_rc"] == 0, result.get("msg")
    assert result["status"] == "deployed"
    assert apps.read_namespaced_deployment(release.name + "-app", release.namespace).status.ready_replicas == 2


def test_bad_input_fails_clearly_and_writes_nothing(sandbox, release):
    sandbox.kube_admin("requests/reset", method="POST")
    bad_range = release(preflight={"kube_version": ">=one"})
    assert bad_range["_rc"] != 0 and "preflight.kube_version: cannot parse '>=one'" in bad_range["msg"]
    no_chart = release(chart=None)
    assert no_chart["_rc"] != 0 and no_chart["msg"] == "chart_ref is required when state is present"
    both = release(validation_jobs=[{"name": "a", "label_selector": "b=c"}])
    assert both["_rc"] != 0 and "mutually exclusive" in both["msg"]
    no_attempt = release(transient_attempts=0)
    assert no_attempt["_rc"] != 0 and no_attempt["msg"] == "transient_attempts must be at least 1, got 0"
    not_bool = release(recover_pending="maybe")
    assert not_bool["_rc"] != 0 and "recover_pending" in not_bool["msg"]
    missing_chart = release(chart=str(REPO / "tests" / "charts" / "does-not-exist"))
    assert missing_chart["_rc"] != 0 and "does-not-exist" in missing_chart["msg"]
    assert sandbox.kube_writes() == 0


def test_an_unchanged_release_with_a_pinned_version_needs_no_chart(sandbox, release, tmp_path):
    chart = tmp_path / "checked"
    shutil.copytree(CHART, chart)
    preflight = {"kube_version": ">=1.24,<1.33"}
    first = release(chart=str(chart), chart_version="0.2.0", preflight=preflight)
    assert first["_rc"] == 0, first["msg"]
    shutil.rmtree(chart)  # from now on, a task that needs the chart fails
    sandbox.kube_admin("requests/reset", method="POST")
    for check in (True, False):
        same = release(check=check, chart=str(chart), chart_version="0.2.0", preflight=preflight)
        assert same["_rc"] == 0 and not same["changed"] and same["status"] == "deployed", same
        assert same["chart"] == "checked-0.2.0" and same["revision"] == 1
    requests = [(entry["method"], entry["path"]) for entry in sandbox.kube_admin("requests")["entries"]]
    assert requests == [("GET", "/version"), ("GET", "/api/v1/namespaces/%s/secrets" % release.namespace)] * 2
    # Unpinned, only the chart can say which version the request means, and it is gone.
    unpinned = release(chart=str(chart), preflight=preflight)
    assert unpinned["_rc"] != 0 and str(chart) in unpinned["msg"]
    assert sandbox.kube_writes() == 0


def start_playbook(sandbox, variables, vars_file):
    """ansible-playbook as run_playbook runs it, but in the background and in a process group of its own."""
    vars_file.write_text(json.dumps(variables), encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, SANDBOX_DIR=str(sandbox.dir), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, PATH="%s%s%s" % (bin_dir, os.pathsep, os.environ.get("PATH", "")))
    return subprocess.Popen([str(bin_dir / "ansible-playbook"), PLAYBOOK, "-i", "inventories/sandbox", "-e", "@%s" % vars_file],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def stored_revisions(core, release):
    """(revision, status, creation time) of the release's storage Secrets, read with the kubernetes client."""
    try:
        secrets = core.list_namespaced_secret(release.namespace, label_selector="owner=helm,name=%s" % release.name).items
    except ApiException:
        return []
    return sorted((int(item.metadata.labels["version"]), item.metadata.labels["status"],
                   calendar.timegm(item.metadata.creation_timestamp.utctimetuple())) for item in secrets)


def descendants(pid):
    """The processes below pid, from /proc: ansible's workers start sessions of their own, out of the playbook's group."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:  # gone meanwhile
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, below = [], [pid]
    while below:
        grandchildren = children.get(below.pop(), [])
        found += grandchildren
        below += grandchildren
    return found


def kill_when_pending(core, release, playbook):
    """SIGKILL the playbook, its workers and the module the moment the release's first record is stored pending-install.

    A watch, delayed once when it starts, then hears of the record as soon as it is stored, while Helm's next
    requests (its resources, then the record marked deployed) are still held up by the latency.
    """
    events = k8s_watch.Watch()
    try:
        for event in events.stream(core.list_secret_for_all_namespaces, label_selector="owner=helm,name=%s" % release.name,
                                   timeout_seconds=120):
            if event["object"].metadata.labels.get("status") == "pending-install":
                groups = set()
                for pid in [playbook.pid] + descendants(playbook.pid):
                    with contextlib.suppress(ProcessLookupError):
                        groups.add(os.getpgid(pid))
                for group in groups - {os.getpgrp()}:
                    os.killpg(group, signal.SIGKILL)
                return
    finally:
        events.stop()
        playbook.wait()
    raise AssertionError("the install was not caught pending")


def test_a_run_killed_mid_install_is_recovered_by_the_next(sandbox, release, core, apps, tmp_path):
    # Slowed down, an install spends seconds between storing its pending-install record and marking it deployed.
    set_faults(sandbox, latency_ms=1500)
    try:
        playbook = start_playbook(sandbox, {"release": release.name, "release_ns": release.namespace, "chart": CHART, "engine": "sdk"},
                                  tmp_path / "killed.json")
        kill_when_pending(core, release, playbook)
    finally:
        set_faults(sandbox, latency_ms=0)
    time.sleep(3)  # whatever the killed run had sent has been answered by now
    [(revision, status, created)] = stored_revisions(core, release)
    assert (revision, status) == (1, "pending-install")

    sandbox.kube_admin("requests/reset", method="POST")
    refused = release(recover_pending=False)
    assert refused["_rc"] != 0 and "helm rollback" not in refused["msg"], refused
    assert "pending-install (revision 1)" in refused["msg"] and "uninstall it (helm uninstall %s" % release.name in refused["msg"]
    young = release()  # wait_timeout 60: the record may still be a running install's
    assert young["_rc"] != 0 and "another operation may still be running" in young["msg"], young
    assert sandbox.kube_writes() == 0

    time.sleep(max(0, created + 16 - time.time()))  # older than the wait_timeout of the runs below
    planned = release(check=True, wait_timeout=15)
    assert planned["_rc"] == 0 and planned["changed"] and planned["status"] == "planned", planned
    assert planned["recovered"]["message"] == "release %s/%s is pending-install (revision 1): would uninstall it" % (
        release.namespace, release.name)
    assert sandbox.kube_writes() == 0 and [status for _r, status, _c in stored_revisions(core, release)] == ["pending-install"]

    recovered = release(wait_timeout=15)
    assert recovered["_rc"] == 0 and recovered["changed"], recovered
    assert recovered["recovered"] == {"action": "uninstall", "from_status": "pending-install", "from_revision": 1, "to_revision": None,
                                      "message": "release %s/%s is pending-install (revision 1): uninstalled it" % (
                                          release.namespace, release.name)}
    assert recovered["status"] == "deployed" and recovered["revision"] == 1
    assert [(revision, status) for revision, status, _created in stored_revisions(core, release)] == [(1, "deployed")]
    assert apps.read_namespaced_deployment(release.name + "-app", release.namespace).status.ready_replicas == 1

    sandbox.kube_admin("requests/reset", method="POST")
    again = release(wait_timeout=15)
    assert again["_rc"] == 0 and not again["changed"] and "recovered" not in again
    assert sandbox.kube_writes() == 0


def module_processes(pids):
    """Those of `pids` that still run a module (AnsiballZ), zombies left out."""
    running = []
    for pid in pids:
        try:
            state = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0]
            command = Path("/proc/%d/cmdline" % pid).read_bytes()
        except OSError:
            continue
        if state not in ("Z", "X") and b"AnsiballZ_" in command:
            running.append(pid)
    return running


def test_the_module_stops_when_only_ansible_playbook_is_killed(sandbox, release, core, tmp_path):
    """SIGKILL ansible-playbook alone (not its workers, as the OOM killer or `kill -9 <pid>` would): the module
    below it sees the run gone and stops within seconds instead of finishing the install."""
    set_faults(sandbox, latency_ms=1500)
    try:
        playbook = start_playbook(sandbox, {"release": release.name, "release_ns": release.namespace, "chart": CHART, "engine": "sdk"},
                                  tmp_path / "killed.json")
        events = k8s_watch.Watch()
        for event in events.stream(core.list_secret_for_all_namespaces, label_selector="owner=helm,name=%s" % release.name,
                                   timeout_seconds=120):
            if event["object"].metadata.labels.get("status") == "pending-install":
                break
        events.stop()
        below = descendants(playbook.pid)
        assert module_processes(below), "no module ran below the playbook"
        os.kill(playbook.pid, signal.SIGKILL)
        playbook.wait()
        deadline = time.monotonic() + 10
        while module_processes(below) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert module_processes(below) == []
    finally:
        set_faults(sandbox, latency_ms=0)
        for pid in descendants(playbook.pid) if playbook.poll() is None else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    time.sleep(3)
    # Stopped mid-install: the record stays pending-install, never marked deployed by a run nobody watches (the
    # next run's recovery of such a record: test_a_run_killed_mid_install_is_recovered_by_the_next).
    assert [status for _revision, status, _created in stored_revisions(core, release)] == ["pending-install"]


def test_a_release_left_pending_upgrade_is_rolled_back_then_upgraded(sandbox, release, core):
    assert release(release_values={"message": "v1"})["_rc"] == 0
    # What an upgrade interrupted half-way leaves: revision 1 still deployed, revision 2 stored pending-upgrade.
    [deployed] = core.list_namespaced_secret(release.namespace, label_selector="owner=helm,name=%s" % release.name).items
    record = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(deployed.data["release"]))))
    record.update(version=2, config={"message": "interrupted"})
    record["info"]["status"] = "pending-upgrade"
    packed = base64.b64encode(base64.b64encode(gzip.compress(json.dumps(record).encode()))).decode()
    core.create_namespaced_secret(release.namespace, k8s_client.V1Secret(
        type=deployed.type, data={"release": packed},
        metadata=k8s_client.V1ObjectMeta(name=deployed.metadata.name[:-1] + "2",
                                         labels=dict(deployed.metadata.labels, status="pending-upgrade", version="2"))))
    time.sleep(11)  # older than the wait_timeout below
    sandbox.kube_admin("requests/reset", method="POST")
    planned = release(check=True, wait_timeout=10, release_values={"message": "v3"})
    assert planned["_rc"] == 0 and planned["changed"] and planned["recovered"]["to_revision"] == 1, planned
    assert sandbox.kube_writes() == 0
    result = release(wait_timeout=10, release_values={"message": "v3"})
    assert result["_rc"] == 0 and result["changed"], result
    assert {key: result["recovered"][key] for key in ("action", "from_status", "from_revision", "to_revision")} == {
        "action": "rollback", "from_status": "pending-upgrade", "from_revision": 2, "to_revision": 1}
    history = helm_config(sandbox, release.namespace).history(release.name)
    # Helm's rollback (3, to 1) supersedes the deployed revision and leaves the interrupted one's record as it was.
    assert [(entry["revision"], entry["status"]) for entry in history] == [
        (1, "superseded"), (2, "pending-upgrade"), (3, "superseded"), (4, "deployed")]
    assert result["revision"] == 4 and helm_config(sandbox, release.namespace).get_values(release.name) == {"message": "v3"}


def test_values_under_credential_key_names_are_masked_in_the_diff_and_result(sandbox, release):
    values = {"joinkey": "join-1", "platform": {"masterKey": "master-1", "jwtSecretKey": "jwt-1"}, "existingSecret": "app-auth"}
    planned = release(check=True, diff=True, release_values=values)
    assert planned["_rc"] == 0 and planned["changed"], planned
    assert planned["values"] == {"joinkey": "********", "platform": {"masterKey": "********", "jwtSecretKey": "********"},
                                 "existingSecret": "app-auth"}
    shown = json.dumps([planned["diff"], planned["values"]])
    assert not any(secret in shown for secret in ("join-1", "master-1", "jwt-1")) and "app-auth" in shown

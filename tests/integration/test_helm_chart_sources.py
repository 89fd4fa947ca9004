"""helm_release_checked installs from a password-protected chart repository and from an OCI registry (the chart
emulator, tests/sandbox/charts), caches pinned charts, and decides a no-op with the repository stopped; state
checked with Helm's SDK and the emulators' request logs."""

import json
import os
import uuid

import helm_python
import pytest

from tests.sandbox.charts import testing
from tests.sandbox.processes import REPO

PLAYBOOK = "tests/integration/playbooks/helm_chart_sources/release.yml"


@pytest.fixture(scope="module")
def charts():
    with testing.running() as served:
        yield served


@pytest.fixture()
def release(sandbox, run_playbook, charts, tmp_path):
    """A fresh release and chart cache; run(**vars) returns the task's result (with verbose=True, the whole output).

    The chart repository's user, password and CA are set unless a test overrides them; None leaves an option out.
    """
    name = "src-%s" % uuid.uuid4().hex[:6]
    cache = tmp_path / "chart-cache"

    def run(check=False, diff=False, verbose=False, **variables):
        variables = dict({"release": name, "release_ns": "hcs-" + name, "chart_cache_dir": str(cache), "chart_repo_username": charts.username,
                          "chart_repo_password": charts.password, "chart_repo_ca_file": charts.ca_file}, **variables)
        vars_file = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:6])
        vars_file.write_text(json.dumps({key: value for key, value in variables.items() if value is not None}), encoding="utf-8")
        args = ["-e", "@%s" % vars_file] + (["--check"] if check else []) + (["--diff"] if diff else []) + (["-vvv"] if verbose else [])
        result = run_playbook(PLAYBOOK, *args, extra_env={} if verbose else {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
        if verbose:
            return result
        task = json.loads(result.stdout[result.stdout.index("{"):])["plays"][0]["tasks"][0]["hosts"]["localhost"]
        task["_rc"] = result.rc
        return task

    run.name, run.namespace, run.cache = name, "hcs-" + name, cache
    yield run
    with helm_python.Config(kubeconfig_path=str(sandbox.kubeconfig), namespace=run.namespace) as helm:
        helm.uninstall(name, ignore_not_found=True)


def repository(charts, version="0.2.0"):
    return {"chart": "checked", "chart_repo_url": charts.repo_url, "chart_version": version}


def registry(charts, version="0.3.0"):
    return {"chart": charts.oci + "/checked", "chart_version": version}


def revisions(sandbox, release):
    with helm_python.Config(kubeconfig_path=str(sandbox.kubeconfig), namespace=release.namespace) as helm:
        return [(entry["revision"], entry["chart_version"]) for entry in helm.history(release.name)]


def test_install_from_the_password_protected_repository_pulls_once_then_a_no_op_needs_no_repository(sandbox, charts, release, tmp_path):
    charts.reset_requests()
    sandbox.kube_admin("requests/reset", method="POST")
    planned = release(check=True, diff=True, release_values={"replicaCount": 2}, **repository(charts))
    assert planned["_rc"] == 0 and planned["changed"] and planned["status"] == "planned", planned
    assert "replicaCount: 2" in planned["diff"][0]["after"] and "+  replicas: 2" in planned["diff"][1]["prepared"]
    assert charts.password not in json.dumps(planned)
    assert sandbox.kube_writes() == 0
    installed = release(release_values={"replicaCount": 2}, **repository(charts))
    assert installed["_rc"] == 0 and installed["changed"] and installed["chart"] == "checked-0.2.0", installed
    log = charts.requests()
    assert log["downloads"] == 1  # the plan pulled it into the cache; the install read it from there
    assert {entry["user"] for entry in log["entries"]} == {charts.username}
    assert [os.stat(release.cache).st_mode & 0o777] == [0o700]
    assert revisions(sandbox, release) == [(1, "0.2.0")]

    charts.reset_requests()
    again = release(release_values={"replicaCount": 2}, **repository(charts))
    assert again["_rc"] == 0 and not again["changed"], again
    assert charts.requests()["total"] == 0

    charts.stop()
    try:
        offline = release(release_values={"replicaCount": 2}, chart_cache_dir=str(tmp_path / "empty-cache"), **repository(charts))
        assert offline["_rc"] == 0 and not offline["changed"], offline  # decided from Helm's storage alone
        replanned = release(check=True, release_values={"replicaCount": 3}, **repository(charts))
        assert replanned["_rc"] == 0 and replanned["changed"] and replanned["status"] == "planned", replanned  # from the cache
    finally:
        charts.start()
    assert revisions(sandbox, release) == [(1, "0.2.0")]


def test_install_from_the_oci_registry_then_upgrade_to_another_pinned_version(sandbox, charts, release):
    charts.reset_requests()
    installed = release(**registry(charts))
    assert installed["_rc"] == 0 and installed["changed"] and installed["chart"] == "checked-0.3.0", installed
    log = charts.requests()
    assert log["downloads"] == 1 and log["by_resource"]["token"] >= 1
    assert {entry["user"] for entry in log["entries"] if entry["status"] == 200} == {charts.username}
    assert release(**registry(charts))["changed"] is False
    downgraded = release(**registry(charts, version="0.2.0"))
    assert downgraded["_rc"] == 0 and downgraded["changed"] and downgraded["chart"] == "checked-0.2.0", downgraded
    assert revisions(sandbox, release) == [(1, "0.3.0"), (2, "0.2.0")]


@pytest.mark.parametrize("source", [repository, registry])
def test_a_wrong_password_fails_naming_the_source_writes_nothing_and_shows_no_password(sandbox, charts, release, source):
    sandbox.kube_admin("requests/reset", method="POST")
    result = release(chart_repo_password="wrong-" + charts.password, **source(charts))
    assert result["_rc"] != 0 and result["error"]["type"] == "ChartAccessDenied", result
    where = charts.repo_url if source is repository else charts.oci + "/checked"
    assert result["msg"].startswith("cannot pull chart ") and where in result["msg"] and "401" in result["msg"], result["msg"]
    assert sandbox.kube_writes() == 0
    assert not release.cache.exists() or os.listdir(release.cache) == []
    verbose = release(verbose=True, chart_repo_password="wrong-" + charts.password, **source(charts))
    assert verbose.rc != 0 and "ChartAccessDenied" in verbose.output
    assert charts.password not in verbose.output
    installed = release(verbose=True, **source(charts))
    assert installed.rc == 0 and charts.password not in installed.output


def test_tls_is_verified_against_chart_repo_ca_file_or_skipped_on_request(sandbox, charts, release):
    sandbox.kube_admin("requests/reset", method="POST")
    unverified = release(chart_repo_ca_file=None, **repository(charts))
    assert unverified["_rc"] != 0 and "certificate signed by unknown authority" in unverified["msg"], unverified
    assert charts.repo_url in unverified["msg"]
    assert sandbox.kube_writes() == 0
    insecure = release(chart_repo_ca_file=None, chart_repo_insecure=True, **registry(charts))
    assert insecure["_rc"] == 0 and insecure["chart"] == "checked-0.3.0", insecure


def test_a_version_that_is_not_pinned_is_pulled_every_run_and_never_cached(charts, release):
    charts.reset_requests()
    for _run in range(2):
        planned = release(check=True, chart="checked", chart_repo_url=charts.repo_url)
        assert planned["_rc"] == 0 and planned["chart"] == "checked-0.3.0", planned  # the latest
    assert charts.requests()["downloads"] == 2
    assert not release.cache.exists()


def test_bad_source_options_fail_before_anything_is_written(sandbox, charts, release):
    sandbox.kube_admin("requests/reset", method="POST")
    charts.reset_requests()
    half = release(chart_repo_password=None, **repository(charts))
    assert half["_rc"] != 0 and half["msg"] == "chart_repo_username and chart_repo_password go together", half
    local = release(chart=str(REPO / "tests" / "charts" / "checked"))
    assert local["_rc"] != 0 and "are for a chart from chart_repo_url or an oci:// registry" in local["msg"], local
    missing = release(chart_version="9.9.9", **{key: value for key, value in repository(charts).items() if key != "chart_version"})
    assert missing["_rc"] != 0 and "9.9.9" in missing["msg"] and charts.repo_url in missing["msg"], missing
    assert sandbox.kube_writes() == 0

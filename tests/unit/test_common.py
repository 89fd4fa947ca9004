"""The shared foundation: plugins/module_utils/common (errors, retry, module runner)."""

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.aws import errors as aws_errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import module as common_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.retry import Retry
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp import errors as gcp_errors
from tests.unit.fakes import FakeModule, ModuleExit

# --- errors


@pytest.mark.parametrize("system_kind, common_kind", [
    (aws_errors.NotFound, errors.NotFound), (aws_errors.Transient, errors.Transient),
    (gcp_errors.NotFound, errors.NotFound), (gcp_errors.PermissionDenied, errors.AuthError),
    (gcp_errors.ServiceDisabled, errors.AuthError), (gcp_errors.InvalidInput, errors.InvalidInput),
])
def test_a_system_kind_is_caught_as_the_common_kind(system_kind, common_kind):
    with pytest.raises(common_kind):
        raise system_kind("gone", operation="op")


def test_every_system_fails_with_one_payload_shape():
    shapes = {frozenset(error.as_dict()) - {"reason"} for error in (
        aws_errors.NotFound("m", code="NoSuchEntity", operation="get_role"),
        gcp_errors.NotFound("m", code=404, status="NOT_FOUND", reason="r", operation="GET x"),
        errors.ApiError("m"))}
    assert shapes == {frozenset(("type", "code", "status", "operation", "message"))}


def test_str_names_the_operation_and_the_label():
    assert str(aws_errors.AWSError("denied", code="AccessDenied", operation="get_role")) == "get_role: AccessDenied: denied"
    assert str(gcp_errors.GCPError("no", code=404, status="NOT_FOUND", operation="GET v1/x")) == "GET v1/x: NOT_FOUND: no"
    assert str(errors.ApiError("plain")) == "plain"


def test_details_reach_the_payload_but_do_not_replace_its_keys():
    error = gcp_errors.ServiceDisabled("off", code=403, service="biglake.googleapis.com", consumer="projects/1")
    payload = error.as_dict()
    assert payload["service"] == "biglake.googleapis.com" and payload["code"] == 403
    assert payload["type"] == "ServiceDisabled"


# --- retry


class Flaky:
    """Raises the given errors in turn, then answers."""

    def __init__(self, *failures):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "answer"


def test_transient_errors_are_retried_within_a_full_jitter_window():
    sleeps, windows = [], []
    retry = Retry(5, base=0.5, cap=3.0, sleep=sleeps.append,
                  uniform=lambda low, high: windows.append((low, high)) or high)
    operation = Flaky(*[errors.Transient("busy")] * 4)
    assert retry.call(operation) == "answer"
    assert operation.calls == 5 and retry.retries == 4
    assert windows == [(0, 0.5), (0, 1.0), (0, 2.0), (0, 3.0)] and sleeps == [0.5, 1.0, 2.0, 3.0]


def test_attempts_are_bounded_and_the_last_error_says_how_many():
    sleeps = []
    operation = Flaky(*[errors.Transient("busy")] * 10)
    with pytest.raises(errors.Transient) as raised:
        Retry(3, sleep=sleeps.append).call(operation)
    assert operation.calls == 3 and len(sleeps) == 2 and raised.value.attempts == 3


def test_other_errors_are_raised_at_once():
    sleeps = []
    operation = Flaky(errors.NotFound("gone"))
    with pytest.raises(errors.NotFound):
        Retry(5, sleep=sleeps.append).call(operation)
    assert operation.calls == 1 and sleeps == []


def test_retry_after_is_honoured_up_to_the_cap():
    sleeps = []
    operation = Flaky(errors.Transient("slow down", retry_after="2"), errors.Transient("slow down", retry_after=60))
    Retry(3, cap=8.0, sleep=sleeps.append).call(operation)
    assert sleeps == [2.0, 8.0]


def test_the_time_budget_stops_further_attempts():
    now = [0.0]

    def sleep(seconds):
        now[0] += 10

    operation = Flaky(*[errors.Transient("busy")] * 10)
    with pytest.raises(errors.Transient):
        Retry(10, budget=25, sleep=sleep, clock=lambda: now[0]).call(operation)
    assert operation.calls == 4


def test_at_least_one_attempt():
    with pytest.raises(ValueError, match="attempts must be at least 1, got 0"):
        Retry(0)


# --- module runner


class CountingClient:
    def __init__(self):
        self.request_count = 3
        self.closed = False

    def close(self):
        self.closed = True


def run(ensure, client=None, make_client=None, count_requests=True):
    module = FakeModule(params={"name": "x"}, check_mode=True)
    with pytest.raises(ModuleExit) as exited:
        common_module.run_module(module, make_client or (lambda module: client), ensure, count_requests=count_requests)
    return module, exited.value


def test_success_exits_with_the_result_warnings_and_request_count():
    client = CountingClient()

    def ensure(client, params, check_mode):
        return {"changed": check_mode, "name": params["name"], "warnings": ["careful"]}

    module, exited = run(ensure, client)
    assert not exited.failed and exited.result == {"changed": True, "name": "x", "api_requests": 3}
    assert module.warnings == ["careful"] and client.closed


def test_failure_is_one_payload_with_what_was_done_before_it():
    client = CountingClient()

    def ensure(client, params, check_mode):
        error = aws_errors.Conflict("in use", code="DeleteConflict", operation="delete_role")
        error.done = ["detached policy p"]
        error.result = {"planned": ["delete role"]}
        raise error

    _module, exited = run(ensure, client)
    assert exited.failed and client.closed
    assert exited.result == {
        "msg": "delete_role: DeleteConflict: in use; already done before the failure: detached policy p",
        "error": {"type": "Conflict", "code": "DeleteConflict", "status": None, "operation": "delete_role",
                  "message": "in use"},
        "changes_made": ["detached policy p"], "changed": True, "planned": ["delete role"], "api_requests": 3}


def test_a_system_that_counts_no_requests_reports_none():
    _module, exited = run(lambda client, params, check_mode: {"changed": False}, object(), count_requests=False)
    assert exited.result == {"changed": False}


def test_a_client_that_could_not_be_made_made_no_requests():
    def make_client(module):
        raise errors.InvalidInput("set token, or a user and a password")

    _module, exited = run(lambda client, params, check_mode: {}, make_client=make_client)
    assert exited.failed and exited.result["api_requests"] == 0 and exited.result["changed"] is False


def test_a_missing_library_fails_with_its_traceback():
    def make_client(module):
        raise errors.MissingDependency("Failed to import the required Python library (boto3)", traceback="Traceback...")

    _module, exited = run(lambda client, params, check_mode: {}, make_client=make_client, count_requests=False)
    assert exited.failed and exited.result == {"msg": "Failed to import the required Python library (boto3)",
                                               "exception": "Traceback..."}


def test_build_module_appends_the_systems_constraints(monkeypatch):
    captured = {}
    monkeypatch.setattr(common_module, "AnsibleModule", lambda **kwargs: captured.update(kwargs) or "module")
    assert common_module.build_module({"token": {"type": "str"}}, {"name": {"type": "str"}},
                                      {"mutually_exclusive": [["a", "b"]]}, mutually_exclusive=[["c", "d"]]) == "module"
    assert captured == {"argument_spec": {"token": {"type": "str"}, "name": {"type": "str"}},
                        "supports_check_mode": True, "mutually_exclusive": [["c", "d"], ["a", "b"]]}

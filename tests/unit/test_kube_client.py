"""The Kubernetes client: its errors, its retries (common Retry), and kube/core's connection options."""

import json

import pytest
import urllib3
import yaml

from ansible_collections.mlplatform.selfhosted.plugins.doc_fragments.kube import ModuleDocFragment
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube import core
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube import errors as kube_errors
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.client import ConnectionSettings, KubeClient


class FakeResponse:
    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.data = (body if isinstance(body, str) else json.dumps(body or {})).encode("utf-8")
        self.headers = headers or {}
        self.reason = "reason %d" % status


class FakePool:
    """Answers the client's requests from a script: FakeResponses, or exceptions to raise."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def request(self, method, url, body=None, timeout=None, headers=None):
        self.calls.append((method, url))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture()
def make_client():
    """make_client(*answers, clock=None) -> (client, sleeps): a KubeClient on a scripted pool that never waits."""

    def make(*answers, clock=None):
        sleeps = []
        kwargs = {"clock": clock} if clock else {}
        client = KubeClient(ConnectionSettings(host="https://kube.example:6443", api_key="tok"), sleep=sleeps.append, **kwargs)
        client._pool = FakePool(*answers)
        return client, sleeps

    return make


def status(code, message):
    return FakeResponse(code, {"kind": "Status", "message": message})


# --- errors
@pytest.mark.parametrize("kind, common_kind", [
    (kube_errors.NotFound, errors.NotFound), (kube_errors.Conflict, errors.Conflict),
    (kube_errors.AuthError, errors.AuthError), (kube_errors.Transient, errors.Transient),
    (kube_errors.InvalidInput, errors.InvalidInput),
])
def test_a_kube_kind_is_caught_as_the_common_kind_and_as_a_kube_error(kind, common_kind):
    with pytest.raises(common_kind):
        raise kind("m")
    assert issubclass(kind, kube_errors.KubeError)


def test_the_message_is_the_whole_text_and_status_and_reason_reach_the_payload():
    error = kube_errors.NotFound("GET /api/v1/namespaces/x: not found (HTTP 404)", 404, "NotFound")
    assert str(error) == "GET /api/v1/namespaces/x: not found (HTTP 404)"
    assert (error.status, error.reason) == (404, "NotFound")
    assert error.as_dict() == {"type": "NotFound", "code": None, "status": 404, "operation": None,
                               "message": "GET /api/v1/namespaces/x: not found (HTTP 404)", "reason": "NotFound"}


# --- requests and retries
def test_an_answer_is_decoded_and_every_request_counted(make_client):
    client, sleeps = make_client(FakeResponse(200, {"gitVersion": "v1.30.6"}), FakeResponse(200, "log line\n"))
    assert client.version() == {"gitVersion": "v1.30.6"}
    assert client.pod_log("ns", "p", tail_lines=5) == "log line\n"
    assert client.request_count == 2 and sleeps == []
    assert client._pool.calls[1] == ("GET", "https://kube.example:6443/api/v1/namespaces/ns/pods/p/log?tailLines=5")


def test_transient_failures_are_retried_six_times_then_the_error_says_it_gave_up(make_client):
    client, sleeps = make_client(*[status(503, "etcd is busy")] * 6)
    with pytest.raises(kube_errors.Transient) as raised:
        client.version()
    assert str(raised.value) == "GET /version: gave up after 6 attempts: etcd is busy"
    assert raised.value.status == 503
    assert client.request_count == 6 and len(sleeps) == 5
    assert all(0 <= delay <= min(8.0, 0.4 * 2 ** number) for number, delay in enumerate(sleeps))


def test_retry_after_and_dropped_connections_are_retried(make_client):
    client, sleeps = make_client(FakeResponse(429, {"message": "slow down"}, {"Retry-After": "3"}),
                                 urllib3.exceptions.ProtocolError("connection reset"),
                                 FakeResponse(200, {"items": [{"metadata": {"name": "a"}}]}))
    assert client.list("Secret", "ns", label_selector="owner=helm") == [{"metadata": {"name": "a"}}]
    assert client.request_count == 3 and sleeps[0] == 3.0


def test_a_connection_that_keeps_failing_names_the_host(make_client):
    client, _sleeps = make_client(*[urllib3.exceptions.NewConnectionError(None, "refused")] * 6)
    with pytest.raises(kube_errors.Transient, match=r"^GET /version: gave up after 6 attempts: connection to "
                                                    r"https://kube.example:6443 failed"):
        client.version()


def test_the_time_budget_ends_the_retries(make_client):
    now = [0.0]

    def clock():
        now[0] += 40
        return now[0]

    client, _sleeps = make_client(*[status(500, "boom")] * 6, clock=clock)
    with pytest.raises(kube_errors.Transient, match="gave up after 2 attempts: boom"):
        client.version()


@pytest.mark.parametrize("code, kind, reason", [
    (404, kube_errors.NotFound, "NotFound"), (409, kube_errors.Conflict, "Conflict"),
    (401, kube_errors.AuthError, "Unauthorized"), (403, kube_errors.AuthError, "Forbidden"),
    (422, kube_errors.KubeError, None),
])
def test_other_errors_are_raised_at_once_with_method_path_and_code(make_client, code, kind, reason):
    client, sleeps = make_client(status(code, "refused"))
    with pytest.raises(kind) as raised:
        client.request("GET", "/api/v1/namespaces/ns/secrets/s")
    assert raised.value.as_dict()["type"] == kind.__name__ and not isinstance(raised.value, errors.Transient)
    assert str(raised.value) == "GET /api/v1/namespaces/ns/secrets/s: refused (HTTP %d)" % code
    assert (raised.value.status, raised.value.reason) == (code, reason)
    assert client.request_count == 1 and sleeps == []


def test_get_of_a_missing_object_is_none(make_client):
    client, _sleeps = make_client(status(404, "secrets \"s\" not found"))
    assert client.get("Secret", "s", "ns") is None


# --- kube/core
def test_connection_options_are_the_doc_fragments():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(core.CONNECTION_ARGUMENT_SPEC) == set(documented)
    for name, option in documented.items():
        spec = core.CONNECTION_ARGUMENT_SPEC[name]
        assert spec["type"] == option["type"] and spec.get("aliases") == option.get("aliases")
        assert spec.get("default") == option.get("default")


def test_connection_settings_expand_a_kubeconfig_path(monkeypatch):
    monkeypatch.setenv("HOME", "/home/someone")
    settings = core.connection_settings({"kubeconfig": "~/.kube/config", "context": "prod", "validate_certs": False})
    assert (settings.kubeconfig, settings.context, settings.validate_certs) == ("/home/someone/.kube/config", "prod", False)
    assert core.connection_settings({"kubeconfig": {"apiVersion": "v1"}}).kubeconfig == {"apiVersion": "v1"}


def test_without_the_kubernetes_library_the_client_is_a_missing_dependency(monkeypatch):
    monkeypatch.setattr(core, "HAS_KUBERNETES", False)
    monkeypatch.setattr(core, "KUBERNETES_IMPORT_ERROR", ImportError("No module named 'kubernetes'"))
    with pytest.raises(errors.MissingDependency) as raised:
        core.kube_client(ConnectionSettings(host="https://kube.example"))
    assert raised.value.message.startswith("Failed to import the required Python library (kubernetes)")
    assert raised.value.message.endswith(": No module named 'kubernetes'")

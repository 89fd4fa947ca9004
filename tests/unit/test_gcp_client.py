"""The GCP HTTP client: bounded retries on 429/5xx only, and Google's errors as typed exceptions."""

import json

import google.auth.exceptions
import pytest
import requests

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp import client as gcp_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp import errors

SERVICE_DISABLED = {"error": {
    "code": 403, "status": "PERMISSION_DENIED",
    "message": "BigLake API has not been used in project 123 before or it is disabled.",
    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                 "domain": "googleapis.com",
                 "metadata": {"service": "biglake.googleapis.com", "consumer": "projects/123"}}]}}


def response(status, payload=None, text=None):
    answer = requests.Response()
    answer.status_code = status
    answer._content = (json.dumps(payload) if payload is not None else (text or "")).encode()
    answer.reason = "reason"
    return answer


class FakeSession:
    """An AuthorizedSession stand-in answering from a list, recording each call."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []
        self.headers = {}
        self.verify = None

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_client(*answers):
    sleeps = []
    session = FakeSession(*answers)
    client = gcp_client.GCPClient(None, "http://emulator/biglake", sleep=sleeps.append, session=session)
    return client, session, sleeps


def test_paths_are_relative_to_the_endpoint_and_json_is_returned():
    client, session, sleeps = make_client(response(200, {"name": "x"}))
    assert client.get("v1/projects/p", params={"a": "b"}) == {"name": "x"}
    assert session.calls[0][:2] == ("GET", "http://emulator/biglake/v1/projects/p")
    assert session.calls[0][2]["params"] == {"a": "b"}
    assert sleeps == []


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_retried_then_succeed(status):
    client, session, sleeps = make_client(response(status, {"error": {"code": status, "message": "busy"}}),
                                          response(status, {}), response(200, {"ok": True}))
    assert client.get("v1/x") == {"ok": True}
    assert len(session.calls) == 3
    assert len(sleeps) == 2
    assert all(0 <= delay <= gcp_client.BACKOFF_CAP for delay in sleeps)


def test_retries_are_bounded_and_end_in_transient():
    unavailable = {"error": {"code": 503, "message": "down", "status": "UNAVAILABLE"}}
    client, session, sleeps = make_client(*[response(503, unavailable)] * 10)
    with pytest.raises(errors.Transient) as raised:
        client.get("v1/x")
    assert len(session.calls) == gcp_client.MAX_ATTEMPTS
    assert len(sleeps) == gcp_client.MAX_ATTEMPTS - 1
    assert raised.value.status == "UNAVAILABLE"


@pytest.mark.parametrize("status, payload, kind", [
    (400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "bad"}}, errors.GCPError),
    (400, {"error": {"code": 400, "status": "FAILED_PRECONDITION", "message": "not empty"}}, errors.FailedPrecondition),
    (401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "who"}}, errors.AuthError),
    (403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "no"}}, errors.PermissionDenied),
    (404, None, errors.NotFound),
    (409, {"error": {"code": 409, "status": "ALREADY_EXISTS", "message": "exists"}}, errors.Conflict),
    (409, {"error": {"code": 409, "status": "ABORTED", "message": "etag"}}, errors.Conflict),
])
def test_other_errors_are_typed_and_not_retried(status, payload, kind):
    client, session, sleeps = make_client(response(status, payload))
    with pytest.raises(kind) as raised:
        client.request("POST", "v1/x", body={})
    assert type(raised.value) is kind  # pylint: disable=unidiomatic-typecheck
    assert len(session.calls) == 1 and sleeps == []
    assert raised.value.code == status
    assert raised.value.operation == "POST v1/x"


def test_a_disabled_api_names_the_service_and_the_project():
    client = make_client(response(403, SERVICE_DISABLED))[0]
    with pytest.raises(errors.ServiceDisabled) as raised:
        client.get("v1/x")
    assert raised.value.service == "biglake.googleapis.com"
    assert isinstance(raised.value, errors.PermissionDenied)
    assert "the biglake.googleapis.com API is disabled in projects/123; enable biglake.googleapis.com" in str(raised.value)


def test_get_or_none_turns_only_not_found_into_none():
    client = make_client(response(404, text="Not Found"), response(403, SERVICE_DISABLED))[0]
    assert client.get_or_none("v1/x") is None
    with pytest.raises(errors.ServiceDisabled):
        client.get_or_none("v1/x")


def test_list_all_follows_page_tokens():
    client, session = make_client(response(200, {"items": [1, 2], "nextPageToken": "t"}), response(200, {"items": [3]}))[:2]
    assert client.list_all("v1/things", "items") == [1, 2, 3]
    assert session.calls[1][2]["params"] == {"pageToken": "t"}


def test_token_and_connection_failures_are_not_retried():
    client, sleeps = make_client(google.auth.exceptions.RefreshError("invalid_grant"),
                                 requests.exceptions.ConnectionError("refused"))[::2]
    with pytest.raises(errors.AuthError, match="could not get an access token: invalid_grant"):
        client.get("v1/x")
    with pytest.raises(errors.GCPError, match="cannot reach http://emulator/biglake/"):
        client.get("v1/x")
    assert sleeps == []


def test_a_token_endpoint_still_failing_after_google_auth_retries_is_retried_as_transient():
    """google-auth marks a throttled or failing token endpoint retryable; the bounded retry then covers it too."""
    throttled = google.auth.exceptions.RefreshError("temporarily_unavailable", retryable=True)
    client, session, sleeps = make_client(throttled, response(200, {"name": "x"}))
    assert client.get("v1/x") == {"name": "x"}
    assert len(session.calls) == 2 and len(sleeps) == 1
    client, session, sleeps = make_client(*[throttled] * gcp_client.MAX_ATTEMPTS)
    with pytest.raises(errors.Transient, match="could not get an access token"):
        client.get("v1/x")
    assert len(session.calls) == gcp_client.MAX_ATTEMPTS


def test_a_bad_key_is_invalid_input_before_any_call(tmp_path):
    with pytest.raises(errors.InvalidInput, match="needs service_account_file or service_account_contents"):
        gcp_client.build_credentials("serviceaccount")
    with pytest.raises(errors.InvalidInput, match="not a JSON service-account key"):
        gcp_client.build_credentials("serviceaccount", service_account_contents="{not json")
    broken = tmp_path / "key.json"
    broken.write_text(json.dumps({"type": "service_account"}), encoding="utf-8")
    with pytest.raises(errors.InvalidInput, match="not usable"):
        gcp_client.build_credentials("serviceaccount", service_account_file=str(broken))

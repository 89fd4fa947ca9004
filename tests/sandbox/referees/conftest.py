"""Fixtures the referees share: the emulator a test module runs against, started once per module.

A module sets KUBE_CONFIG (the kube emulator's settings) or GCP_SANDBOX (keyword arguments of the GCP
testing.gcp_sandbox) at its top; Keycloak referees share one emulator per test process, and each module
checks at its end that no response strayed from the OpenAPI document.
"""

import pytest

from tests.sandbox.gcp import testing as gcp_testing
from tests.sandbox.keycloak import testing as keycloak_testing
from tests.sandbox.kube import testing as kube_testing


@pytest.fixture(scope="module", name="kube")
def fixture_kube(request):
    with kube_testing.running(config=getattr(request.module, "KUBE_CONFIG", None)) as kube:
        yield kube


@pytest.fixture(scope="module", name="kc")
def fixture_kc():
    keycloak = keycloak_testing.shared()
    yield keycloak
    assert keycloak.requests()["schema_violations"] == 0


@pytest.fixture(scope="module", name="gcp")
def fixture_gcp(request):
    with gcp_testing.gcp_sandbox(**getattr(request.module, "GCP_SANDBOX", {})) as sandbox:
        yield sandbox


@pytest.fixture(scope="module", name="credentials")
def fixture_credentials(gcp):
    return gcp.admin_credentials()

"""Referee: every Admin API body the emulator sends or accepts matches the Keycloak 23 OpenAPI document.

The emulator runs in strict mode (a non-matching response becomes a 500 and is counted). On top
of that, this test validates every response it receives itself, with openapi-schema-validator
and the document exactly as published (no tightening), and checks that the walk touched every
admin route the emulator serves.
"""

import gzip
import re

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator

from tests.sandbox.keycloak import schema as kc_schema

REALM = "schema-walk"


@pytest.fixture(scope="module", name="document")
def fixture_document():
    with gzip.open(kc_schema.SPEC_FILE, "rt", encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # nosec - a safe loader either way


class Walker:
    """Calls the emulator and keeps every (method, path, status, body) for independent validation."""

    def __init__(self, kc):
        self.url = kc.url
        token = requests.post(f"{kc.url}/realms/master/protocol/openid-connect/token", timeout=10, data={
            "grant_type": "password", "client_id": "admin-cli", "username": kc.admin_username, "password": kc.admin_password})
        token.raise_for_status()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        self.calls = []

    def __call__(self, method, path, expect, body=None, **params):
        response = self.session.request(method, f"{self.url}{path}", json=body, params=params or None, timeout=10)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        payload = response.json() if response.content else None
        self.calls.append((method, path, response.status_code, payload))
        if response.status_code == 201:
            return response.headers["Location"].rsplit("/", 1)[-1]
        return payload


def _template_for(document, path):
    """The most specific document path template matching a concrete path."""
    best = None
    for template in document["paths"]:
        # group-by-path's {path} spans slashes (its schema pattern is `.*`).
        regex = re.escape(template).replace(r"\{path\}", ".+")
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", regex) + "$"
        if re.match(regex, path):
            score = [1 if s.startswith("{") else 0 for s in template.split("/")]
            if best is None or score < best[0]:
                best = (score, template)
    return best[1] if best else None


def _walk(call):
    """Touch every admin route the emulator serves, in an order that leaves nothing behind."""
    r = f"/admin/realms/{REALM}"
    call("GET", "/admin/realms", 200)
    call("GET", "/admin/realms", 200, briefRepresentation="true")
    call("POST", "/admin/realms", 201, {"realm": REALM, "enabled": True, "displayName": "Schema walk"})
    call("GET", r, 200)
    call("PUT", r, 204, {"displayName": "Schema walk, renamed", "registrationAllowed": False})
    call("GET", f"{r}/keys", 200)
    client = call("POST", f"{r}/clients", 201, {
        "clientId": "walker", "redirectUris": ["https://x.test/*"], "directAccessGrantsEnabled": True, "serviceAccountsEnabled": True})
    c = f"{r}/clients/{client}"
    call("GET", f"{r}/clients", 200)
    call("GET", f"{r}/clients", 200, clientId="walk", search="true", first="0", max="5")
    call("GET", c, 200)
    call("PUT", c, 204, {"clientId": "walker", "webOrigins": ["+"]})
    call("GET", f"{c}/client-secret", 200)
    call("POST", f"{c}/client-secret", 200)
    call("GET", f"{c}/service-account-user", 200)
    mapper = call("POST", f"{c}/protocol-mappers/models", 201, {
        "name": "aud", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
        "config": {"included.client.audience": "walker", "access.token.claim": "true"}})
    call("POST", f"{c}/protocol-mappers/add-models", 204, [{
        "name": "team", "protocol": "openid-connect", "protocolMapper": "oidc-hardcoded-claim-mapper",
        "config": {"claim.name": "team", "claim.value": "ml"}}])
    call("GET", f"{c}/protocol-mappers/models", 200)
    call("GET", f"{c}/protocol-mappers/models/{mapper}", 200)
    call("PUT", f"{c}/protocol-mappers/models/{mapper}", 204, {
        "id": mapper, "name": "aud", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
        "config": {"included.client.audience": "walker"}})
    call("GET", f"{c}/protocol-mappers/protocol/openid-connect", 200)
    call("DELETE", f"{c}/protocol-mappers/models/{mapper}", 204)
    scope = call("POST", f"{r}/client-scopes", 201, {"name": "groups", "protocol": "openid-connect"})
    s = f"{r}/client-scopes/{scope}"
    call("GET", f"{r}/client-scopes", 200)
    call("GET", s, 200)
    call("PUT", s, 204, {"name": "groups", "description": "group membership", "attributes": {"include.in.token.scope": "true"}})
    smapper = call("POST", f"{s}/protocol-mappers/models", 201, {
        "name": "groups", "protocol": "openid-connect", "protocolMapper": "oidc-group-membership-mapper",
        "config": {"claim.name": "groups", "full.path": "false", "access.token.claim": "true"}})
    call("POST", f"{s}/protocol-mappers/add-models", 204, [])
    call("GET", f"{s}/protocol-mappers/models", 200)
    call("GET", f"{s}/protocol-mappers/models/{smapper}", 200)
    call("PUT", f"{s}/protocol-mappers/models/{smapper}", 204, {
        "name": "groups", "protocolMapper": "oidc-group-membership-mapper", "config": {"claim.name": "groups", "full.path": "true"}})
    call("GET", f"{s}/protocol-mappers/protocol/openid-connect", 200)
    call("DELETE", f"{s}/protocol-mappers/models/{smapper}", 204)
    call("PUT", f"{c}/default-client-scopes/{scope}", 204)
    call("GET", f"{c}/default-client-scopes", 200)
    call("DELETE", f"{c}/default-client-scopes/{scope}", 204)
    call("PUT", f"{c}/optional-client-scopes/{scope}", 204)
    call("GET", f"{c}/optional-client-scopes", 200)
    call("DELETE", f"{c}/optional-client-scopes/{scope}", 204)
    call("PUT", f"{r}/default-default-client-scopes/{scope}", 204)
    call("GET", f"{r}/default-default-client-scopes", 200)
    call("DELETE", f"{r}/default-default-client-scopes/{scope}", 204)
    call("PUT", f"{r}/default-optional-client-scopes/{scope}", 204)
    call("GET", f"{r}/default-optional-client-scopes", 200)
    call("DELETE", f"{r}/default-optional-client-scopes/{scope}", 204)
    group = call("POST", f"{r}/groups", 201, {"name": "mlflow-admins", "attributes": {"team": ["ml"]}})
    g = f"{r}/groups/{group}"
    child = call("POST", f"{g}/children", 201, {"name": "owners"})
    call("GET", f"{r}/groups", 200)
    call("GET", f"{r}/groups", 200, search="own", briefRepresentation="false")
    call("GET", f"{r}/groups", 200, search="mlflow-admins", exact="true")
    call("GET", f"{r}/groups/count", 200)
    call("GET", g, 200)
    call("PUT", g, 204, {"name": "mlflow-admins", "attributes": {"team": ["ml", "ops"]}})
    call("GET", f"{g}/children", 200, first="0", max="10")
    call("GET", f"{r}/group-by-path/mlflow-admins/owners", 200)
    user = call("POST", f"{r}/users", 201, {
        "username": "Carol", "email": "carol@example.test", "enabled": True, "attributes": {"dept": ["ml"]}, "requiredActions": []})
    u = f"{r}/users/{user}"
    call("GET", f"{r}/users", 200)
    call("GET", f"{r}/users", 200, username="carol", exact="true")
    call("GET", f"{r}/users", 200, search="car", briefRepresentation="true", first="0", max="10")
    call("GET", f"{r}/users/count", 200)
    call("GET", u, 200)
    call("GET", u, 200, userProfileMetadata="true")
    call("PUT", u, 204, {"firstName": "Carol", "lastName": "Danvers"})
    call("PUT", f"{u}/reset-password", 204, {"type": "password", "value": "s3cret", "temporary": False})
    call("PUT", f"{u}/groups/{child}", 204)
    call("GET", f"{u}/groups", 200)
    call("GET", f"{u}/groups", 200, briefRepresentation="false")
    call("GET", f"{u}/groups/count", 200)
    call("GET", f"/admin/realms/{REALM}/groups/{child}/members", 200)
    call("DELETE", f"{u}/groups/{child}", 204)
    call("POST", f"{r}/roles", 201, {"name": "mlflow-admin", "description": "MLflow administrators"})
    call("GET", f"{r}/roles", 200)
    call("GET", f"{r}/roles", 200, search="mlflow", briefRepresentation="false")
    role = call("GET", f"{r}/roles/mlflow-admin", 200)
    call("PUT", f"{r}/roles/mlflow-admin", 204, {"name": "mlflow-admin", "description": "MLflow admins"})
    call("POST", f"{c}/roles", 201, {"name": "viewer"})
    call("GET", f"{c}/roles", 200)
    client_role = call("GET", f"{c}/roles/viewer", 200)
    call("PUT", f"{c}/roles/viewer", 204, {"name": "viewer", "attributes": {"level": ["1"]}})
    for holder in (u, g):
        call("POST", f"{holder}/role-mappings/realm", 204, [role])
        call("POST", f"{holder}/role-mappings/clients/{client}", 204, [client_role])
        call("GET", f"{holder}/role-mappings", 200)
        call("GET", f"{holder}/role-mappings/realm", 200)
        call("GET", f"{holder}/role-mappings/realm/available", 200)
        call("GET", f"{holder}/role-mappings/realm/composite", 200)
        call("GET", f"{holder}/role-mappings/clients/{client}", 200)
        call("GET", f"{holder}/role-mappings/clients/{client}/available", 200)
        call("GET", f"{holder}/role-mappings/clients/{client}/composite", 200)
        call("DELETE", f"{holder}/role-mappings/realm", 204, [role])
        call("DELETE", f"{holder}/role-mappings/clients/{client}", 204, [client_role])
    call("DELETE", f"{c}/roles/viewer", 204)
    call("DELETE", f"{r}/roles/mlflow-admin", 204)
    call("DELETE", u, 204)
    call("DELETE", g, 204)
    call("DELETE", c, 204)
    call("DELETE", s, 204)
    call("DELETE", r, 204)


@pytest.fixture(scope="module", name="walked")
def fixture_walked(kc):
    walk = Walker(kc)
    _walk(walk)
    return walk


def test_every_admin_response_matches_the_document(walked, document):
    walk = walked
    components = {"components": document["components"]}
    checked = 0
    for method, path, status, body in walk.calls:
        if body is None:
            continue
        template = _template_for(document, path)
        assert template, path
        responses = document["paths"][template][method.lower()]["responses"]
        media = (responses.get(str(status)) or responses.get("200"))["content"]["application/json"]
        OAS30Validator(dict(media["schema"], **components)).validate(body)
        checked += 1
    assert checked >= 35


def test_walk_covered_every_route_and_no_violation(kc, walked):
    del walked
    report = kc.requests()
    assert report["schema_violations"] == 0
    served = {(m, t) for t, handlers in _served_routes() for m in handlers}
    seen = {(e["method"], e["resource"]) for e in report["entries"]}
    assert served <= seen, sorted(served - seen)
    validated = [e for e in report["entries"] if e["response_validated"]]
    assert len(validated) >= 35
    assert all(not e.get("schema_error") for e in report["entries"])


def _served_routes():
    from tests.sandbox.keycloak import api, oidc, store  # pylint: disable=import-outside-toplevel
    memory = store.Store(None)
    admin_api = api.AdminApi(memory, oidc.TokenService(memory, {}), kc_schema.OpenApiDocument(), {})
    return [(route[1], route[2]) for route in admin_api.routes]


def test_strict_mode_rejects_a_bad_request_body(kc):
    walk = Walker(kc)
    walk("POST", "/admin/realms", 201, {"realm": "strict"})
    walk("POST", "/admin/realms/strict/clients", 400, {"clientId": "typo", "redirectUri": ["https://x.test"]})
    walk("POST", "/admin/realms/strict/clients", 400, {"clientId": "wrong-type", "publicClient": "yes"})
    walk("POST", "/admin/realms/strict/users", 400, {"username": "dave", "attributes": {"team": "ml"}})
    error = walk.calls[-1][3]
    assert "attributes/team" in error["errorMessage"]
    walk("DELETE", "/admin/realms/strict", 204)


def test_strict_mode_turns_a_bad_response_into_500():
    document = kc_schema.OpenApiDocument()
    with pytest.raises(kc_schema.SchemaViolation):
        document.validate_response("GET", "/admin/realms/{realm}/clients/{id}", 200, {"clientId": "x", "redirectUri": []})
    with pytest.raises(kc_schema.SchemaViolation):
        document.validate_response("GET", "/admin/realms/{realm}/users", 200, [{"username": 7}])
    document.validate_response("GET", "/admin/realms/{realm}/users", 200, [{"username": "ok", "attributes": {"a": ["b"]}}])

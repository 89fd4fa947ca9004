"""The compare / check mode / act logic of the GCP modules, on an in-memory client."""

import copy

import pytest

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp import biglake, iam
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.errors import (
    Conflict,
    FailedPrecondition,
    InvalidInput,
    NotFound,
)

CATALOG = "projects/p/locations/us/catalogs/cat"


class MemoryClient:
    """A GCPClient stand-in over a dict of resources by path; records writes."""

    def __init__(self, resources=None, conflicts=0):
        self.resources = copy.deepcopy(resources or {})
        self.writes = []
        self.conflicts = conflicts

    def get(self, path, params=None):
        if path not in self.resources:
            raise NotFound(f"{path} not found")
        return copy.deepcopy(self.resources[path])

    def get_or_none(self, path, params=None):
        return copy.deepcopy(self.resources.get(path))

    def list_all(self, path, key, params=None):
        prefix = path[len("v1/"):] + "/"
        return [copy.deepcopy(value) for name, value in sorted(self.resources.items())
                if name.startswith("v1/" + prefix) and "/" not in name[len("v1/" + prefix):]]

    def request(self, method, path, params=None, body=None):
        self.writes.append((method, path, params, body))
        if path.endswith(":setIamPolicy") and self.conflicts:
            self.conflicts -= 1
            raise Conflict("concurrent policy changes")
        if path.endswith(":getIamPolicy"):
            return copy.deepcopy(self.resources[path.replace(":getIamPolicy", ":policy")])
        if path.endswith(":setIamPolicy"):
            self.resources[path.replace(":setIamPolicy", ":policy")] = body["policy"]
            return body["policy"]
        if method == "POST" and path.endswith("/databases"):
            name = f"{path[3:]}/{params['databaseId']}"
            self.resources["v1/" + name] = dict(body, name=name)
            return self.resources["v1/" + name]
        if method == "PATCH":
            self.resources[path].update(body)
            return self.resources[path]
        if method == "DELETE":
            return self.resources.pop(path)
        raise AssertionError(f"unexpected {method} {path}")


def params(**values):
    return dict({"name": "cat", "location": "us", "state": "present", "force": False, "databases": [],
                 "purge_databases": False}, **values)


def database(name, location_uri=None, parameters=None):
    options = {}
    if location_uri:
        options["locationUri"] = location_uri
    if parameters:
        options["parameters"] = parameters
    resource = {"name": f"{CATALOG}/databases/{name}", "type": "HIVE"}
    if options:
        resource["hiveOptions"] = options
    return resource


def existing(*databases):
    resources = {f"v1/{CATALOG}": {"name": CATALOG}}
    resources.update({f"v1/{item['name']}": item for item in databases})
    return resources


def test_a_database_in_its_declared_state_is_no_change():
    client = MemoryClient(existing(database("db", "gs://b/db", {"k": "v"})))
    declared = {"name": "db", "location_uri": "gs://b/db", "parameters": {"k": "v"}}
    result = biglake.ensure_catalog(client, "p", params(databases=[declared]), False)
    assert result["changed"] is False
    assert client.writes == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_unset_options_keep_the_current_values():
    client = MemoryClient(existing(database("db", "gs://b/db", {"k": "v"})))
    declared = {"name": "db", "location_uri": None, "parameters": None}
    result = biglake.ensure_catalog(client, "p", params(databases=[declared]), False)
    assert result["changed"] is False


def test_check_mode_reports_the_change_and_writes_nothing():
    client = MemoryClient(existing(database("db", "gs://b/db")))
    declared = {"name": "db", "location_uri": "gs://b/other", "parameters": None}
    result = biglake.ensure_catalog(client, "p", params(databases=[declared]), True)
    assert result["changed"] is True
    assert client.writes == []
    assert result["diff"]["after"]["databases"]["db"]["location_uri"] == "gs://b/other"


def test_a_changed_database_is_patched_with_the_hive_options_mask():
    client = MemoryClient(existing(database("db", "gs://b/db", {"k": "v"})))
    declared = {"name": "db", "location_uri": None, "parameters": {"k": "w"}}
    result = biglake.ensure_catalog(client, "p", params(databases=[declared]), False)
    assert result["changed"] is True
    assert client.writes == [("PATCH", f"v1/{CATALOG}/databases/db", {"updateMask": "hiveOptions"},
                              {"type": "HIVE", "hiveOptions": {"locationUri": "gs://b/db", "parameters": {"k": "w"}}})]


def test_absent_refuses_a_catalog_with_databases_without_force():
    client = MemoryClient(existing(database("db")))
    with pytest.raises(FailedPrecondition, match=r"holds databases \(db\); nothing was deleted"):
        biglake.ensure_catalog(client, "p", params(state="absent"), False)
    assert client.writes == []


def test_absent_with_force_deletes_databases_then_the_catalog():
    client = MemoryClient(existing(database("db")))
    result = biglake.ensure_catalog(client, "p", params(state="absent", force=True), False)
    assert result["changed"] is True
    assert [write[:2] for write in client.writes] == [("DELETE", f"v1/{CATALOG}/databases/db"), ("DELETE", f"v1/{CATALOG}")]


@pytest.mark.parametrize("values", [{"name": "has space"}, {"databases": [{"name": "-x"}]},
                                    {"databases": [{"name": "a"}, {"name": "a"}]}])
def test_bad_ids_are_refused_before_any_call(values):
    client = MemoryClient()
    with pytest.raises(InvalidInput):
        biglake.ensure_catalog(client, "p", params(**values), False)
    assert client.writes == []


# --- IAM bindings

SA = "a@p.iam.gserviceaccount.com"
POLICY_PATH = "v1/projects/p:policy"


def binding_params(state="present", role="roles/viewer", members=("serviceAccount:" + SA,)):
    return {"resource_type": "project", "resource": "p", "state": state,
            "bindings": [{"role": role, "members": list(members)}]}


def test_members_are_added_and_other_bindings_kept():
    policy = {"etag": "e1", "bindings": [
        {"role": "roles/owner", "members": ["user:o@example.com"]},
        {"role": "roles/viewer", "members": ["user:v@example.com"]},
        {"role": "roles/viewer", "members": ["user:c@example.com"], "condition": {"title": "t", "expression": "true"}}]}
    client = MemoryClient({POLICY_PATH: policy})
    result = iam.ensure_iam_binding(client, "p", binding_params(), False)
    assert result["changed"] is True
    assert result["diff"] == {"before": {"roles/viewer": ["user:v@example.com"]},
                              "after": {"roles/viewer": ["serviceAccount:" + SA, "user:v@example.com"]}}
    written = client.resources[POLICY_PATH]
    assert written["etag"] == "e1"
    assert {"role": "roles/owner", "members": ["user:o@example.com"]} in written["bindings"]
    assert any(binding.get("condition") for binding in written["bindings"])


def test_a_binding_already_there_is_no_write_and_absent_removes_only_the_member():
    policy = {"etag": "e1", "bindings": [{"role": "roles/viewer", "members": ["serviceAccount:" + SA, "user:v@example.com"]}]}
    client = MemoryClient({POLICY_PATH: policy})
    assert iam.ensure_iam_binding(client, "p", binding_params(), False)["changed"] is False
    assert [write for write in client.writes if ":setIamPolicy" in write[1]] == []
    result = iam.ensure_iam_binding(client, "p", binding_params(state="absent"), False)
    assert result["bindings"] == {"roles/viewer": ["user:v@example.com"]}


def test_a_lost_policy_race_is_retried_from_a_fresh_read():
    client = MemoryClient({POLICY_PATH: {"etag": "e1", "bindings": []}}, conflicts=1)
    assert iam.ensure_iam_binding(client, "p", binding_params(), False)["changed"] is True
    assert len([write for write in client.writes if ":getIamPolicy" in write[1]]) == 2


def test_a_member_without_a_kind_is_refused():
    with pytest.raises(InvalidInput, match="not a principal"):
        iam.ensure_iam_binding(MemoryClient(), "p", binding_params(members=["a@example.com"]), False)


def test_a_policy_that_keeps_changing_is_a_conflict_after_the_bounded_attempts():
    client = MemoryClient({POLICY_PATH: {"etag": "e1", "bindings": []}}, conflicts=10)
    with pytest.raises(Conflict, match="kept changing"):
        iam.ensure_iam_binding(client, "p", binding_params(), False)
    assert len([write for write in client.writes if ":getIamPolicy" in write[1]]) == iam.POLICY_ATTEMPTS

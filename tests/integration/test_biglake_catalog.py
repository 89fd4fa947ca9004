"""mlplatform.selfhosted.biglake_catalog on the sandbox's BigLake emulator, asserted through googleapiclient."""

import re
import uuid

import pytest

from tests.integration.gcp_support import (
    PROJECT,
    api,
    assert_changed,
    extra_vars,
    get_or_none,
    reset_requests,
    set_service,
    writes,
)

PLAYBOOK = "tests/integration/playbooks/biglake_catalog/catalog.yml"
LOCATION = "us"


@pytest.fixture()
def biglake(sandbox):
    """googleapiclient's BigLake, with the API enabled for the test (the sandbox starts with it disabled)."""
    set_service(sandbox, "biglake.googleapis.com", True)
    return api(sandbox, "biglake")


@pytest.fixture()
def catalog(biglake):
    """A catalog name of this test's own; the catalog and its databases are deleted afterwards."""
    catalog_id = f"it_{uuid.uuid4().hex[:10]}"
    yield catalog_id
    catalogs = biglake.projects().locations().catalogs()
    name = f"projects/{PROJECT}/locations/{LOCATION}/catalogs/{catalog_id}"
    if get_or_none(catalogs.get(name=name)) is None:
        return
    for database in catalogs.databases().list(parent=name).execute().get("databases", []):
        for table in catalogs.databases().tables().list(parent=database["name"]).execute().get("tables", []):
            catalogs.databases().tables().delete(name=table["name"]).execute()
        catalogs.databases().delete(name=database["name"]).execute()
    catalogs.delete(name=name).execute()


@pytest.fixture()
def ensure(run_playbook, catalog):
    def run(*args, **values):
        return run_playbook(PLAYBOOK, *extra_vars(catalog_name=catalog, **values), *args)
    return run


def read_catalog(biglake, catalog_id):
    return get_or_none(biglake.projects().locations().catalogs().get(
        name=f"projects/{PROJECT}/locations/{LOCATION}/catalogs/{catalog_id}"))


def read_databases(biglake, catalog_id):
    parent = f"projects/{PROJECT}/locations/{LOCATION}/catalogs/{catalog_id}"
    databases = biglake.projects().locations().catalogs().databases().list(parent=parent).execute()
    return {item["name"].rsplit("/", 1)[1]: item for item in databases.get("databases", [])}


def diff_line(sign, text, output):
    """True when --diff printed text on a line of its own that starts with sign (+ or -)."""
    return re.search(rf"^{re.escape(sign)}\s+{re.escape(text)}$", output, re.MULTILINE) is not None


FEATURES = {"name": "features", "location_uri": "gs://sandbox-jfrogml-gcs/features", "parameters": {"owner": "jfrogml"}}


def test_four_steps_create_then_nothing_to_do(ensure, biglake, catalog, sandbox):
    reset_requests(sandbox)
    assert_changed(ensure("--check"), 1)
    assert read_catalog(biglake, catalog) is None
    assert writes(sandbox) == []

    result = ensure()
    assert_changed(result, 1)
    assert read_catalog(biglake, catalog)["name"] == f"projects/{PROJECT}/locations/{LOCATION}/catalogs/{catalog}"
    assert f"name: projects/{PROJECT}/locations/{LOCATION}/catalogs/{catalog}" in result.output

    reset_requests(sandbox)
    assert_changed(ensure("--check"), 0)
    assert_changed(ensure(), 0)
    assert writes(sandbox) == []


def test_a_new_database_is_a_change_with_a_diff_and_check_mode_writes_nothing(ensure, biglake, catalog, sandbox):
    assert_changed(ensure(), 1)
    reset_requests(sandbox)
    checked = ensure("--check", "--diff", catalog_databases=[FEATURES])
    assert_changed(checked, 1)
    assert diff_line("+", "location_uri: gs://sandbox-jfrogml-gcs/features", checked.output)
    assert read_databases(biglake, catalog) == {}
    assert writes(sandbox) == []

    assert_changed(ensure("--diff", catalog_databases=[FEATURES]), 1)
    database = read_databases(biglake, catalog)["features"]
    assert database["type"] == "HIVE"
    assert database["hiveOptions"] == {"locationUri": "gs://sandbox-jfrogml-gcs/features", "parameters": {"owner": "jfrogml"}}
    assert_changed(ensure("--check", catalog_databases=[FEATURES]), 0)
    assert_changed(ensure(catalog_databases=[FEATURES]), 0)


def test_changed_parameters_are_patched_and_shown(ensure, biglake, catalog):
    assert_changed(ensure(catalog_databases=[FEATURES]), 1)
    changed = dict(FEATURES, parameters={"owner": "ml-team"})
    result = ensure("--diff", catalog_databases=[changed])
    assert_changed(result, 1)
    assert diff_line("-", "owner: jfrogml", result.output)
    assert diff_line("+", "owner: ml-team", result.output)
    assert read_databases(biglake, catalog)["features"]["hiveOptions"]["parameters"] == {"owner": "ml-team"}
    assert_changed(ensure(catalog_databases=[changed]), 0)


def test_purge_deletes_undeclared_databases(ensure, biglake, catalog):
    assert_changed(ensure(catalog_databases=[FEATURES, {"name": "scratch"}]), 1)
    assert set(read_databases(biglake, catalog)) == {"features", "scratch"}
    assert_changed(ensure(catalog_databases=[FEATURES]), 0)
    assert_changed(ensure(catalog_databases=[FEATURES], catalog_purge=True), 1)
    assert set(read_databases(biglake, catalog)) == {"features"}


def test_absent_with_databases_refuses_without_force_and_deletes_nothing(ensure, biglake, catalog, sandbox):
    assert_changed(ensure(catalog_databases=[FEATURES]), 1)
    reset_requests(sandbox)
    refused = ensure(catalog_state="absent")
    assert refused.rc != 0
    assert "holds databases (features); nothing was deleted. Set force: true" in refused.output
    assert writes(sandbox) == []
    assert set(read_databases(biglake, catalog)) == {"features"}

    assert_changed(ensure("--check", catalog_state="absent", catalog_force=True), 1)
    assert read_catalog(biglake, catalog) is not None
    assert_changed(ensure(catalog_state="absent", catalog_force=True), 1)
    assert read_catalog(biglake, catalog) is None
    assert_changed(ensure(catalog_state="absent"), 0)


def test_absent_twice_on_an_empty_catalog(ensure, biglake, catalog):
    assert_changed(ensure(), 1)
    assert_changed(ensure(catalog_state="absent"), 1)
    assert read_catalog(biglake, catalog) is None
    assert_changed(ensure(catalog_state="absent"), 0)


def test_a_disabled_api_fails_naming_the_service(ensure, biglake, catalog, sandbox):
    set_service(sandbox, "biglake.googleapis.com", False)
    try:
        result = ensure()
    finally:
        set_service(sandbox, "biglake.googleapis.com", True)
    assert result.rc != 0
    assert "the biglake.googleapis.com API is disabled in projects/123456789012; enable biglake.googleapis.com" in result.output
    assert read_catalog(biglake, catalog) is None


def test_an_unknown_project_is_named(ensure, sandbox):
    reset_requests(sandbox)
    result = ensure(catalog_project="no-such-project-1")
    assert result.rc != 0
    assert "project 'no-such-project-1' (location 'us') does not exist" in result.output
    assert writes(sandbox) == []


@pytest.mark.parametrize("values, message", [
    ({"catalog_name": "bad name!"}, "name 'bad name!' is not a valid BigLake id"),
    ({"catalog_databases": [{"name": "-dash"}]}, "databases[].name '-dash' is not a valid BigLake id"),
    ({"catalog_databases": [{"name": "twice"}, {"name": "twice"}]}, "databases lists twice more than once"),
])
def test_bad_input_fails_clearly_before_any_request(run_playbook, sandbox, biglake, catalog, values, message):
    reset_requests(sandbox)
    result = run_playbook(PLAYBOOK, *extra_vars(**dict({"catalog_name": catalog}, **values)))
    assert result.rc != 0
    assert message in result.output
    assert writes(sandbox) == []

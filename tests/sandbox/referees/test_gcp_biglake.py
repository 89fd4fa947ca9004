"""Referee: BigLake v1 through googleapiclient + google-auth against the sandbox's GCP emulator."""

import json

import pytest
from googleapiclient.errors import HttpError

PROJECT = "sandbox-project"
PARENT = f"projects/{PROJECT}/locations/us"
BIGLAKE = "biglake.googleapis.com"


@pytest.fixture(scope="module")
def serviceusage(gcp, credentials):
    return gcp.client("serviceusage", credentials)


@pytest.fixture(scope="module")
def biglake(gcp, credentials):
    return gcp.client("biglake", credentials)


@pytest.fixture
def enabled(serviceusage):
    serviceusage.services().enable(name=f"projects/{PROJECT}/services/{BIGLAKE}", body={}).execute()


def catalogs(biglake):
    return biglake.projects().locations().catalogs()


def databases(biglake):
    return biglake.projects().locations().catalogs().databases()


def error_of(excinfo):
    return json.loads(excinfo.value.content)["error"]


def test_disabled_api_is_refused_until_enabled(biglake, serviceusage):
    name = f"projects/{PROJECT}/services/{BIGLAKE}"
    assert serviceusage.services().get(name=name).execute()["state"] == "DISABLED"  # the sandbox's default
    with pytest.raises(HttpError) as excinfo:
        catalogs(biglake).list(parent=PARENT).execute()
    assert excinfo.value.status_code == 403
    error = error_of(excinfo)
    assert error["status"] == "PERMISSION_DENIED"
    assert "BigLake API has not been used in project" in error["message"]
    info = next(detail for detail in error["details"] if detail["@type"].endswith("google.rpc.ErrorInfo"))
    assert info["reason"] == "SERVICE_DISABLED"
    assert info["domain"] == "googleapis.com"
    assert info["metadata"]["service"] == BIGLAKE
    assert info["metadata"]["consumer"].startswith("projects/")
    operation = serviceusage.services().enable(name=name, body={}).execute()
    assert operation["done"] is True
    assert operation["response"]["service"]["state"] == "ENABLED"
    assert serviceusage.services().get(name=name).execute()["state"] == "ENABLED"
    assert catalogs(biglake).list(parent=PARENT).execute() == {}


@pytest.mark.usefixtures("enabled")
def test_catalog_and_database_lifecycle(biglake):
    catalog = catalogs(biglake).create(parent=PARENT, catalogId="lake", body={}).execute()
    assert catalog["name"] == f"{PARENT}/catalogs/lake"
    assert catalog["createTime"].endswith("Z") and "T" in catalog["createTime"]
    assert catalogs(biglake).get(name=catalog["name"]).execute()["name"] == catalog["name"]
    assert [item["name"] for item in catalogs(biglake).list(parent=PARENT).execute()["catalogs"]] == [catalog["name"]]

    body = {"type": "HIVE", "hiveOptions": {"locationUri": "gs://lake-bucket/warehouse", "parameters": {"owner": "jfrogml"}}}
    database = databases(biglake).create(parent=catalog["name"], databaseId="features", body=body).execute()
    assert database["name"] == f"{catalog['name']}/databases/features"
    assert database["type"] == "HIVE"
    assert database["hiveOptions"] == body["hiveOptions"]
    fetched = databases(biglake).get(name=database["name"]).execute()
    assert fetched["hiveOptions"]["locationUri"] == "gs://lake-bucket/warehouse"
    listed = databases(biglake).list(parent=catalog["name"]).execute()["databases"]
    assert [item["name"] for item in listed] == [database["name"]]

    patched = databases(biglake).patch(name=database["name"], updateMask="hiveOptions.parameters",
                                       body={"hiveOptions": {"parameters": {"owner": "ml", "tier": "gold"},
                                                             "locationUri": "gs://ignored/by-mask"}}).execute()
    assert patched["hiveOptions"] == {"locationUri": "gs://lake-bucket/warehouse", "parameters": {"owner": "ml", "tier": "gold"}}
    assert patched["updateTime"] >= patched["createTime"]

    with pytest.raises(HttpError) as excinfo:
        catalogs(biglake).delete(name=catalog["name"]).execute()
    assert excinfo.value.status_code == 400
    assert error_of(excinfo)["status"] == "FAILED_PRECONDITION"

    deleted = databases(biglake).delete(name=database["name"]).execute()
    assert deleted["name"] == database["name"] and deleted["deleteTime"]
    deleted = catalogs(biglake).delete(name=catalog["name"]).execute()
    assert deleted["name"] == catalog["name"] and deleted["deleteTime"] and deleted["expireTime"]
    with pytest.raises(HttpError) as excinfo:
        catalogs(biglake).get(name=catalog["name"]).execute()
    assert excinfo.value.status_code == 404


@pytest.mark.usefixtures("enabled")
def test_duplicates_and_missing(biglake):
    catalogs(biglake).create(parent=PARENT, catalogId="dup", body={}).execute()
    with pytest.raises(HttpError) as excinfo:
        catalogs(biglake).create(parent=PARENT, catalogId="dup", body={}).execute()
    assert excinfo.value.status_code == 409
    assert error_of(excinfo)["status"] == "ALREADY_EXISTS"
    body = {"type": "HIVE", "hiveOptions": {"locationUri": "gs://b/db"}}
    databases(biglake).create(parent=f"{PARENT}/catalogs/dup", databaseId="db", body=body).execute()
    with pytest.raises(HttpError) as excinfo:
        databases(biglake).create(parent=f"{PARENT}/catalogs/dup", databaseId="db", body=body).execute()
    assert excinfo.value.status_code == 409
    for call in (catalogs(biglake).get(name=f"{PARENT}/catalogs/missing"),
                 catalogs(biglake).delete(name=f"{PARENT}/catalogs/missing"),
                 databases(biglake).get(name=f"{PARENT}/catalogs/dup/databases/missing"),
                 databases(biglake).create(parent=f"{PARENT}/catalogs/missing", databaseId="x", body=body)):
        with pytest.raises(HttpError) as excinfo:
            call.execute()
        assert excinfo.value.status_code == 404
        assert error_of(excinfo)["status"] == "NOT_FOUND"


@pytest.mark.usefixtures("enabled")
def test_pages_and_tables(biglake):
    for index in range(5):
        catalogs(biglake).create(parent=f"projects/{PROJECT}/locations/eu", catalogId=f"page{index}", body={}).execute()
    seen, token = [], None
    while True:
        page = catalogs(biglake).list(parent=f"projects/{PROJECT}/locations/eu", pageSize=2, pageToken=token).execute()
        seen += [item["name"].rsplit("/", 1)[1] for item in page["catalogs"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert seen == [f"page{index}" for index in range(5)]

    catalog = f"projects/{PROJECT}/locations/eu/catalogs/page0"
    databases(biglake).create(parent=catalog, databaseId="db", body={"type": "HIVE"}).execute()
    tables = databases(biglake).tables()
    body = {"type": "HIVE", "hiveOptions": {"tableType": "EXTERNAL_TABLE", "parameters": {"format": "parquet"},
                                            "storageDescriptor": {"locationUri": "gs://b/t"}}}
    table = tables.create(parent=f"{catalog}/databases/db", tableId="t1", body=body).execute()
    assert table["etag"]
    renamed = tables.rename(name=table["name"], body={"newName": f"{catalog}/databases/db/tables/t2"}).execute()
    assert renamed["name"].endswith("/tables/t2")
    with pytest.raises(HttpError) as excinfo:
        tables.patch(name=renamed["name"], updateMask="hiveOptions.parameters",
                     body={"etag": "stale", "hiveOptions": {"parameters": {"format": "orc"}}}).execute()
    assert excinfo.value.status_code == 409
    patched = tables.patch(name=renamed["name"], updateMask="hiveOptions.parameters",
                           body={"etag": renamed["etag"], "hiveOptions": {"parameters": {"format": "orc"}}}).execute()
    assert patched["hiveOptions"]["parameters"] == {"format": "orc"}
    assert patched["etag"] != renamed["etag"]
    listed = tables.list(parent=f"{catalog}/databases/db", view="FULL").execute()["tables"]
    assert [item["name"] for item in listed] == [renamed["name"]]
    assert tables.delete(name=renamed["name"]).execute()["deleteTime"]

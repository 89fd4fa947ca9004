#!/usr/bin/python
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: biglake_catalog
short_description: A BigLake metastore catalog and its Hive databases
version_added: 0.1.0
description:
  - Creates or deletes a BigLake metastore catalog C(projects/PROJECT/locations/LOCATION/catalogs/NAME) and
    creates, updates or deletes its databases (type C(HIVE), location URI, parameters), through the BigLake API v1.
  - A catalog has no settings of its own; its databases are compared on their location URI and parameters, so a
    catalog already in the declared state reports no change.
  - The BigLake API (V(biglake.googleapis.com)) must be enabled in the project; when it is not, the module fails
    naming the service to enable (see M(mlplatform.selfhosted.gcp_service)).
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
options:
  name:
    description: Id of the catalog, for example V(JFrogML_Catalog).
    type: str
    required: true
  location:
    description: Location of the catalog, for example V(us) or V(us-central1).
    type: str
    required: true
  state:
    description:
      - V(present) creates the catalog and the declared databases, and updates databases that differ.
      - V(absent) deletes the catalog. A catalog that holds databases is deleted only with O(force=true);
        otherwise the module fails and deletes nothing.
    type: str
    choices: [present, absent]
    default: present
  force:
    description: With O(state=absent), delete the catalog's databases and their tables first.
    type: bool
    default: false
  databases:
    description:
      - Databases of the catalog. Databases not listed are left alone unless O(purge_databases=true).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Id of the database.
        type: str
        required: true
      location_uri:
        description:
          - Cloud Storage folder where the database's data lives, starting with V(gs://).
          - Not set keeps the current value (none for a new database); V("") removes it.
        type: str
      parameters:
        description:
          - Hive database parameters (string to string); the exact set, replacing the current one.
          - Not set keeps the current parameters (none for a new database).
        type: dict
  purge_databases:
    description:
      - Delete databases of the catalog that O(databases) does not list. A database that still holds tables is not
        deleted; the module fails instead.
    type: bool
    default: false
extends_documentation_fragment:
  - mlplatform.selfhosted.gcp
  - mlplatform.selfhosted.attributes
attributes:
  diff_mode:
    description: Shows the catalog's name and its databases (location URI, parameters) before and after.
seealso:
  - module: mlplatform.selfhosted.gcp_service
  - name: BigLake API v1
    description: The REST reference of BigLake metastore catalogs and databases.
    link: https://cloud.google.com/bigquery/docs/reference/biglake/rest
"""

EXAMPLES = r"""
- name: Enable the BigLake API
  mlplatform.selfhosted.gcp_service:
    project: ml-prod
    services:
      - biglake.googleapis.com

- name: The JFrog ML catalog, with one database in the JFrog ML bucket
  mlplatform.selfhosted.biglake_catalog:
    project: ml-prod
    location: us
    name: JFrogML_Catalog
    databases:
      - name: features
        location_uri: gs://ml-prod-jfrogml/features
        parameters:
          owner: jfrogml
  register: jfrogml_catalog

- name: The same with a service-account key and an emulator's endpoint
  mlplatform.selfhosted.biglake_catalog:
    project: sandbox-project
    location: us
    name: JFrogML_Catalog
    auth_kind: serviceaccount
    service_account_file: /path/to/key.json
    api_endpoint: http://127.0.0.1:16090/biglake/

- name: Delete the catalog and everything in it
  mlplatform.selfhosted.biglake_catalog:
    project: ml-prod
    location: us
    name: JFrogML_Catalog
    state: absent
    force: true
"""

RETURN = r"""
catalog:
  description:
    - The catalog resource as the API returns it; in check mode, for a catalog that would be created, only its name.
    - Empty with O(state=absent).
  returned: always
  type: dict
  sample:
    name: projects/ml-prod/locations/us/catalogs/JFrogML_Catalog
    createTime: "2026-01-01T00:00:00Z"
    updateTime: "2026-01-01T00:00:00Z"
databases:
  description: Every database of the catalog, sorted by name, as the API returns them. Empty with O(state=absent).
  returned: always
  type: list
  elements: dict
  sample:
    - name: projects/ml-prod/locations/us/catalogs/JFrogML_Catalog/databases/features
      type: HIVE
      hiveOptions:
        locationUri: gs://ml-prod-jfrogml/features
        parameters:
          owner: jfrogml
"""

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.biglake import DEFAULT_ENDPOINT, ensure_catalog
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.core import gcp_module, run_module

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    location=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    force=dict(type="bool", default=False),
    databases=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        location_uri=dict(type="str"),
        parameters=dict(type="dict"),
    )),
    purge_databases=dict(type="bool", default=False),
)


def main():
    run_module(gcp_module(ARGUMENT_SPEC), ensure_catalog, DEFAULT_ENDPOINT)


if __name__ == "__main__":
    main()

# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A project as Resource Manager v1 shows it (projects.get): read-only, so a play checks its project before
any role writes."""

from __future__ import annotations

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.gcp.errors import PermissionDenied

DEFAULT_ENDPOINT = "https://cloudresourcemanager.googleapis.com/"


def read_project(client, project):
    """The project's id, number, name, lifecycle state and labels.

    Resource Manager answers 403 both for a project that does not exist and for one the caller may not read, so
    the error says both, and names the project id that was asked for.
    """
    try:
        found = client.get(f"v1/projects/{project}")
    except PermissionDenied as error:
        raise PermissionDenied(
            f"project '{project}' does not exist or these credentials may not read it (resourcemanager.projects.get):"
            f" check that it is the project id (not its name or number) and that the account has a role on it."
            f" Google said: {error.message}",
            code=error.code, status=error.status, reason=error.reason, operation=error.operation) from error
    return {
        "project_id": found.get("projectId", project),
        "project_number": str(found.get("projectNumber", "")),
        "name": found.get("name"),
        "lifecycle_state": found.get("lifecycleState"),
        "labels": found.get("labels") or {},
    }


def project_info(client, project, params, check_mode):
    """The module's work: nothing is ever changed."""
    del params, check_mode  # a read: the same in check mode
    return {"changed": False, "project": read_project(client, project)}

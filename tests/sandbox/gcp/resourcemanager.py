"""Cloud Resource Manager v1: projects.get / list and project-level IAM policies."""

from tests.sandbox.gcp import policy
from tests.sandbox.gcp.errors import ApiError
from tests.sandbox.gcp.routing import Route

SERVICE = "cloudresourcemanager.googleapis.com"


def caller_denied():
    """Resource Manager does not tell "no such project" from "not allowed": 403 either way."""
    return ApiError("PERMISSION_DENIED", "The caller does not have permission")


def resource(project):
    return {
        "projectNumber": project["projectNumber"],
        "projectId": project["projectId"],
        "lifecycleState": "ACTIVE",
        "name": project.get("name", project["projectId"]),
        "createTime": project["createTime"],
        "labels": project.get("labels", {}),
    }


def get(call):
    return resource(call.project)


def list_projects(call):
    projects = sorted(call.data["projects"].values(), key=lambda item: item["projectId"])
    wanted = (call.arg("filter") or "").strip()
    if wanted.startswith(("id:", "projectId:", "project_id:")):
        ident = wanted.split(":", 1)[1].strip().strip('"')
        projects = [item for item in projects if item["projectId"] == ident]
    return {"projects": [resource(item) for item in projects]} if projects else {}


def get_iam_policy(call):
    return policy.read(call.project["iamPolicy"])


def set_iam_policy(call):
    call.project["iamPolicy"] = policy.write(call.project["iamPolicy"], call.body, call.store)
    call.store.mark_dirty()
    return policy.read(call.project["iamPolicy"])


def test_iam_permissions(call):
    permissions = call.body.get("permissions") or []
    return {"permissions": permissions} if permissions else {}


P = r"v1/projects/(?P<project>[^/:]+)"
ROUTES = [
    Route("GET", r"v1/projects", list_projects, collection="projects"),
    Route("GET", P, get, permission="resourcemanager.projects.get", collection="projects"),
    Route("POST", P + r":getIamPolicy", get_iam_policy, "GetIamPolicyRequest", "", "resourcemanager.projects.getIamPolicy",
          "projects.iamPolicy"),
    Route("POST", P + r":setIamPolicy", set_iam_policy, "SetIamPolicyRequest", "", "resourcemanager.projects.setIamPolicy",
          "projects.iamPolicy"),
    Route("POST", P + r":testIamPermissions", test_iam_permissions, "TestIamPermissionsRequest", "", "", "projects"),
]

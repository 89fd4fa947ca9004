"""Google API errors: the `{"error": {"code", "message", "status", "details"}}` shape of google.rpc.Status."""

# Canonical codes and the HTTP status Google maps each one to.
HTTP_CODES = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409, "ABORTED": 409, "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}
STATUS_FOR_HTTP = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                   409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
                   503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
TYPE_PREFIX = "type.googleapis.com/google.rpc."


class ApiError(Exception):
    """An error answer; `status` is the canonical code name, e.g. NOT_FOUND."""

    def __init__(self, status, message, details=None, headers=None, code=None):
        super().__init__(message)
        self.status = status
        self.code = code or HTTP_CODES[status]
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def body(self):
        error = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def error_info(reason, domain, metadata=None):
    info = {"@type": TYPE_PREFIX + "ErrorInfo", "reason": reason, "domain": domain}
    if metadata:
        info["metadata"] = metadata
    return info


def bad_request(violations):
    return {"@type": TYPE_PREFIX + "BadRequest",
            "fieldViolations": [{"field": field, "description": text} for field, text in violations]}


def invalid(message, field=None):
    return ApiError("INVALID_ARGUMENT", message, [bad_request([(field, message)])] if field else None)


def not_found(message):
    return ApiError("NOT_FOUND", message)


def already_exists(message):
    return ApiError("ALREADY_EXISTS", message)


def failed_precondition(message, details=None):
    return ApiError("FAILED_PRECONDITION", message, details)


def aborted(message):
    return ApiError("ABORTED", message)


def permission_denied(permission, resource, domain):
    """What newer Google APIs answer for a missing permission or a resource (project) that does not exist."""
    message = f"Permission '{permission}' denied on resource '{resource}' (or it may not exist)."
    return ApiError("PERMISSION_DENIED", message, [error_info(
        "IAM_PERMISSION_DENIED", domain, {"permission": permission, "resource": resource})])

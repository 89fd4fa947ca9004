"""Errors shaped like kube-apiserver's Status bodies."""


class ApiError(Exception):
    """An API failure; `body()` is the Status object the client receives."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.headers = headers or {}

    def body(self):
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": self.message, "reason": self.reason}
        if self.details is not None:
            status["details"] = self.details
        status["code"] = self.code
        return status


def _details(res, name):
    details = {"name": name, "kind": res.plural} if res is not None else {"name": name}
    if res is not None and res.group:
        details["group"] = res.group
    return details


def not_found(res, name):
    return ApiError(404, "NotFound", f'{res.group_resource} "{name}" not found', _details(res, name))


def namespace_not_found(name):
    return ApiError(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})


def unknown_resource():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", f'{res.group_resource} "{name}" already exists', _details(res, name))


def conflict(res, name):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.group_resource} "{name}": the object has been modified; '
                                     "please apply your changes to the latest version and try again", _details(res, name))


def invalid(res, name, field, cause_reason, message):
    kind = f"{res.kind}.{res.group}" if res.group else res.kind
    details = {"name": name, "kind": res.kind, "causes": [{"reason": cause_reason, "message": message, "field": field}]}
    if res.group:
        details["group"] = res.group
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {field}: {message}', details)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def unsupported_media_type(accepted):
    return ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted))


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(res, name, message):
    return ApiError(403, "Forbidden", message, _details(res, name) if res is not None else None)

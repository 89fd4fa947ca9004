"""Errors shaped like kube-apiserver's Status bodies."""

import json


class ApiError(Exception):
    """An API failure; `body()` is the Status object the client receives."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.headers = headers or {}

    def body(self):
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message}
        if self.reason:  # StatusReasonUnknown is empty and omitted
            status["reason"] = self.reason
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


def invalid(kind, group, name, field_errors):
    """NewInvalid: 422 with a cause per field error (validation.FieldError); the message joins them as an aggregate does
    (duplicates dropped, several in brackets)."""
    qualified = f"{kind}.{group}" if group else kind
    messages = list(dict.fromkeys(str(error) for error in field_errors))
    joined = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
    details = {key: value for key, value in (("name", name), ("group", group), ("kind", kind)) if value}
    details["causes"] = [error.cause() for error in field_errors]
    return ApiError(422, "Invalid", f"{qualified} {json.dumps(name)} is invalid: {joined}", details)


def undecodable(res, body, raw, message):
    """transformDecodeError: a create or update body the kind's Go type cannot hold (400)."""
    kind = body.get("kind")
    if kind:
        version = str(body.get("apiVersion") or "").rsplit("/", 1)[-1]
        return bad_request(f'{kind} in version "{version}" cannot be handled as a {res.kind}: {message}')
    summary = raw.decode("utf-8", "replace")
    summary = summary[:30] + " ..." if len(summary) > 30 else summary
    return bad_request(f"the object provided is unrecognized (must be of type {res.kind}): {message} ({summary})")


def unconvertible(res, namespace, name, message):
    """What server-side apply answers when the merged object does not convert to the kind's Go type: a plain error, so 500."""
    gvk = f"{res.api_version if res.group else '/' + res.version}, Kind={res.kind}"
    return ApiError(500, None, f"failed to convert new object ({namespace or ''}/{name}; {gvk}) to proper version: "
                               f"unable to convert unstructured object to {gvk}: {message}")


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

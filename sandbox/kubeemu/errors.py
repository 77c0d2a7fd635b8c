"""API errors and the metav1.Status bodies the real API server returns for them."""

import json

CONFLICT_MESSAGE = "the object has been modified; please apply your changes to the latest version and try again"


class ApiError(Exception):
    """An error that is answered with a Status object and an HTTP code."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        """The Status body for this error."""
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def qualified(rdef):
    """'deployments.apps' or 'services': the resource name used in error messages."""
    return "%s.%s" % (rdef.plural, rdef.group) if rdef.group else rdef.plural


def _details(rdef, name, **extra):
    details = {"name": name, "kind": rdef.plural}
    if rdef.group:
        details["group"] = rdef.group
    details.update(extra)
    return details


def not_found(rdef, name):
    """404 for a named object."""
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(rdef), name), _details(rdef, name))


def namespace_not_found(name):
    """404 for a missing namespace on a namespaced create (what NamespaceLifecycle admission returns)."""
    return ApiError(404, "NotFound", 'namespaces "%s" not found' % name, {"name": name, "kind": "namespaces"})


def no_route(message="the server could not find the requested resource"):
    """404 for an unknown URL / resource type."""
    return ApiError(404, "NotFound", message, {})


def already_exists(rdef, name):
    """409 on create of an existing object."""
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(rdef), name), _details(rdef, name))


def conflict(rdef, name, why=CONFLICT_MESSAGE):
    """409 Conflict (optimistic concurrency failure or failed delete precondition)."""
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s' % (qualified(rdef), name, why), _details(rdef, name))


def bad_request(message):
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    """405 MethodNotAllowed."""
    return ApiError(405, "MethodNotAllowed", message, {})


def unsupported_media_type(accepted):
    """415, e.g. a strategic merge patch sent to a custom resource."""
    message = "the body of the request was in an unknown format - accepted media types include: %s" % ", ".join(accepted)
    return ApiError(415, "UnsupportedMediaType", message, {})


def internal_error(message):
    """500 InternalError."""
    return ApiError(500, "InternalError", "Internal error occurred: %s" % message, {"causes": [{"message": message}]})


def unauthorized():
    """401 for a missing or wrong bearer token."""
    return ApiError(401, "Unauthorized", "Unauthorized")


def format_value(value):
    """Render a value roughly like Go's %#v does in validation messages."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if value is None:
        return "null"
    return str(value)


class FieldError:
    """One validation failure (a StatusCause)."""

    def __init__(self, reason, field, message):
        self.reason = reason
        self.field = field
        self.message = message

    def text(self):
        """'field: message' as printed inside the Status message."""
        return "%s: %s" % (self.field, self.message)


def required(field, detail=""):
    """FieldValueRequired."""
    return FieldError("FieldValueRequired", field, "Required value" + (": " + detail if detail else ""))


def invalid_value(field, value, detail):
    """FieldValueInvalid."""
    return FieldError("FieldValueInvalid", field, "Invalid value: %s: %s" % (format_value(value), detail))


def forbidden(field, detail):
    """FieldValueForbidden."""
    return FieldError("FieldValueForbidden", field, "Forbidden: " + detail)


def unsupported(field, value, allowed):
    """FieldValueNotSupported."""
    return FieldError("FieldValueNotSupported", field, "Unsupported value: %s: supported values: %s"
                      % (format_value(value), ", ".join(json.dumps(a) for a in allowed)))


def duplicate(field, value):
    """FieldValueDuplicate."""
    return FieldError("FieldValueDuplicate", field, "Duplicate value: %s" % format_value(value))


def invalid(rdef, name, errors):
    """422 Invalid built from a list of FieldError, formatted like the real API server."""
    qual = "%s.%s" % (rdef.kind, rdef.group) if rdef.group else rdef.kind
    if len(errors) == 1:
        summary = errors[0].text()
    else:
        summary = "[" + ", ".join(e.text() for e in errors) + "]"
    details = {"name": name, "kind": rdef.kind, "causes": [{"reason": e.reason, "message": e.message, "field": e.field} for e in errors]}
    if rdef.group:
        details["group"] = rdef.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (qual, name, summary), details)

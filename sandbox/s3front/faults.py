"""Injected faults and request statistics of the AWS front, and the error bodies AWS writes.

A fault spec (POST /_sandbox/faults, or S3Front.add_fault):

  operation    the operation to fail: "UploadPart", "DeleteObjects", "CreateVpc", ... ("*": any)
  bucket       only requests for this bucket (S3)
  key_prefix   only requests for keys starting with it (S3)
  after        let this many matching requests pass first (default 0)
  count        then fail this many (default 1); later ones pass again
  action       "error" (default): answer an AWS error with ``status`` and ``code``;
               "drop": read the request, then close the connection without any answer
  status       HTTP status of the error (default 500)
  code         its error code (default "InternalError")
  message      its message (default: says the sandbox injected it)

Faults are consulted in the order they were added, each counting the matching requests that reach it;
the first that fires answers the request, and the faults after it do not see it. Requests are counted
in the order they arrive, so a test that sends them one by one knows which fail.
"""

import json
import threading
import uuid
from xml.sax.saxutils import escape

ACTIONS = ("error", "drop")
SPEC_KEYS = ("operation", "bucket", "key_prefix", "after", "count", "action", "status", "code", "message")


class FaultError(ValueError):
    """A fault spec that cannot be used; the message says what is wrong."""


def _text(spec, name, default=None):
    value = spec.get(name, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise FaultError("%s must be a non-empty string" % name)
    return value


def _integer(spec, name, default, low, high):
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultError("%s must be an integer from %d to %d, not %r" % (name, low, high, value))
    return value


class Faults:
    """The active faults. All methods are thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._next_id = 1

    def add(self, spec):
        """Validate and register a fault; returns its stored form (with "id", "seen" and "fired")."""
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object")
        unknown = sorted(set(spec) - set(SPEC_KEYS))
        if unknown:
            raise FaultError("unknown fault field(s) %s; known: %s" % (", ".join(unknown), ", ".join(SPEC_KEYS)))
        fault = {
            "operation": _text(spec, "operation"),
            "bucket": _text(spec, "bucket"),
            "key_prefix": _text(spec, "key_prefix"),
            "after": _integer(spec, "after", 0, 0, 10 ** 9),
            "count": _integer(spec, "count", 1, 1, 10 ** 9),
            "action": spec.get("action", "error"),
            "status": _integer(spec, "status", 500, 400, 599),
            "code": _text(spec, "code", "InternalError"),
            "message": _text(spec, "message"),
            "seen": 0,
            "fired": 0,
        }
        if fault["operation"] is None:
            raise FaultError("a fault needs an operation (UploadPart, DeleteObjects, ... or *)")
        if fault["action"] not in ACTIONS:
            raise FaultError("action must be one of %s, not %r" % (", ".join(ACTIONS), fault["action"]))
        with self._lock:
            fault["id"] = "fault-%d" % self._next_id
            self._next_id += 1
            self._faults.append(fault)
            return dict(fault)

    def remove(self, fault_id):
        """Drop one fault; True when it existed."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f["id"] != fault_id]
            return len(self._faults) != before

    def clear(self):
        with self._lock:
            self._faults = []

    def list(self):
        """Copies of the faults, spent ones too (their "fired" equals "count")."""
        with self._lock:
            return [dict(f) for f in self._faults]

    def take(self, request):
        """The fault that fires for ``request`` (a copy), or None; counts the request in every fault it reaches."""
        with self._lock:
            for fault in self._faults:
                if fault["operation"] not in ("*", request.operation):
                    continue
                if fault["bucket"] is not None and fault["bucket"] != request.bucket:
                    continue
                if fault["key_prefix"] is not None and not (request.key or "").startswith(fault["key_prefix"]):
                    continue
                fault["seen"] += 1
                if fault["seen"] > fault["after"] and fault["fired"] < fault["count"]:
                    fault["fired"] += 1
                    return dict(fault)
        return None


class Stats:
    """Requests through the front by operation (control calls not counted)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._operations = {}
        self._faulted = 0

    def reset(self):
        with self._lock:
            self._operations = {}
            self._faulted = 0

    def count(self, operation):
        with self._lock:
            self._operations[operation] = self._operations.get(operation, 0) + 1

    def faulted(self):
        """Record that a fault answered a request."""
        with self._lock:
            self._faulted += 1

    def snapshot(self):
        """{"operations": {...}, "total": n, "faulted": n}."""
        with self._lock:
            operations = dict(sorted(self._operations.items()))
            return {"operations": operations, "total": sum(operations.values()), "faulted": self._faulted}


def error_response(request, status, code, message):
    """(headers, body) of an AWS error in the format the request's protocol expects, so botocore raises
    ClientError with ``code``."""
    request_id = uuid.uuid4().hex.upper()[:16]
    if request.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)], body
    code_x, message_x = escape(code), escape(message)
    if request.protocol == "ec2":
        text = "<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>" % (
            code_x, message_x, request_id)
    elif request.protocol == "query":
        kind = "Receiver" if status >= 500 else "Sender"
        text = "<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>" % (
            kind, code_x, message_x, request_id)
    else:
        text = "<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>%s</RequestId></Error>" % (
            code_x, message_x, escape(request.resource()), request_id)
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode()
    return [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body

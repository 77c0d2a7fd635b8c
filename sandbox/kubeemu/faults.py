"""Injected faults and request statistics, driven through the /_emulator control endpoint."""

import threading

from .errors import ApiError, bad_request

FAULT_TYPES = ("never_ready", "fail_writes", "latency", "pod_http")
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
BASE_VERBS = ("get", "list", "create", "patch", "update", "delete")


def _resource_matches(wanted, rdef):
    """A fault's "resource" may be given as plural, singular or kind, in any case."""
    wanted = wanted.lower()
    return wanted in (rdef.plural, rdef.singular, rdef.kind.lower())


class Faults:
    """The active faults. All methods are thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._next_id = 1

    def add(self, spec):
        """Validate and register a fault; returns its stored form (with "id")."""
        if not isinstance(spec, dict) or spec.get("type") not in FAULT_TYPES:
            raise bad_request("fault type must be one of %s" % ", ".join(FAULT_TYPES))
        kind = spec["type"]
        needed = {"never_ready": ("namespace", "name"), "pod_http": ("namespace", "name", "status"),
                  "fail_writes": ("namespace", "resource", "name"), "latency": ("ms",)}[kind]
        missing = [k for k in needed if spec.get(k) in (None, "")]
        if missing:
            raise bad_request("fault %s needs %s" % (kind, ", ".join(missing)))
        fault = dict(spec)
        if kind == "fail_writes":
            fault["count"] = int(fault.get("count", 1))
            fault["status"] = int(fault.get("status", 500))
            if fault["status"] not in (409, 500):
                raise bad_request("fail_writes status must be 409 or 500")
        if kind == "pod_http":
            fault["status"] = int(fault["status"])
        if kind == "latency":
            fault["ms"] = float(fault["ms"])
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
        """Drop every fault."""
        with self._lock:
            self._faults = []

    def list(self):
        """Copies of the active faults."""
        with self._lock:
            return [dict(f) for f in self._faults]

    def latency_ms(self, rdef, namespace, verb):
        """Total delay for an API request (latency faults, optionally filtered by resource/namespace/verb)."""
        total = 0.0
        with self._lock:
            for fault in self._faults:
                if fault["type"] != "latency":
                    continue
                if fault.get("resource") and (rdef is None or not _resource_matches(fault["resource"], rdef)):
                    continue
                if fault.get("namespace") and fault["namespace"] != namespace:
                    continue
                if fault.get("verb") and fault["verb"] != verb:
                    continue
                total += fault["ms"]
        return total

    def check_write(self, rdef, namespace, name):
        """Consume a matching fail_writes fault and raise its error, or return quietly."""
        with self._lock:
            for fault in self._faults:
                if fault["type"] != "fail_writes" or fault["count"] <= 0:
                    continue
                if fault["name"] != name or not _resource_matches(fault["resource"], rdef):
                    continue
                if rdef.namespaced and fault["namespace"] != namespace:
                    continue
                fault["count"] -= 1
                status = fault["status"]
                break
            else:
                return
        qual = "%s.%s" % (rdef.plural, rdef.group) if rdef.group else rdef.plural
        details = {"name": name, "kind": rdef.plural}
        if rdef.group:
            details["group"] = rdef.group
        if status == 409:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                           'please apply your changes to the latest version and try again' % (qual, name), details)
        raise ApiError(500, "InternalError", "Internal error occurred: injected fault (fail_writes) for %s %s/%s" % (qual, namespace, name),
                       {"causes": [{"message": "injected fault"}]})

    def never_ready(self, namespace, names):
        """True when a never_ready fault targets any of ``names`` (deployment, replicaset or pod) in namespace."""
        with self._lock:
            return any(f["type"] == "never_ready" and f["namespace"] == namespace and f["name"] in names for f in self._faults)

    def pod_http(self, namespace, names):
        """HTTP status forced for proxied requests to a pod, or None."""
        with self._lock:
            for fault in self._faults:
                if fault["type"] == "pod_http" and fault["namespace"] == namespace and fault["name"] in names:
                    return fault["status"]
        return None


class Stats:
    """Counts of API requests by verb (the /_emulator endpoints are not counted)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_verb = {}
        self._dry_run = 0
        self.reset()

    def reset(self):
        """Zero every counter."""
        with self._lock:
            self._by_verb = {verb: 0 for verb in BASE_VERBS}
            self._dry_run = 0

    def count(self, verb, dry_run=False):
        """Record one request."""
        with self._lock:
            self._by_verb[verb] = self._by_verb.get(verb, 0) + 1
            if dry_run:
                self._dry_run += 1

    def snapshot(self):
        """The counters in the documented JSON shape."""
        with self._lock:
            by_verb = dict(self._by_verb)
            return {
                "requests": sum(by_verb.values()),
                "by_verb": by_verb,
                "writes": sum(by_verb.get(v, 0) for v in WRITE_VERBS),
                "dry_run": self._dry_run,
            }

"""Injected faults, request statistics and run-time settings of the sandbox's Kubernetes.

The test-facing interface (the /_sandbox control endpoint of the fault proxy) takes the same
fault specs the suites have always used:

  never_ready   namespace, name     pods of that Deployment, ReplicaSet or Pod never turn Ready
  fail_writes   namespace, resource, name, [count=1], [status=500|409]
                                    the next writes to that object through the proxy fail
  latency       ms, [resource], [namespace], [verb]
                                    requests through the proxy wait first
  pod_http      namespace, name, status, [scope=all|requests]
                                    HTTP requests to those pods answer with that status: every path (all),
                                    or the application's only (requests), /actuator/* answering as before
  pod_down      namespace, name     connections to those pods' IPs are closed without an answer

Run-time settings (the config endpoint, Control.configure):

  ready_delay   seconds (0.3)       how long a running pod waits before it turns Ready
  traffic_rps   requests/s (0)      synthetic GETs of /api/v1/ping each Running pod records in its
                                    http_server_requests_seconds_* series, with the status its pod_http
                                    faults dictate (200 otherwise)

Faults naming a pod take the pod's name, its ReplicaSet's or its Deployment's (workload_names).
"""

import json
import threading

FAULT_TYPES = ("never_ready", "fail_writes", "latency", "pod_http", "pod_down")
POD_HTTP_SCOPES = ("all", "requests")
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
BASE_VERBS = ("get", "list", "create", "patch", "update", "delete")
NEEDED = {"never_ready": ("namespace", "name"), "pod_http": ("namespace", "name", "status"), "pod_down": ("namespace", "name"),
          "fail_writes": ("namespace", "resource", "name"), "latency": ("ms",)}


class FaultError(ValueError):
    """A fault spec that cannot be used; the message says what is wrong."""


def resource_matches(wanted, plural):
    """A fault's "resource" may be given as the plural or the singular, in any case."""
    wanted = wanted.lower()
    if wanted == plural:
        return True
    singular = plural[:-2] if plural.endswith(("ses", "xes")) else plural[:-1] if plural.endswith("s") else plural
    return wanted == singular


def status_body(code, reason, message, details=None):
    """A metav1.Status as the API server returns it."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details is not None:
        body["details"] = details
    return json.dumps(body).encode()


class Faults:
    """The active faults and settings. All methods are thread-safe."""

    def __init__(self, ready_delay=0.3):
        self._lock = threading.Lock()
        self._faults = []
        self._next_id = 1
        self.config = {"ready_delay": float(ready_delay), "traffic_rps": 0.0}
        self.listeners = []

    def _changed(self):
        for listener in self.listeners:
            listener()

    def add(self, spec):
        """Validate and register a fault; returns its stored form (with "id")."""
        if not isinstance(spec, dict) or spec.get("type") not in FAULT_TYPES:
            raise FaultError("fault type must be one of %s" % ", ".join(FAULT_TYPES))
        kind = spec["type"]
        missing = [k for k in NEEDED[kind] if spec.get(k) in (None, "")]
        if missing:
            raise FaultError("fault %s needs %s" % (kind, ", ".join(missing)))
        fault = dict(spec)
        try:
            if kind == "fail_writes":
                fault["count"] = int(fault.get("count", 1))
                fault["status"] = int(fault.get("status", 500))
            if kind == "pod_http":
                fault["status"] = int(fault["status"])
                fault["scope"] = fault.get("scope") or "all"
            if kind == "latency":
                fault["ms"] = float(fault["ms"])
        except (TypeError, ValueError) as exc:
            raise FaultError("invalid %s fault: %s" % (kind, exc)) from exc
        if kind == "fail_writes" and fault["status"] not in (409, 500):
            raise FaultError("fail_writes status must be 409 or 500")
        if kind == "pod_http" and fault["scope"] not in POD_HTTP_SCOPES:
            raise FaultError("pod_http scope must be one of %s" % ", ".join(POD_HTTP_SCOPES))
        if kind == "pod_http" and not 100 <= fault["status"] <= 599:
            raise FaultError("pod_http status must be an HTTP status (100-599)")
        with self._lock:
            fault["id"] = "fault-%d" % self._next_id
            self._next_id += 1
            self._faults.append(fault)
        self._changed()
        return dict(fault)

    def remove(self, fault_id):
        """Drop one fault; True when it existed."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f["id"] != fault_id]
            removed = len(self._faults) != before
        self._changed()
        return removed

    def clear(self):
        """Drop every fault."""
        with self._lock:
            self._faults = []
        self._changed()

    def list(self):
        """Copies of the active faults."""
        with self._lock:
            return [dict(f) for f in self._faults]

    def configure(self, settings):
        """Change run-time settings (ready_delay, seconds; traffic_rps, requests per second per pod); returns them all."""
        unknown = sorted(set(settings) - set(self.config))
        if unknown:
            raise FaultError("unknown setting %s; the settings are %s" % (", ".join(unknown), ", ".join(sorted(self.config))))
        values = {}
        for name, value in settings.items():
            try:
                values[name] = float(value)
            except (TypeError, ValueError) as exc:
                raise FaultError("%s must be a number, not %r" % (name, value)) from exc
            if values[name] < 0 or values[name] != values[name]:
                raise FaultError("%s must be 0 or more" % name)
        with self._lock:
            self.config.update(values)
            config = dict(self.config)
        self._changed()
        return config

    def ready_delay(self):
        with self._lock:
            return self.config["ready_delay"]

    def traffic_rps(self):
        with self._lock:
            return self.config["traffic_rps"]

    def latency_ms(self, plural, namespace, verb):
        """Total delay for an API request (latency faults, optionally filtered by resource/namespace/verb)."""
        total = 0.0
        with self._lock:
            for fault in self._faults:
                if fault["type"] != "latency":
                    continue
                if fault.get("resource") and (plural is None or not resource_matches(fault["resource"], plural)):
                    continue
                if fault.get("namespace") and fault["namespace"] != namespace:
                    continue
                if fault.get("verb") and fault["verb"] != verb:
                    continue
                total += fault["ms"]
        return total

    def write_failure(self, group, plural, namespace, name):
        """Consume a matching fail_writes fault: (status code, Status body), or None."""
        with self._lock:
            for fault in self._faults:
                if fault["type"] != "fail_writes" or fault["count"] <= 0:
                    continue
                if fault["name"] != name or not resource_matches(fault["resource"], plural):
                    continue
                if namespace is not None and fault["namespace"] != namespace:
                    continue
                fault["count"] -= 1
                status = fault["status"]
                break
            else:
                return None
        qual = "%s.%s" % (plural, group) if group else plural
        details = {"name": name, "kind": plural}
        if group:
            details["group"] = group
        if status == 409:
            return 409, status_body(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                                    'please apply your changes to the latest version and try again' % (qual, name), details)
        return 500, status_body(500, "InternalError", "Internal error occurred: injected fault (fail_writes) for %s %s/%s" % (
            qual, namespace, name), {"causes": [{"message": "injected fault"}]})

    def never_ready(self, namespace, names):
        """True when a never_ready fault targets any of ``names`` (deployment, replicaset or pod) in namespace."""
        with self._lock:
            return any(f["type"] == "never_ready" and f["namespace"] == namespace and f["name"] in names for f in self._faults)

    def pod_http(self, namespace, names, actuator=False):
        """HTTP status forced for a request to a pod, or None; ``actuator``: the request is for /actuator/*,
        which a fault of scope "requests" leaves alone (so the pod is still scraped and probed)."""
        with self._lock:
            for fault in self._faults:
                if fault["type"] == "pod_http" and fault["namespace"] == namespace and fault["name"] in names:
                    if actuator and fault["scope"] == "requests":
                        continue
                    return fault["status"]
        return None

    def pod_down(self, namespace, names):
        """True when a pod_down fault targets any of ``names`` in namespace: its connections get no answer."""
        with self._lock:
            return any(f["type"] == "pod_down" and f["namespace"] == namespace and f["name"] in names for f in self._faults)


class Stats:
    """Counts of API requests through the proxy by verb (discovery counted apart, control calls not at all)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_verb = {}
        self._lists = {}
        self._proxied = {}
        self._dry_run = 0
        self.reset()

    def reset(self):
        """Zero every counter."""
        with self._lock:
            self._by_verb = {verb: 0 for verb in BASE_VERBS}
            self._lists = {}
            self._proxied = {}
            self._dry_run = 0

    def count(self, verb, dry_run=False, listed=None, proxied=None):
        """Record one request; ``listed`` names what a list asked for ("<resource> <labelSelector>", or "<resource> (all)"),
        ``proxied`` what a request through the pods or services proxy reached ("<resource> <namespace>/<name>[:<port>]")."""
        with self._lock:
            self._by_verb[verb] = self._by_verb.get(verb, 0) + 1
            if dry_run:
                self._dry_run += 1
            if listed:
                self._lists[listed] = self._lists.get(listed, 0) + 1
            if proxied:
                self._proxied[proxied] = self._proxied.get(proxied, 0) + 1

    def snapshot(self):
        """The counters: requests, by_verb, writes, dry_run, lists, proxied."""
        with self._lock:
            by_verb = dict(self._by_verb)
            return {
                "requests": sum(by_verb.values()),
                "by_verb": by_verb,
                "writes": sum(by_verb.get(v, 0) for v in WRITE_VERBS),
                "dry_run": self._dry_run,
                # Which lists were asked for, and with which label selector: what a client reads.
                "lists": dict(self._lists),
                # Which Pods and Services were reached through the API server's proxies, and how often.
                "proxied": dict(self._proxied),
            }


def workload_names(pod):
    """The names a fault may give for a pod: the pod, its owner (a ReplicaSet) and that owner's Deployment."""
    metadata = pod.get("metadata") or {}
    names = {metadata.get("name", "")}
    for owner in metadata.get("ownerReferences") or []:
        names.add(owner.get("name", ""))
        if owner.get("kind") == "ReplicaSet":
            template_hash = (metadata.get("labels") or {}).get("pod-template-hash")
            owner_name = owner.get("name", "")
            if template_hash and owner_name.endswith("-" + template_hash):
                names.add(owner_name[:-len(template_hash) - 1])
            else:
                names.add(owner_name.rsplit("-", 1)[0])
    names.discard("")
    return names

"""Pending states on request: resources that take time, as AWS's do, when a test asks for it.

moto creates, modifies and deletes everything at once: an RDS instance is ``available`` in the answer to its
CreateDBInstance, an EKS cluster ``ACTIVE`` in the answer to its CreateCluster. On AWS they pass through a pending
state for minutes, and the code that waits for them (the waiters of the modules, the role's own polling) is only
exercised when that state lasts. A delay set here for a service keeps the resources that service creates, modifies or
deletes in their pending state for that many seconds:

  service       resources                                   create       modify       delete
  rds           DB instances                                creating     modifying    deleting, then gone
  elasticache   replication groups and their cache clusters creating     modifying    deleting, then gone
  eks           clusters and managed node groups            CREATING     UPDATING     DELETING, then gone
  ec2           NAT gateways                                pending      -            deleting, then deleted

The default is no delay: moto's instant behaviour. Transitions are due at a time, and they happen when moto handles
its next request (any request, the control calls included), so what a client reads is always consistent with what it
read before. The delays live in the moto server's process and are set over HTTP at /_sandbox/pending (see
``control_answer``; the client is motofix.control.MotoFix).
"""

import heapq
import itertools
import json
import threading
import time

CONTROL_PATH = "/_sandbox/pending"
SERVICES = {
    "rds": "DB instances",
    "elasticache": "replication groups and their cache clusters",
    "eks": "clusters and managed node groups",
    "ec2": "NAT gateways",
}
ACTIONS = ("create", "modify", "delete")
# A test that asks for more than an hour is mistaken; AWS's slowest creations take about half of that.
MAX_SECONDS = 3600
LOCAL_ADDRESSES = ("127.0.0.1", "::1", "localhost")
KNOWN = ("GET /_sandbox/pending, POST /_sandbox/pending {\"service\", \"seconds\"[, \"actions\"]}, DELETE /_sandbox/pending[/<service>], "
         "POST /_sandbox/pending/settle")


class PendingError(ValueError):
    """A control call the registry refuses; the message says why."""


class Pending:
    """The delays by service and the transitions that are due later; shared by every request thread."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.RLock()
        self._delays = {}
        self._due = []
        self._sequence = itertools.count()

    def set(self, service, seconds, actions=ACTIONS):
        if service not in SERVICES:
            raise PendingError("unknown service %r; the services with pending states are %s" % (service, ", ".join(sorted(SERVICES))))
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_SECONDS:
            raise PendingError("seconds must be a number from 0 to %d, not %r" % (MAX_SECONDS, seconds))
        if isinstance(actions, str) or not isinstance(actions, (list, tuple)) or not actions or any(a not in ACTIONS for a in actions):
            raise PendingError("actions must be a non-empty list of %s, not %r" % (", ".join(ACTIONS), actions))
        with self._lock:
            if seconds == 0:
                self._delays.pop(service, None)
            else:
                self._delays[service] = {"seconds": float(seconds), "actions": [a for a in ACTIONS if a in actions]}

    def clear(self, service=None):
        with self._lock:
            if service is None:
                self._delays.clear()
            elif service not in SERVICES:
                raise PendingError("unknown service %r; the services with pending states are %s" % (service, ", ".join(sorted(SERVICES))))
            else:
                self._delays.pop(service, None)

    def snapshot(self):
        with self._lock:
            return {service: dict(delay, actions=list(delay["actions"])) for service, delay in sorted(self._delays.items())}

    def waiting(self):
        with self._lock:
            return len(self._due)

    def delay(self, service, action):
        """Seconds that ``action`` (create, modify or delete) of ``service`` keeps its resource pending; 0 when none."""
        with self._lock:
            delay = self._delays.get(service)
            return delay["seconds"] if delay and action in delay["actions"] else 0

    def later(self, seconds, callback):
        with self._lock:
            heapq.heappush(self._due, (self.clock() + seconds, next(self._sequence), callback))

    def run_due(self, everything=False):
        """Run the transitions whose time has come (all of them with ``everything``), in the order they were due."""
        while True:
            with self._lock:
                if not self._due or (not everything and self._due[0][0] > self.clock()):
                    return
                _when, _order, callback = heapq.heappop(self._due)
            callback()


PENDING = Pending()


def after(service, action, callback):
    """Run ``callback`` once the service's delay of ``action`` has passed (at once without a delay); True when it waits."""
    seconds = PENDING.delay(service, action)
    if not seconds:
        callback()
        return False
    PENDING.later(seconds, callback)
    return True


def hold(service, action, obj, attr, pending_value, final_value, then=None):
    """Set ``obj.attr`` to ``pending_value`` for the service's delay of ``action``, then to ``final_value``.

    Without a delay the attribute gets ``final_value`` at once and False is returned. The final value is only set if
    the attribute still holds the pending one (a resource deleted while it was being created stays deleting);
    ``then`` runs after it."""
    seconds = PENDING.delay(service, action)
    if not seconds:
        setattr(obj, attr, final_value)
        if then:
            then()
        return False
    setattr(obj, attr, pending_value)

    def finish():
        if getattr(obj, attr) == pending_value:
            setattr(obj, attr, final_value)
            if then:
                then()

    PENDING.later(seconds, finish)
    return True


def linger(service, container, key, obj, attr, deleting_value, gone=None):
    """Keep a deleted resource listed in ``container[key]`` as ``deleting_value`` for the service's delete delay.

    ``gone`` runs when it goes (at once without a delay), for what depends on it. True when it lingers."""
    seconds = PENDING.delay(service, "delete")
    setattr(obj, attr, deleting_value)
    if not seconds:
        if container.get(key) is obj:
            del container[key]
        if gone:
            gone()
        return False
    container[key] = obj

    def finish():
        if container.get(key) is obj:
            del container[key]
        if gone:
            gone()

    PENDING.later(seconds, finish)
    return True


def control_answer(method, parts, body, registry=PENDING):
    """(HTTP status, JSON answer) of a /_sandbox/pending call; ``parts`` is the path after /_sandbox/pending.

      GET    /_sandbox/pending                  {"pending": {"rds": {"seconds": 30.0, "actions": ["create", "modify", "delete"]}},
                                                 "waiting": 2, "services": {...}}
      POST   /_sandbox/pending                  body {"service": "rds", "seconds": 30, "actions": ["create"]} (actions optional:
                                                 all three); seconds 0 removes the delay. Answers like GET.
      DELETE /_sandbox/pending                  no delay for any service (what is pending stays so until its time)
      DELETE /_sandbox/pending/<service>        no delay for that service
      POST   /_sandbox/pending/settle           every pending transition happens now
    """
    try:
        if not parts and method == "GET":
            pass
        elif not parts and method == "POST":
            if not isinstance(body, dict) or "service" not in body or "seconds" not in body:
                raise PendingError('the body must be a JSON object {"service": ..., "seconds": ...[, "actions": [...]]}')
            unknown = sorted(set(body) - {"service", "seconds", "actions"})
            if unknown:
                raise PendingError("unknown field(s) %s; the fields are service, seconds and actions" % ", ".join(unknown))
            registry.set(body["service"], body["seconds"], body.get("actions", ACTIONS))
        elif not parts and method == "DELETE":
            registry.clear()
        elif len(parts) == 1 and method == "DELETE" and parts[0] != "settle":
            registry.clear(parts[0])
        elif parts == ["settle"] and method == "POST":
            registry.run_due(everything=True)
        else:
            return 404, {"error": "unknown control call %s %s; known: %s" % (method, "/".join([CONTROL_PATH] + parts), KNOWN)}
    except PendingError as exc:
        return 400, {"error": str(exc)}
    return 200, {"pending": registry.snapshot(), "waiting": registry.waiting(), "services": dict(SERVICES)}


def _read_json(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise PendingError("Content-Length is not a number") from exc
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise PendingError("the body is not JSON: %s" % exc) from exc


def control_app(environ, start_response):
    """The WSGI answer to a /_sandbox/pending request; only for clients on this machine."""
    if environ.get("REMOTE_ADDR") not in LOCAL_ADDRESSES:
        status, answer = 403, {"error": "the sandbox's pending control answers 127.0.0.1 only"}
    else:
        path = environ.get("PATH_INFO", "")
        parts = [part for part in path[len(CONTROL_PATH):].split("/") if part]
        try:
            body = _read_json(environ)
        except PendingError as exc:
            status, answer = 400, {"error": str(exc)}
        else:
            status, answer = control_answer(environ.get("REQUEST_METHOD", "GET"), parts, body)
    payload = json.dumps(answer).encode()
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}[status]
    start_response("%d %s" % (status, reason), [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def install():
    """Route /_sandbox/pending to control_app and run due transitions before every request moto's server handles.

    Both ``moto_server`` (moto.server.main) and ThreadedMotoServer serve a DomainDispatcherApplication, so patching
    its __call__ covers the sandbox's server and the in-process servers of the tests alike."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # pylint: disable=import-outside-toplevel

    original = DomainDispatcherApplication.__call__
    if getattr(original, "motofix", False):
        return

    def __call__(self, environ, start_response):
        PENDING.run_due()
        path = environ.get("PATH_INFO", "")
        if path == CONTROL_PATH or path.startswith(CONTROL_PATH + "/"):
            return control_app(environ, start_response)
        return original(self, environ, start_response)

    __call__.motofix = True
    DomainDispatcherApplication.__call__ = __call__

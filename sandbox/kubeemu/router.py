"""Maps API URLs and HTTP methods to verbs and API calls; applies stats and injected faults.

URL shapes served (as the real API server):
  /version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>
  <prefix>/<resource>[/<name>[/<subresource>[/<path>]]]                      (cluster scope, or all namespaces for lists)
  <prefix>/namespaces/<ns>/<resource>[/<name>[/<subresource>[/<path>]]]    (namespaced)
"""

import dataclasses
import time
from urllib.parse import unquote

from .api import parse_body
from .errors import bad_request, method_not_allowed, no_route

VERSION_INFO = {
    "major": "1", "minor": "30", "gitVersion": "v1.30.0", "gitCommit": "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a", "gitTreeState": "clean",
    "buildDate": "2024-04-17T17:27:03Z", "goVersion": "go1.22.2", "compiler": "gc", "platform": "linux/amd64",
}
WATCH_DEFAULT_TIMEOUT = 60.0
WRITE_VERBS = ("create", "update", "patch", "delete")


@dataclasses.dataclass
class Response:
    """What the HTTP layer sends: a JSON body (dict), raw text, or a stream of watch events."""

    status: int
    body: object = None
    content_type: str = "application/json"
    stream: object = None


@dataclasses.dataclass
class Target:
    """A parsed resource URL."""

    rdef: object
    namespace: str
    name: str
    subresource: str
    subpath: str


def _flag(value):
    return value is not None and value.lower() in ("true", "1")


def _int_param(query, key):
    if query.get(key) in (None, ""):
        return None
    try:
        return int(query[key])
    except ValueError as exc:
        raise bad_request("invalid value for %s: %s" % (key, query[key])) from exc


def parse_target(registry, group, version, raw_segments):
    """Resolve the segments after /api/v1 or /apis/<g>/<v> into a Target, or raise 404."""
    segments = [unquote(s) for s in raw_segments]
    namespace = None
    # /namespaces/<ns>/<resource>... is a namespaced path, except the namespace's own subresources.
    if segments[0] == "namespaces" and len(segments) >= 3 and not (len(segments) == 3 and segments[2] in ("status", "finalize")):
        namespace = segments[1]
        segments, raw_segments = segments[2:], raw_segments[2:]
    rdef = registry.lookup(group, version, segments[0])
    if rdef is None:
        raise no_route()
    name = segments[1] if len(segments) > 1 else None
    sub = segments[2] if len(segments) > 2 else None
    subpath = unquote("/".join(raw_segments[3:])) if len(segments) > 3 else ""
    if rdef.namespaced and namespace is None and name is not None:
        raise no_route()
    if not rdef.namespaced and namespace is not None:
        raise no_route()
    if sub is not None and sub not in rdef.subresources:
        raise no_route()
    if sub != "proxy" and len(segments) > 3:
        raise no_route()
    return Target(rdef, namespace, name, sub, subpath)


def verb_for(method, target, query):
    """The Kubernetes verb of a request (used for stats, faults and dispatch)."""
    if target.subresource == "proxy":
        return "proxy"
    if target.name is None:
        verbs = {"GET": "watch" if _flag(query.get("watch")) else "list", "POST": "create", "DELETE": "deletecollection"}
    else:
        verbs = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    if method not in verbs or (target.subresource is None and verbs[method] not in target.rdef.verbs):
        raise method_not_allowed()
    return verbs[method]


def discovery(emu, segments, host):
    """Discovery documents, or None when the path is not a discovery path."""
    registry = emu.registry
    if segments == ["version"]:
        return VERSION_INFO
    if segments == ["api"]:
        return registry.api_versions(host)
    if segments == ["apis"]:
        return registry.api_group_list()
    if len(segments) == 2 and segments[0] == "apis":
        if segments[1] not in registry.groups():
            raise no_route()
        body = registry.api_group(segments[1])
        body.update(kind="APIGroup", apiVersion="v1")
        return body
    if (len(segments) == 2 and segments[0] == "api") or (len(segments) == 3 and segments[0] == "apis"):
        group, version = ("", segments[1]) if segments[0] == "api" else (segments[1], segments[2])
        body = registry.api_resource_list(group, version)
        if body is None:
            raise no_route()
        return body
    return None


def route(emu, method, path, query, content_type, raw_body, host):
    """Handle one API request (not /_emulator) and return a Response."""
    if path in ("/healthz", "/livez", "/readyz"):
        return Response(200, "ok", "text/plain")
    raw_segments = [s for s in path.split("/") if s]
    if not raw_segments:
        return Response(200, {"paths": ["/api", "/api/v1", "/apis", "/version", "/healthz"]})
    if path.startswith("/openapi"):
        raise no_route()
    body = discovery(emu, raw_segments, host)
    if body is not None:
        emu.stats.count("discovery")
        delay = emu.faults.latency_ms(None, None, "discovery")
        if delay:
            time.sleep(delay / 1000.0)
        return Response(200, body)
    if raw_segments[0] == "api" and len(raw_segments) > 2:
        group, version, rest = "", raw_segments[1], raw_segments[2:]
    elif raw_segments[0] == "apis" and len(raw_segments) > 3:
        group, version, rest = raw_segments[1], raw_segments[2], raw_segments[3:]
    else:
        raise no_route()
    target = parse_target(emu.registry, group, version, rest)
    verb = verb_for(method, target, query)
    dry_run_value = query.get("dryRun")
    if dry_run_value not in (None, "", "All"):
        raise bad_request('dryRun: Unsupported value: "%s": supported values: "All"' % dry_run_value)
    dry_run = dry_run_value == "All"
    emu.stats.count(verb, dry_run)
    delay = emu.faults.latency_ms(target.rdef, target.namespace, verb)
    if delay:
        time.sleep(delay / 1000.0)
    body = None
    if verb in ("create", "update"):
        if not raw_body:
            raise bad_request("the request body is empty")
        body = parse_body(raw_body, content_type)
    if verb in WRITE_VERBS:
        name = target.name
        if verb == "create":
            name = (body.get("metadata") or {}).get("name") if isinstance(body, dict) and isinstance(body.get("metadata"), dict) else None
        if name:
            emu.faults.check_write(target.rdef, target.namespace or "", name)
    if verb == "watch":
        timeout = _int_param(query, "timeoutSeconds") or WATCH_DEFAULT_TIMEOUT
        stream = emu.api.watch(target.rdef, target.namespace, query.get("labelSelector"), query.get("fieldSelector"),
                               query.get("resourceVersion"), float(timeout), emu.stopping)
        return Response(200, stream=stream)
    with emu.store.lock:
        return _dispatch(emu, method, verb, target, query, content_type, raw_body, body, dry_run)


def _delete_options(raw_body, query):
    options = {}
    if raw_body and raw_body.strip():
        options = parse_body(raw_body)
        if not isinstance(options, dict):
            raise bad_request("DeleteOptions must be a JSON object")
    if query.get("propagationPolicy"):
        options["propagationPolicy"] = query["propagationPolicy"]
    if query.get("orphanDependents"):
        options["orphanDependents"] = _flag(query["orphanDependents"])
    return options


def _dispatch(emu, method, verb, target, query, content_type, raw_body, body, dry_run):
    api, rdef, ns, name, sub = emu.api, target.rdef, target.namespace, target.name, target.subresource
    if verb == "proxy":
        code, payload = api.proxy(rdef, ns, name, target.subpath)
        return Response(code, payload if method != "HEAD" else None, "application/vnd.spring-boot.actuator.v3+json")
    if sub == "log":
        api.get(rdef, ns, name)
        return Response(200, "emulated log of pod %s/%s: nothing to see\n" % (ns, name), "text/plain")
    if sub == "scale":
        if verb == "get":
            return Response(200, api.scale_get(rdef, ns, name))
        if verb == "update":
            return Response(200, api.scale_write(rdef, ns, name, body, dry_run))
        if verb == "patch":
            return Response(200, api.scale_patch(rdef, ns, name, content_type, raw_body, dry_run))
        raise method_not_allowed()
    if verb == "get":
        return Response(200, api.get(rdef, ns, name))
    if verb == "list":
        return Response(200, api.list(rdef, ns, query.get("labelSelector"), query.get("fieldSelector"), _int_param(query, "limit"),
                                      query.get("continue")))
    if verb == "create":
        if sub is not None:
            raise method_not_allowed()
        return Response(201, api.create(rdef, ns, body, dry_run))
    if verb == "update":
        return Response(200, api.update(rdef, ns, name, body, dry_run, sub))
    if verb == "patch":
        code, obj = api.patch(rdef, ns, name, content_type, raw_body, dry_run, sub, query.get("fieldManager"))
        return Response(code, obj)
    if verb == "delete" and sub is None:
        return Response(200, api.delete(rdef, ns, name, _delete_options(raw_body, query), dry_run))
    if verb == "deletecollection":
        return Response(200, api.delete_collection(rdef, ns, query.get("labelSelector"), query.get("fieldSelector"),
                                                   _delete_options(raw_body, query), dry_run))
    raise method_not_allowed()

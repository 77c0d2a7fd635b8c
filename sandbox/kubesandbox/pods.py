"""The sandbox's pods: a watch of every pod, the readiness gate kwok's stages key on, and the stand-in
that answers HTTP at every pod's own IP like a loyalty service built with Spring Boot.
"""

import datetime
import heapq
import json
import logging
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import yaml

from .client import ApiError
from .faults import workload_names

LOG = logging.getLogger("kubesandbox.pods")
READY_LABEL = "sandbox.loyalty.platform/ready"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The application path synthetic traffic (the traffic_rps setting) requests; a real GET of it answers 200 too.
TRAFFIC_URI = "/api/v1/ping"


def _is_true_condition(pod, kind):
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def _uptime(pod):
    """Seconds since the pod's containers started (status.startTime)."""
    started = (pod.get("status") or {}).get("startTime")
    if not started:
        return 0.0
    moment = datetime.datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (datetime.datetime.now(datetime.timezone.utc) - moment).total_seconds())


class PodWatcher:
    """Every pod of the cluster, kept current by a list and a watch; looked up by IP or uid."""

    def __init__(self, client):
        self.client = client
        self.lock = threading.Lock()
        self.pods = {}
        self.by_ip = {}
        self.listeners = []
        self.synced = threading.Event()

    def get_by_ip(self, ip):
        with self.lock:
            uid = self.by_ip.get(ip)
            return self.pods.get(uid) if uid else None

    def snapshot(self):
        with self.lock:
            return list(self.pods.values())

    def _store(self, kind, pod):
        uid = pod["metadata"]["uid"]
        with self.lock:
            old = self.pods.get(uid)
            if old is not None:
                old_ip = (old.get("status") or {}).get("podIP")
                if old_ip and self.by_ip.get(old_ip) == uid:
                    del self.by_ip[old_ip]
            if kind == "DELETED":
                self.pods.pop(uid, None)
            else:
                self.pods[uid] = pod
                ip = (pod.get("status") or {}).get("podIP")
                if ip:
                    self.by_ip[ip] = uid
        for listener in self.listeners:
            listener(kind, pod)

    def run(self, stop):
        while not stop.is_set():
            try:
                listing = self.client.get("/api/v1/pods")
                seen = set()
                for pod in listing.get("items") or []:
                    seen.add(pod["metadata"]["uid"])
                    self._store("ADDED", pod)
                with self.lock:
                    gone = [p for uid, p in self.pods.items() if uid not in seen]
                for pod in gone:
                    self._store("DELETED", pod)
                self.synced.set()
                version = listing["metadata"]["resourceVersion"]
                for event in self.client.watch("/api/v1/pods", version):
                    if stop.is_set():
                        return
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "BOOKMARK":
                        continue
                    if kind == "ERROR":
                        break
                    self._store(kind, obj)
            except Exception as exc:  # pylint: disable=broad-except
                LOG.warning("pod watch restarts after: %s", exc)
                stop.wait(0.5)


class ReadinessGate:
    """Labels each running pod ready=true after the configured delay, unless a never_ready fault names it.

    kwok's pod-ready stage turns a pod Ready only once it carries the label, so the label plays the
    part of a passing readiness probe. A pod that is Ready already stays Ready (as before).
    """

    def __init__(self, client, watcher, faults):
        self.client = client
        self.watcher = watcher
        self.faults = faults
        self.cond = threading.Condition()
        self.queue = []
        self.pending = set()
        watcher.listeners.append(self._on_event)
        faults.listeners.append(self.recheck)

    def _wants_label(self, pod):
        metadata = pod.get("metadata") or {}
        status = pod.get("status") or {}
        if metadata.get("deletionTimestamp") or (metadata.get("labels") or {}).get(READY_LABEL) == "true":
            return False
        if status.get("phase") != "Running":
            return False
        return not self.faults.never_ready(metadata.get("namespace", ""), workload_names(pod))

    def _on_event(self, kind, pod):
        if kind != "DELETED" and self._wants_label(pod):
            self._schedule(pod, self.faults.ready_delay())

    def _schedule(self, pod, delay):
        uid = pod["metadata"]["uid"]
        with self.cond:
            if uid in self.pending:
                return
            self.pending.add(uid)
            heapq.heappush(self.queue, (time.monotonic() + delay, uid))
            self.cond.notify()

    def recheck(self):
        """A fault or the delay changed: every pod that now may turn ready gets its turn."""
        for pod in self.watcher.snapshot():
            if self._wants_label(pod):
                self._schedule(pod, self.faults.ready_delay())

    def run(self, stop):
        while not stop.is_set():
            with self.cond:
                while not self.queue and not stop.is_set():
                    self.cond.wait(0.5)
                if stop.is_set():
                    return
                due, uid = self.queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self.cond.wait(min(wait, 0.5))
                    continue
                heapq.heappop(self.queue)
                self.pending.discard(uid)
            with self.watcher.lock:
                pod = self.watcher.pods.get(uid)
            if pod is None or not self._wants_label(pod):
                continue
            metadata = pod["metadata"]
            path = "/api/v1/namespaces/%s/pods/%s" % (metadata["namespace"], metadata["name"])
            try:
                self.client.patch(path, {"metadata": {"labels": {READY_LABEL: "true"}}})
            except ApiError as exc:
                if exc.code != 404:
                    LOG.warning("could not label %s ready: %s", path, exc)
                    self._schedule(pod, 0.5)
            except OSError as exc:
                LOG.warning("could not label %s ready: %s", path, exc)
                self._schedule(pod, 0.5)


class AppConfig:
    """A pod's Spring Boot settings: server.port and server.servlet.context-path from the application.yml
    of its ConfigMap volume, overridden by SERVER_PORT / SERVER_SERVLET_CONTEXT_PATH in its environment."""

    def __init__(self, client):
        self.client = client
        self.cache = {}
        self.lock = threading.Lock()

    def _configmap_yaml(self, namespace, name):
        key = (namespace, name)
        now = time.monotonic()
        with self.lock:
            cached = self.cache.get(key)
            if cached and now - cached[0] < 1.0:
                return cached[1]
        try:
            data = self.client.get("/api/v1/namespaces/%s/configmaps/%s" % (namespace, name)).get("data") or {}
        except ApiError:
            data = {}
        settings = {}
        for text in data.values():
            try:
                doc = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("server"), dict):
                settings = doc["server"]
                break
        with self.lock:
            self.cache[key] = (now, settings)
        return settings

    def of(self, pod):
        spec = pod.get("spec") or {}
        port, context_path = 8080, ""
        mounted = {}
        for volume in spec.get("volumes") or []:
            if volume.get("configMap"):
                mounted[volume["name"]] = volume["configMap"].get("name")
        containers = spec.get("containers") or [{}]
        mounts = [m.get("name") for m in containers[0].get("volumeMounts") or []]
        for volume_name in mounts:
            if volume_name in mounted:
                server = self._configmap_yaml(pod["metadata"]["namespace"], mounted[volume_name])
                if server:
                    port = int(server.get("port") or port)
                    servlet = server.get("servlet") if isinstance(server.get("servlet"), dict) else {}
                    context_path = servlet.get("context-path") or context_path
                    break
        for env in containers[0].get("env") or []:
            if env.get("name") == "SERVER_PORT" and env.get("value"):
                port = int(env["value"])
            if env.get("name") == "SERVER_SERVLET_CONTEXT_PATH" and env.get("value") is not None:
                context_path = env["value"]
        return port, context_path.rstrip("/")


class Metrics:
    """Micrometer-style request counters per pod, kept for the series /actuator/prometheus serves."""

    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self):
        self.lock = threading.Lock()
        self.series = {}

    def observe(self, uid, method, uri, status, seconds, count=1):
        """Record ``count`` requests that each took ``seconds``."""
        key = (uid, method, uri, str(status))
        with self.lock:
            entry = self.series.setdefault(key, {"count": 0, "sum": 0.0, "buckets": [0] * len(self.BUCKETS)})
            entry["count"] += count
            entry["sum"] += seconds * count
            for index, bound in enumerate(self.BUCKETS):
                if seconds <= bound:
                    entry["buckets"][index] += count

    def forget(self, uid):
        """Drop a deleted pod's series (its uid never comes back)."""
        with self.lock:
            for key in [k for k in self.series if k[0] == uid]:
                del self.series[key]

    def render(self, uid, app, uptime):
        lines = [
            "# HELP http_server_requests_seconds Duration of HTTP server request handling",
            "# TYPE http_server_requests_seconds histogram",
        ]
        with self.lock:
            items = sorted((k, dict(v, buckets=list(v["buckets"]))) for k, v in self.series.items() if k[0] == uid)
        for (_uid, method, uri, status), entry in items:
            outcome = "SUCCESS" if status.startswith("2") else "CLIENT_ERROR" if status.startswith("4") else "SERVER_ERROR"
            labels = 'application="%s",exception="none",method="%s",outcome="%s",status="%s",uri="%s"' % (
                app, method, outcome, status, uri)
            for bound, count in zip(self.BUCKETS, entry["buckets"]):
                lines.append('http_server_requests_seconds_bucket{%s,le="%s"} %d' % (labels, bound, count))
            lines.append('http_server_requests_seconds_bucket{%s,le="+Inf"} %d' % (labels, entry["count"]))
            lines.append("http_server_requests_seconds_count{%s} %d" % (labels, entry["count"]))
            lines.append("http_server_requests_seconds_sum{%s} %.6f" % (labels, entry["sum"]))
        lines += [
            "# HELP jvm_memory_used_bytes The amount of used memory",
            "# TYPE jvm_memory_used_bytes gauge",
            'jvm_memory_used_bytes{application="%s",area="heap",id="G1 Eden Space"} 1.2582912E8' % app,
            "# HELP jvm_memory_max_bytes The maximum amount of memory in bytes that can be used for memory management",
            "# TYPE jvm_memory_max_bytes gauge",
            'jvm_memory_max_bytes{application="%s",area="heap",id="G1 Eden Space"} -1.0' % app,
            "# HELP process_uptime_seconds The uptime of the Java virtual machine",
            "# TYPE process_uptime_seconds gauge",
            'process_uptime_seconds{application="%s"} %.3f' % (app, uptime),
        ]
        return ("\n".join(lines) + "\n").encode()


def _application(pod):
    """The Micrometer `application` tag: the pod's app label, as spring.application.name is set from it."""
    return (pod["metadata"].get("labels") or {}).get("app") or pod["metadata"]["name"]


def _is_actuator(local_path):
    """Whether a path (inside the context path) is Spring Boot's actuator, which a pod_http fault of scope
    "requests" leaves answering."""
    return local_path is not None and (local_path == "/actuator" or local_path.startswith("/actuator/"))


class Traffic:
    """Synthetic requests: each Running pod records ``traffic_rps`` GETs of TRAFFIC_URI a second in its request
    series, with the status its pod_http faults dictate, so request rates and error ratios move without a client."""

    TICK = 0.5
    SECONDS = 0.012  # each synthetic request's duration, inside the histogram's 0.025 bucket

    def __init__(self, watcher, faults, metrics):
        self.watcher = watcher
        self.faults = faults
        self.metrics = metrics
        # Requests owed to each pod but not yet recorded (fractions of one, carried to the next tick).
        self.owed = {}

    def tick(self, elapsed):
        """Record ``elapsed`` seconds of traffic; returns the number of requests recorded."""
        rps = self.faults.traffic_rps()
        if rps <= 0:
            self.owed.clear()
            return 0
        recorded = 0
        live = set()
        for pod in self.watcher.snapshot():
            metadata = pod.get("metadata") or {}
            if (pod.get("status") or {}).get("phase") != "Running" or metadata.get("deletionTimestamp"):
                continue
            names = workload_names(pod)
            namespace = metadata.get("namespace", "")
            if self.faults.pod_down(namespace, names):
                continue
            uid = metadata["uid"]
            live.add(uid)
            owed = self.owed.get(uid, 0.0) + rps * elapsed
            count = int(owed)
            self.owed[uid] = owed - count
            if count:
                status = self.faults.pod_http(namespace, names) or 200
                self.metrics.observe(uid, "GET", TRAFFIC_URI, status, self.SECONDS, count)
                recorded += count
        for uid in set(self.owed) - live:
            del self.owed[uid]
        return recorded

    def run(self, stop):
        last = time.monotonic()
        while not stop.wait(self.TICK):
            now = time.monotonic()
            try:
                self.tick(now - last)
            except Exception as exc:  # pylint: disable=broad-except
                LOG.warning("synthetic traffic skipped a tick: %s", exc)
            last = now


class PodHandler(BaseHTTPRequestHandler):
    """One connection to a pod IP; which pod it is comes from the address it was accepted on."""

    protocol_version = "HTTP/1.1"
    server_version = "loyalty-standin/1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        LOG.debug(format, *args)

    def do_GET(self):  # noqa: N802 - the name BaseHTTPRequestHandler calls
        """Answer as the pod's Spring Boot application would."""
        started = time.monotonic()
        standin = self.server.standin
        local_ip, local_port = self.connection.getsockname()[:2]
        pod = standin.watcher.get_by_ip(local_ip)
        # pod_down is checked at each request too: a keep-alive connection (a scraper's) outlives the fault's start.
        if pod is None or standin.faults.pod_down(pod["metadata"].get("namespace", ""), workload_names(pod)):
            self.close_connection = True
            return
        port, context_path = standin.config.of(pod)
        if port != local_port:
            # Nothing listens on that port of this pod: the connection is refused.
            self.close_connection = True
            return
        path = urllib.parse.urlsplit(self.path).path
        namespace = pod["metadata"].get("namespace", "")
        ready = _is_true_condition(pod, "Ready")
        app = _application(pod)
        content_type = "application/vnd.spring-boot.actuator.v3+json"
        uri = path
        inside = path.startswith(context_path + "/") or path == context_path
        local = (path[len(context_path):] or "/") if inside else None
        forced = standin.faults.pod_http(namespace, workload_names(pod), actuator=_is_actuator(local))
        if not inside:
            status, body, uri = 404, {"timestamp": time.time(), "status": 404, "error": "Not Found", "path": path}, "/**"
            content_type = "application/json"
        else:
            uri = local
            if local == TRAFFIC_URI:
                status, body, content_type = 200, {"status": "ok"}, "application/json"
            elif local == "/actuator/health/liveness":
                status, body = 200, {"status": "UP"}
            elif local in ("/actuator/health/readiness", "/actuator/health"):
                status, body = (200, {"status": "UP"}) if ready else (503, {"status": "OUT_OF_SERVICE"})
            elif local == "/actuator/prometheus":
                status, body, content_type = 200, None, METRICS_CONTENT_TYPE
            elif local == "/actuator/info":
                status, body = 200, {"app": {"name": app}}
            else:
                status, body, uri = 404, {"status": 404, "error": "Not Found", "path": path}, "/**"
                content_type = "application/json"
        if forced is not None:
            status, body, content_type = forced, {"status": "DOWN", "error": "injected fault"}, "application/json"
        if body is None:
            payload = standin.metrics.render(pod["metadata"]["uid"], app, _uptime(pod))
        else:
            payload = json.dumps(body).encode()
        standin.metrics.observe(pod["metadata"]["uid"], "GET", uri, status, time.monotonic() - started)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_HEAD = do_GET


class _PodServer:
    """A ThreadingHTTPServer-like loop around a socket that was bound inside the pod network namespace."""

    def __init__(self, sock, standin):
        self.socket = sock
        self.standin = standin

    def serve(self, stop):
        self.socket.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, address = self.socket.accept()
            except socket.timeout:
                continue
            except OSError:
                if stop.is_set():
                    return
                raise
            conn.settimeout(None)
            threading.Thread(target=self._handle, args=(conn, address), daemon=True).start()

    def _handle(self, conn, address):
        try:
            pod = self.standin.watcher.get_by_ip(conn.getsockname()[0])
            if pod is not None and self.standin.faults.pod_down(pod["metadata"].get("namespace", ""), workload_names(pod)):
                # A pod_down fault: the connection is accepted (the address is the namespace's) and closed unanswered.
                return
            PodHandler(conn, address, self)
        except (OSError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass


class StandIn:
    """Serves every pod's HTTP from sockets bound in the pod network namespace."""

    def __init__(self, sockets, watcher, faults, client):
        self.servers = [_PodServer(sock, self) for sock in sockets]
        self.watcher = watcher
        self.faults = faults
        self.config = AppConfig(client)
        self.metrics = Metrics()
        self.traffic = Traffic(watcher, faults, self.metrics)
        watcher.listeners.append(self._on_event)

    def _on_event(self, kind, pod):
        if kind == "DELETED":
            self.metrics.forget(pod["metadata"]["uid"])

    def threads(self, stop):
        return [threading.Thread(target=server.serve, args=(stop,), daemon=True) for server in self.servers] + [
            threading.Thread(target=self.traffic.run, args=(stop,), daemon=True)]

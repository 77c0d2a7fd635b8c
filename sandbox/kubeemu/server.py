"""HTTP front end: bearer-token auth, keep-alive HTTP/1.1, the /_emulator control endpoint, and the
Emulator object that wires store, registry, API, controller, faults and stats together.
"""

import hmac
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .api import Allocator, Api, parse_body
from .controller import HOST_IP, NODE_NAME, Controller
from .errors import ApiError, bad_request, internal_error, no_route, unauthorized
from .faults import Faults, Stats
from .resources import MONITORING_CRDS, Registry, monitoring_crd
from .router import Response, route
from .store import Store
from .util import dig

LOG = logging.getLogger("kubeemu")
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Emulator:
    """All state of one emulated cluster."""

    def __init__(self, token, ready_delay=0.5):
        self.token = token
        self.config = {"ready_delay": float(ready_delay)}
        self.store = Store()
        self.registry = Registry()
        self.allocator = Allocator()
        self.faults = Faults()
        self.stats = Stats()
        self.hpa_desired = {}
        self.stopping = threading.Event()
        self.api = Api(self)
        self.controller = Controller(self)
        self.bootstrap()

    def _def(self, group, version, plural):
        return self.registry.lookup(group, version, plural)

    def bootstrap(self):
        """Create what a fresh cluster has: namespaces, a node, the kubernetes Service and the prometheus-operator CRDs."""
        with self.store.lock:
            ns_def = self._def("", "v1", "namespaces")
            for name in DEFAULT_NAMESPACES:
                self.api.create(ns_def, None, {"metadata": {"name": name}}, internal=True)
            self.api.create(self._def("", "v1", "nodes"), None, {
                "metadata": {"name": NODE_NAME, "labels": {
                    "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": "m5.large", "topology.kubernetes.io/region": "us-east-1",
                    "topology.kubernetes.io/zone": "us-east-1a", "eks.amazonaws.com/nodegroup": "emulated"}},
                "spec": {"podCIDR": "10.244.0.0/16", "providerID": "aws:///us-east-1a/i-0000000000emulated"},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
                    "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname", "address": NODE_NAME}],
                    "capacity": {"cpu": "2", "memory": "8009436Ki", "pods": "110"},
                    "allocatable": {"cpu": "1930m", "memory": "7317212Ki", "pods": "110"},
                    "nodeInfo": {"kubeletVersion": "v1.30.0", "kubeProxyVersion": "v1.30.0", "containerRuntimeVersion": "containerd://1.7.11",
                                 "operatingSystem": "linux", "architecture": "amd64", "osImage": "Amazon Linux 2023 (emulated)",
                                 "kernelVersion": "6.1.0-emulated", "machineID": "emulated", "systemUUID": "emulated", "bootID": "emulated"},
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                },
            }, internal=True)
            self.api.create(self._def("", "v1", "services"), "default", {
                "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
            }, internal=True)
            crd_def = self._def("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            for spec in MONITORING_CRDS:
                self.api.create(crd_def, None, monitoring_crd(*spec), internal=True)

    def reset(self):
        """Back to a fresh cluster: objects, faults, stats and HPA overrides are dropped."""
        with self.store.lock:
            self.store.clear()
            self.registry = Registry()
            self.allocator = Allocator()
            self.faults.clear()
            self.hpa_desired.clear()
            self.controller.reset()
            self.bootstrap()
            self.stats.reset()

    # ---- control endpoint --------------------------------------------------------------------

    def control(self, method, path, raw):
        """Handle /_emulator/* requests (tests and benchmarks drive faults, stats and config here)."""
        body = parse_body(raw) if raw and raw.strip() else {}
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        try:
            return self._control(method, path, body)
        except (TypeError, ValueError) as exc:
            raise bad_request("invalid control request: %s" % exc) from exc

    def _control(self, method, path, body):
        parts = [p for p in path.split("/") if p][1:]
        if parts == ["faults"]:
            if method == "GET":
                return Response(200, {"faults": self.faults.list()})
            if method == "POST":
                fault = self.faults.add(body)
                self.controller.kick()
                return Response(201, fault)
            if method == "DELETE":
                self.faults.clear()
                self.controller.kick()
                return Response(200, {"faults": []})
        if len(parts) == 2 and parts[0] == "faults" and method == "DELETE":
            if not self.faults.remove(parts[1]):
                raise no_route("fault %s not found" % parts[1])
            self.controller.kick()
            return Response(200, {"deleted": parts[1]})
        if parts == ["stats"] and method == "GET":
            return Response(200, self.stats.snapshot())
        if parts == ["stats", "reset"] and method == "POST":
            self.stats.reset()
            return Response(200, self.stats.snapshot())
        if parts == ["config"]:
            if method == "POST":
                if "ready_delay" in body:
                    self.config["ready_delay"] = float(body["ready_delay"])
                self.controller.kick()
            return Response(200, dict(self.config))
        if parts == ["hpa"] and method == "POST":
            return Response(200, self._set_hpa(body))
        if parts == ["reset"] and method == "POST":
            self.reset()
            return Response(200, {"reset": True})
        if parts == ["dump"] and method == "GET":
            with self.store.lock:
                dump = {}
                for key, rdef in self.registry.store_keys().items():
                    items = [self.api.present(rdef, o) for o in self.store.items(key)]
                    if items:
                        dump["%s/%s" % (rdef.group_version, rdef.plural)] = items
            return Response(200, dump)
        raise no_route("unknown control endpoint %s %s" % (method, path))

    def _set_hpa(self, body):
        """Simulate load: set an HPA's desired replica count (clamped) and scale its target now."""
        namespace, name, replicas = body.get("namespace"), body.get("name"), body.get("replicas")
        if not namespace or not name or not isinstance(replicas, int):
            raise bad_request("hpa needs namespace, name and an integer replicas")
        with self.store.lock:
            hpa_def = self._def("autoscaling", "v2", "horizontalpodautoscalers")
            hpa = self.api.get(hpa_def, namespace, name)
            low, high = dig(hpa, "spec", "minReplicas", default=1), dig(hpa, "spec", "maxReplicas", default=1)
            desired = max(low, min(high, replicas))
            self.hpa_desired[(namespace, name)] = replicas  # the controller clamps, and reports ScalingLimited
            self.controller.reconcile(force=True)
            return {"namespace": namespace, "name": name, "requested": replicas, "desiredReplicas": desired}


class Handler(BaseHTTPRequestHandler):
    """One HTTP connection; keep-alive, so every response carries Content-Length (or is chunked)."""

    protocol_version = "HTTP/1.1"
    server_version = "kubeemu/0.1"
    # Headers and body are separate writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per keep-alive request.
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 - names required by BaseHTTPRequestHandler
        """GET."""
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Route the default access log to logging instead of stderr."""
        LOG.debug(format, *args)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorized(self):
        header = self.headers.get("Authorization", "")
        expected = "Bearer " + self.server.emu.token
        return hmac.compare_digest(header.encode(), expected.encode())

    def _handle(self):
        emu = self.server.emu
        started = time.monotonic()
        raw = self._read_body()
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            if not self._authorized():
                raise unauthorized()
            if url.path == "/_emulator" or url.path.startswith("/_emulator/"):
                response = emu.control(self.command, url.path, raw)
            else:
                response = route(emu, self.command, url.path, query, self.headers.get("Content-Type", "application/json"), raw,
                                 self.headers.get("Host", ""))
        except ApiError as exc:
            response = Response(exc.code, exc.status())
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # Any bug becomes a 500 Status instead of a dropped connection, and is logged with its traceback.
            LOG.exception("internal error on %s %s", self.command, self.path)
            response = Response(500, internal_error(repr(exc)).status())
        self._send(response)
        LOG.info("%s %s %d %.1fms", self.command, self.path, response.status, (time.monotonic() - started) * 1000)

    def _send(self, response):
        try:
            if response.stream is not None:
                self._send_stream(response)
                return
            body = response.body
            if isinstance(body, (dict, list)):
                payload = json.dumps(body, separators=(",", ":")).encode()
            elif body is None:
                payload = b""
            else:
                payload = str(body).encode()
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_stream(self, response):
        """Watch: newline-delimited JSON events in HTTP chunks, ended by the timeout or a dropped client."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for event in response.stream:
            data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    """Threaded HTTP server holding the emulator."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, emu):
        super().__init__(address, Handler)
        self.emu = emu


def build(host, port, token, ready_delay):
    """Create the emulator and a bound (not yet serving) HTTP server; port 0 picks a free port."""
    emu = Emulator(token, ready_delay)
    server = Server((host, port), emu)
    return emu, server

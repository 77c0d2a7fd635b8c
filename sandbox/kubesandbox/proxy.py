"""The fault-injecting TLS proxy in front of the API server.

Tests, playbooks and benchmarks reach the API server through it (their kubeconfig names it);
the control-plane components talk to the API server directly. It forwards every request and
its bearer token unchanged, counts requests by verb (and lists by resource and label selector), and injects the write failures and latency
of kubesandbox.faults. Its /_sandbox endpoint (same token as the cluster admin) drives them.
"""

import hmac
import http.client
import json
import logging
import ssl
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .faults import FaultError, status_body

LOG = logging.getLogger("kubesandbox.proxy")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host",
              "content-length"}


class Target:
    """What a Kubernetes API URL addresses: verb, group, resource (plural), namespace, name, subresource."""

    def __init__(self, method, path, query):
        self.group = self.resource = self.namespace = self.name = self.subresource = None
        self.verb = "discovery"
        segments = [urllib.parse.unquote(s) for s in path.strip("/").split("/") if s]
        if len(segments) >= 2 and segments[0] == "api":
            rest = segments[2:]
        elif len(segments) >= 3 and segments[0] == "apis":
            self.group = segments[1]
            rest = segments[3:]
        else:
            return
        if not rest:
            return
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            self.namespace = rest[1]
            rest = rest[2:]
        self.resource = rest[0]
        self.name = rest[1] if len(rest) > 1 else None
        self.subresource = "/".join(rest[2:]) or None
        watch = query.get("watch", [""])[0] in ("1", "true")
        if method == "GET":
            self.verb = "watch" if watch else ("get" if self.name else "list")
        elif method == "POST":
            self.verb = "create"
        elif method == "PUT":
            self.verb = "update"
        elif method == "PATCH":
            self.verb = "patch"
        elif method == "DELETE":
            self.verb = "delete" if self.name else "deletecollection"
        else:
            self.verb = method.lower()


class ProxyHandler(BaseHTTPRequestHandler):
    """One client connection, forwarded over one upstream keep-alive connection."""

    protocol_version = "HTTP/1.1"
    server_version = "kubesandbox-proxy/1"
    disable_nagle_algorithm = True
    upstream = None

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
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

    def _reply(self, code, body, content_type="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        raw = self._read_body()
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_sandbox" or url.path.startswith("/_sandbox/"):
            self._control(url.path, raw)
            return
        sandbox = self.server.sandbox
        query = urllib.parse.parse_qs(url.query)
        target = Target(self.command, url.path, query)
        dry_run = "dryRun" in query
        listed = None
        if target.verb == "list" and target.resource:
            listed = "%s %s" % (target.resource, query.get("labelSelector", ["(all)"])[0])
        proxied = None
        if target.subresource and target.subresource.split("/", 1)[0] == "proxy":
            proxied = "%s %s/%s" % (target.resource, target.namespace, target.name)
        sandbox.stats.count(target.verb, dry_run, listed, proxied)
        delay = sandbox.faults.latency_ms(target.resource, target.namespace, target.verb)
        if delay:
            time.sleep(delay / 1000.0)
        if target.verb in ("create", "update", "patch", "delete") and not dry_run:
            name = target.name
            if target.verb == "create" and not target.subresource and raw:
                try:
                    name = (json.loads(raw).get("metadata") or {}).get("name")
                except (ValueError, AttributeError):
                    name = None
            if name:
                failure = sandbox.faults.write_failure(target.group, target.resource, target.namespace, name)
                if failure:
                    self._reply(failure[0], failure[1])
                    return
        self._forward(raw)

    def _upstream_conn(self):
        if self.upstream is None:
            self.upstream = http.client.HTTPSConnection(self.server.sandbox.upstream_host, self.server.sandbox.upstream_port,
                                                        context=self.server.sandbox.upstream_tls, timeout=600)
        return self.upstream

    def _forward(self, raw):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        for attempt in (1, 2):
            conn = self._upstream_conn()
            try:
                conn.request(self.command, self.path, body=raw if raw or self.command in ("POST", "PUT", "PATCH") else None,
                             headers=headers)
                response = conn.getresponse()
                break
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                self.upstream = None
                if attempt == 2:
                    self._reply(503, status_body(503, "ServiceUnavailable", "the API server behind the sandbox proxy is not answering: %s" % exc))
                    return
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        length = response.getheader("Content-Length")
        if length is not None:
            body = response.read()
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        # A stream (a watch, or a proxied response without a length): relay it chunk by chunk.
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
        finally:
            if not response.isclosed():
                conn.close()
                self.upstream = None

    def _control(self, path, raw):
        sandbox = self.server.sandbox
        header = self.headers.get("Authorization", "")
        if not hmac.compare_digest(header.encode(), ("Bearer " + sandbox.control_token).encode()):
            self._reply(401, status_body(401, "Unauthorized", "Unauthorized"))
            return
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise FaultError("the request body must be a JSON object")
            code, answer = sandbox.control(self.command, path, body)
        except (FaultError, ValueError, TypeError) as exc:
            code, answer = 400, {"error": str(exc)}
        self._reply(code, json.dumps(answer).encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class ProxyServer(ThreadingHTTPServer):
    """The TLS listener; ``sandbox`` holds the faults, stats and upstream settings."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, sandbox, cert_file, key_file):
        super().__init__(address, ProxyHandler)
        self.sandbox = sandbox
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        # The handshake happens in the connection's own thread, never in the accept loop.
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def finish_request(self, request, client_address):
        try:
            super().finish_request(request, client_address)
        except (ssl.SSLError, ConnectionError):
            pass

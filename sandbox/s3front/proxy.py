"""The AWS front: plain HTTP on 127.0.0.1, forwarding every request to moto.

Requests and answers pass unchanged (headers, status and body; bodies are streamed in pieces, whether
the client sends a Content-Length or a chunked body), except for:
  - /_sandbox/...: the front's own control endpoint (faults, statistics), never forwarded, but for
    /_sandbox/pending: moto's own (sandbox/motofix), forwarded to moto and not counted;
  - requests an injected fault answers (s3front.faults);
  - requests that moto accepts although AWS refuses them, answered here the way AWS answers
    (see the comment at MAX_DELETE_KEYS);
  - answers of moto that differ from S3's (s3front.corrections: the times of in-progress uploads).
Each client connection keeps one keep-alive connection to moto, so botocore's pool reuses both.
"""

import http.client
import json
import logging
import select
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree

from controlapi import KNOWN, faults_and_stats

from .corrections import CORRECTED, UploadTimes
from .faults import FaultError, Faults, Stats, error_response
from .operations import Request

LOG = logging.getLogger("s3front")
HOST = "127.0.0.1"
CHUNK = 256 * 1024
# Not forwarded either way: they describe one connection, not the request. The front frames each body
# itself (Content-Length or chunked) and answers Expect: 100-continue itself.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "content-length", "expect"}
# Real S3 refuses a DeleteObjects request that names more than 1000 keys: 400 with the code MalformedXML,
# and nothing is deleted. moto 5 deletes them all, so code that forgets to send its deletes in batches of
# at most 1000 would pass in the sandbox and fail on AWS; the front answers as S3 does, without forwarding.
MAX_DELETE_KEYS = 1000
MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema"
# The pending states of moto (sandbox/motofix.pending): moto answers this control path itself, so that clients that
# know only AWS_ENDPOINT_URL reach it too.
MOTO_CONTROL = "/_sandbox/pending"


class BodyError(Exception):
    """The client's side of a request failed; never an OSError, so it is not taken for moto's failure."""


class BadRequest(BodyError):
    """A request whose framing the front cannot read."""


class ClientGone(BodyError):
    """The client closed its connection, or it broke, before its request was complete."""


class Body:
    """A request body as it arrives: by Content-Length, chunked, or none. Read once, in pieces."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self.length = 0
        if not self.chunked:
            raw = (headers.get("Content-Length") or "0").strip()
            if not raw.isdigit():
                raise BadRequest("Content-Length %r is not a number" % raw)
            self.length = int(raw)
        self.empty = not self.chunked and self.length == 0
        self.consumed = self.empty

    def pieces(self):
        """The body's bytes, at most CHUNK at a time."""
        if self.consumed:
            return
        try:
            if self.chunked:
                yield from self._chunks()
            else:
                left = self.length
                while left:
                    piece = self.rfile.read(min(CHUNK, left))
                    if not piece:
                        raise ClientGone("the client closed the connection in the middle of its request body")
                    left -= len(piece)
                    yield piece
        except OSError as exc:
            raise ClientGone("reading the request body failed: %s" % exc) from exc
        self.consumed = True

    def _chunks(self):
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise BadRequest("the chunked body ended without its last chunk (or a chunk size line is too long)")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise BadRequest("bad chunk size line %r" % line[:40]) from exc
            if size == 0:
                break
            while size:
                piece = self.rfile.read(min(CHUNK, size))
                if not piece:
                    raise ClientGone("the client closed the connection in the middle of a chunk")
                size -= len(piece)
                yield piece
            self.rfile.readline(1024)
        # Trailer fields, up to the empty line that ends the body; they are not forwarded.
        while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
            pass

    def read(self):
        return b"".join(self.pieces())

    def drain(self):
        for _piece in self.pieces():
            pass


def delete_key_count(raw):
    """How many objects a DeleteObjects body names; None when it is not XML (moto answers that itself)."""
    try:
        root = ElementTree.fromstring(raw)  # nosec - a local test client's request
    except ElementTree.ParseError:
        return None
    return sum(1 for child in root if child.tag.rsplit("}", 1)[-1] == "Object")


class Front:
    """What the connections share: moto's address, the faults and the statistics; answers /_sandbox calls."""

    def __init__(self, upstream):
        url = urllib.parse.urlsplit(upstream)
        # Only ever moto on this machine: nothing the front forwards may reach a real AWS endpoint.
        if url.scheme != "http" or url.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the upstream must be an http URL on 127.0.0.1, not %s" % upstream)
        self.upstream_host, self.upstream_port = url.hostname, url.port or 80
        self.faults = Faults()
        self.stats = Stats()
        self.uploads = UploadTimes()

    def control(self, method, path, body):
        """(status, JSON answer) of a /_sandbox call."""
        parts = [p for p in path.split("/") if p][1:]
        answer = faults_and_stats(method, parts, body, self.faults, self.stats)
        if answer is not None:
            return answer
        return 404, {"error": "unknown control endpoint %s %s; known: %s" % (method, path, KNOWN)}


class FrontHandler(BaseHTTPRequestHandler):
    """One client connection, forwarded over one keep-alive connection to moto."""

    protocol_version = "HTTP/1.1"
    server_version = "s3front/1"
    disable_nagle_algorithm = True
    upstream = None

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        LOG.debug(format, *args)

    def _reply(self, code, headers, body):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        try:
            body = Body(self.rfile, self.headers)
            url = urllib.parse.urlsplit(self.path)
            if url.path == MOTO_CONTROL or url.path.startswith(MOTO_CONTROL + "/"):
                self._forward(Request(self.command, self.path, self.headers), body)
                return
            if url.path == "/_sandbox" or url.path.startswith("/_sandbox/"):
                self._control(url.path, body.read())
                return
            self._aws(body)
        except BadRequest as exc:
            self.close_connection = True
            self._reply(400, [("Content-Type", "text/plain")], ("bad request: %s\n" % exc).encode())
        except ClientGone as exc:
            LOG.debug("%s %s: %s", self.command, self.path, exc)
            self.close_connection = True

    def _aws(self, body):
        front = self.server.front
        request = Request(self.command, self.path, self.headers)
        if request.needs_form(self.headers):
            body = body.read()
            request.set_form(body)
        front.stats.count(request.operation)
        fault = front.faults.take(request)
        if fault is not None:
            front.stats.faulted()
            self._fault(request, body, fault)
            return
        if request.operation == "DeleteObjects":
            body = body if isinstance(body, bytes) else body.read()
            keys = delete_key_count(body)
            if keys is not None and keys > MAX_DELETE_KEYS:
                LOG.info("DeleteObjects of %d keys in bucket %s refused as S3 does (at most %d)", keys, request.bucket, MAX_DELETE_KEYS)
                self._reply(400, *error_response(request, 400, "MalformedXML", MALFORMED_XML))
                return
        self._forward(request, body)

    def _fault(self, request, body, fault):
        if not isinstance(body, bytes):
            body.drain()
        LOG.info("fault %s (%s) fires for %s %s: request %d of it", fault["id"], fault["action"], request.operation,
                 request.resource(), fault["seen"])
        if fault["action"] == "drop":
            # No status line, no headers: the client sees its connection closed before any answer.
            self.close_connection = True
            return
        message = fault["message"] or "injected by the sandbox (%s, %s)" % (fault["id"], request.operation)
        self._reply(fault["status"], *error_response(request, fault["status"], fault["code"], message))

    def _upstream(self):
        """The connection to moto, reopened when moto closed it while it sat idle."""
        conn = self.upstream
        if conn is not None and conn.sock is not None:
            readable, _writable, _errors = select.select([conn.sock], [], [], 0)
            if readable:
                conn.close()
        if conn is None:
            front = self.server.front
            conn = self.upstream = http.client.HTTPConnection(front.upstream_host, front.upstream_port, timeout=300)
        return conn

    def _send(self, conn, headers, payload, chunked):
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        if isinstance(payload, bytes):
            conn.send(payload)
        elif payload is not None:
            for piece in payload:
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                conn.send(b"0\r\n\r\n")
        return conn.getresponse()

    def _forward(self, request, body):
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        if "Host" not in self.headers:
            front = self.server.front
            headers.append(("Host", "%s:%d" % (front.upstream_host, front.upstream_port)))
        chunked = False
        if isinstance(body, bytes):
            payload = body
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers.append(("Content-Length", str(len(body))))
        elif body.empty:
            payload = None
            if "Content-Length" in self.headers:
                headers.append(("Content-Length", "0"))
        else:
            payload, chunked = body.pieces(), body.chunked
            headers.append(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(body.length)))
        replayable = payload is None or isinstance(payload, bytes)
        for attempt in (1, 2):
            conn = self._upstream()
            try:
                response = self._send(conn, headers, payload, chunked)
                break
            except BodyError:
                conn.close()  # moto holds half a request
                raise
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                if replayable and attempt == 1:
                    continue
                LOG.warning("moto did not answer %s %s: %s", request.operation, request.resource(), exc)
                # The client's body may be half read: this connection cannot carry another request.
                self.close_connection = not replayable
                self._reply(503, *error_response(request, 503, "ServiceUnavailable",
                                                 "moto behind the sandbox's AWS front is not answering: %s" % exc))
                return
        LOG.debug("%s %s -> %d", request.operation, request.resource(), response.status)
        if request.operation in CORRECTED and response.status == 200:
            self._relay_corrected(request, response)
            return
        self._relay(conn, response)

    def _relay_corrected(self, request, response):
        """A small XML answer read whole, corrected (s3front.corrections), and sent with its new length."""
        body = response.read()
        uploads = self.server.front.uploads
        if request.operation == "CreateMultipartUpload":
            uploads.created(body)
        else:
            body = uploads.listing(body)
        headers = [(name, value) for name, value in response.getheaders() if name.lower() not in HOP_BY_HOP]
        self._reply(response.status, headers, body)

    def _relay(self, conn, response):
        self.send_response_only(response.status, response.reason)
        length = response.getheader("Content-Length")
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        # A HEAD answer keeps the length of what a GET would return (HeadObject's ContentLength).
        stream = length is None and not no_body
        chunked = stream and self.request_version == "HTTP/1.1"
        if length is not None:
            self.send_header("Content-Length", length)
        elif chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif stream:
            # An HTTP/1.0 client: the end of the connection ends the body.
            self.close_connection = True
        self.end_headers()
        try:
            if no_body:
                response.read()
                return
            while True:
                piece = response.read1(CHUNK)
                if not piece:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (http.client.HTTPException, OSError):
            # moto or the client went away in mid-body: the answer cannot be completed on this connection.
            self.close_connection = True
            conn.close()

    def _control(self, path, raw):
        front = self.server.front
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise FaultError("the request body must be a JSON object")
            code, answer = front.control(self.command, path, body)
        except (FaultError, ValueError) as exc:
            code, answer = 400, {"error": str(exc)}
        self._reply(code, [("Content-Type", "application/json")], json.dumps(answer).encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class FrontServer(ThreadingHTTPServer):
    """The listener on 127.0.0.1; ``front`` holds the faults, statistics and moto's address."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port, front):
        super().__init__((HOST, port), FrontHandler)
        self.front = front

    def finish_request(self, request, client_address):
        try:
            super().finish_request(request, client_address)
        except ConnectionError:
            pass

"""What the suites of ec2_vpc_flow_log and eks_cluster_logging share: boto3 clients of the sandbox, plays, and a
recording proxy between the module and the sandbox's AWS front.

The front's statistics count every suite's requests, and the aws_infra role makes the same EC2 calls, so a test
that must prove "no write" (check mode) or "no request at all" (bad input) gives the module an endpoint of its own:
RecordingProxy forwards every request to the front unchanged and notes its operation, named as the front names it
(s3front.operations.Request), with the REST-JSON EKS operations named from their method and path, which the front
counts as "other".
"""

import http.client
import json
import re
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import requests
import yaml

from s3front.operations import Request

NS = "loyalty.platform."
EC2_WRITES = {"CreateFlowLogs", "DeleteFlowLogs", "CreateTags", "DeleteTags"}
EKS_WRITES = {"UpdateClusterConfig", "CreateCluster", "DeleteCluster", "TagResource", "UntagResource"}
EKS_ROUTES = (
    ("GET", re.compile(r"^/clusters/[^/]+$"), "DescribeCluster"),
    ("POST", re.compile(r"^/clusters/[^/]+/update-config$"), "UpdateClusterConfig"),
    ("GET", re.compile(r"^/clusters/[^/]+/updates/[^/]+$"), "DescribeUpdate"),
    ("GET", re.compile(r"^/clusters/[^/]+/updates$"), "ListUpdates"),
    ("POST", re.compile(r"^/clusters$"), "CreateCluster"),
    ("DELETE", re.compile(r"^/clusters/[^/]+$"), "DeleteCluster"),
    ("POST", re.compile(r"^/tags/.+$"), "TagResource"),
    ("DELETE", re.compile(r"^/tags/.+$"), "UntagResource"),
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}


def unique(tag):
    return "it-%s-%s" % (tag, uuid.uuid4().hex[:10])


def aws_client(sandbox, service):
    return boto3.client(service, endpoint_url=sandbox["AWS_ENDPOINT_URL"], region_name=sandbox["AWS_DEFAULT_REGION"],
                        aws_access_key_id=sandbox["AWS_ACCESS_KEY_ID"], aws_secret_access_key=sandbox["AWS_SECRET_ACCESS_KEY"])


def play(*tasks):
    return yaml.safe_dump([{"name": "aws gaps", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}], sort_keys=False)


def task(title, module, /, **args):
    """A task of one of the collection's modules; failures are kept so that every task's result can be read."""
    return {"name": title, NS + module: args, "ignore_errors": True}


def trust_policy(service):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


class PendingDelays:
    """The pending-state delays of the sandbox's moto (sandbox/motofix/pending.py, at /_sandbox/pending of moto itself,
    not of the front): ``delay("eks", 20, ["create"])`` keeps the clusters created meanwhile CREATING for 20 seconds.
    The delays are the server's, shared with every suite: ``restore()`` puts back what was set before."""

    def __init__(self, moto_url, timeout=30):
        self.url = moto_url.rstrip("/") + "/_sandbox/pending"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.saved = {}

    def _call(self, method, path="", body=None):
        response = self.session.request(method, self.url + path, json=body, timeout=self.timeout)
        assert response.status_code == 200, "%s %s%s: %s %s" % (method, self.url, path, response.status_code, response.text[:300])
        return response.json()

    def delay(self, service, seconds, actions):
        if service not in self.saved:
            self.saved[service] = self._call("GET")["pending"].get(service)
        return self._call("POST", body={"service": service, "seconds": seconds, "actions": list(actions)})

    def restore(self):
        for service, before in self.saved.items():
            if before:
                self._call("POST", body={"service": service, "seconds": before["seconds"], "actions": before["actions"]})
            else:
                self._call("DELETE", "/" + service)
        self.saved.clear()


def eks_operation(method, path):
    for route_method, pattern, operation in EKS_ROUTES:
        if method == route_method and pattern.match(path):
            return operation
    return "other"


class RecordingProxy:
    """An HTTP endpoint on 127.0.0.1 that forwards to ``upstream`` and records each request's operation.

    ``requests`` holds {"service", "operation", "method", "path", "body"} in arrival order."""

    def __init__(self, upstream):
        url = urllib.parse.urlsplit(upstream)
        self.upstream = (url.hostname, url.port or 80)
        self.requests = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def clear(self):
        with self.lock:
            self.requests.clear()

    def operations(self):
        with self.lock:
            return [item["operation"] for item in self.requests]

    def writes(self):
        return [name for name in self.operations() if name in EC2_WRITES | EKS_WRITES]

    def bodies(self, operation):
        with self.lock:
            return [item["body"] for item in self.requests if item["operation"] == operation]

    def _note(self, method, target, headers, body):
        request = Request(method, target, headers)
        if request.needs_form(headers):
            request.set_form(body)
        operation = request.operation
        if request.service == "eks":
            operation = eks_operation(method, urllib.parse.urlsplit(target).path)
        with self.lock:
            self.requests.append({"service": request.service, "operation": operation, "method": method, "path": target,
                                  "body": body.decode("utf-8", "replace")})

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                proxy._note(self.command, self.path, headers, body)  # pylint: disable=protected-access
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                try:
                    conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for name, value in self.headers.items():
                        if name.lower() not in HOP_BY_HOP:
                            conn.putheader(name, value)
                    conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders()
                    if body:
                        conn.send(body)
                    answer = conn.getresponse()
                    payload = answer.read()
                    self.send_response(answer.status, answer.reason)
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_BY_HOP:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        return Handler

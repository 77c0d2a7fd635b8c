"""A small HTTPS client for the sandbox's own calls to the API server (one keep-alive connection each)."""

import http.client
import json
import ssl
import threading
import urllib.parse


class ApiError(Exception):
    """A non-2xx answer; ``code`` is the HTTP status."""

    def __init__(self, code, body):
        super().__init__("HTTP %s: %s" % (code, body[:300]))
        self.code = code
        self.body = body


def tls_context(ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = True
    return context


class Client:
    """JSON requests to the API server with a bearer token, verifying it against the sandbox's CA."""

    def __init__(self, url, token, ca_file, timeout=30):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port or 443
        self.token = token
        self.context = tls_context(ca_file)
        self.timeout = timeout
        self._local = threading.local()

    def connection(self, timeout=None):
        return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout or self.timeout)

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.connection()
        return conn

    def headers(self, content_type=None):
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def request(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request(method, path, body=data, headers=self.headers(content_type if data is not None else None))
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        if not 200 <= response.status < 300:
            raise ApiError(response.status, raw.decode("utf-8", "replace"))
        return json.loads(raw) if raw else {}

    def get(self, path):
        return self.request("GET", path)

    def patch(self, path, body, content_type="application/merge-patch+json"):
        return self.request("PATCH", path, body, content_type)

    def watch(self, path, resource_version, timeout_seconds=300):
        """Yield the events of a watch from ``resource_version`` until the server ends it."""
        sep = "&" if "?" in path else "?"
        query = "%swatch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d" % (sep, resource_version, timeout_seconds)
        conn = self.connection(timeout=timeout_seconds + 30)
        try:
            conn.request("GET", path + query, headers=self.headers())
            response = conn.getresponse()
            if response.status != 200:
                raise ApiError(response.status, response.read().decode("utf-8", "replace"))
            while True:
                line = response.readline()
                if not line:
                    return
                line = line.strip()
                if line:
                    yield json.loads(line)
        finally:
            conn.close()

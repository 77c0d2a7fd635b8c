"""A throwaway HTTP server on 127.0.0.1 for unit tests (a fake Prometheus, say)."""

import contextlib
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


@contextlib.contextmanager
def serving(handler_class, tls=None):
    """Serve ``handler_class`` on a free port of 127.0.0.1; yields the base URL, stops on exit.

    ``tls`` is ``(certificate_path, key_path)`` to serve https instead of http.
    """
    server = HTTPServer(("127.0.0.1", 0), handler_class)
    scheme = "http"
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield "%s://127.0.0.1:%d" % (scheme, server.server_port)
    finally:
        server.shutdown()
        server.server_close()


class Handler(BaseHTTPRequestHandler):
    """A request handler that answers with ``reply`` and logs nothing."""

    def reply(self, status, body, content_type="application/json"):
        """Send ``body`` (a dict or list as JSON, or text) with ``status``."""
        payload = (json.dumps(body) if isinstance(body, (dict, list)) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        return

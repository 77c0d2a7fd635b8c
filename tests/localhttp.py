"""A throwaway HTTP server on 127.0.0.1 for unit tests (a fake Prometheus, say)."""

import contextlib
import threading
from http.server import HTTPServer


@contextlib.contextmanager
def serving(handler_class):
    """Serve ``handler_class`` on a free port of 127.0.0.1; yields the base URL, stops on exit."""
    server = HTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_port
    finally:
        server.shutdown()
        server.server_close()

"""In-cluster addresses for the sandbox's host services: TCP forwards from a pod-network address to 127.0.0.1.

A real cluster runs Prometheus as a Pod behind a Service, which the API server's services proxy reaches at the Pod's
address. The sandbox's Prometheus runs on the host at 127.0.0.1, which the API server never proxies to. So a socket
bound on the Prometheus port in the pod network namespace (see ``bind_in_netns``) accepts what the API server sends to
a pod address there, and this process, back in its own namespace, relays it to the host service: the Service
``monitoring/prometheus-server`` in front of a kwok Pod is then reached exactly as in a real cluster.
"""

import logging
import select
import socket
import threading

LOG = logging.getLogger("kubesandbox.forward")
CHUNK = 65536


def parse_forward(text):
    """``10.244.255.252:9090=127.0.0.1:29090`` -> ``(("10.244.255.252", 9090), ("127.0.0.1", 29090))``."""
    try:
        listen, target = text.split("=", 1)
        listen_host, listen_port = listen.rsplit(":", 1)
        target_host, target_port = target.rsplit(":", 1)
        return (listen_host, int(listen_port)), (target_host, int(target_port))
    except ValueError as exc:
        raise ValueError("--forward %r must read ADDRESS:PORT=HOST:PORT" % text) from exc


def _pipe(left, right, stop):
    """Copy both ways until either side closes."""
    sockets = [left, right]
    try:
        while not stop.is_set():
            readable = select.select(sockets, [], [], 0.5)[0]
            for sock in readable:
                data = sock.recv(CHUNK)
                if not data:
                    return
                (right if sock is left else left).sendall(data)
    except OSError:
        return
    finally:
        for sock in sockets:
            try:
                sock.close()
            except OSError:
                pass


class Forward:
    """Accept on a socket bound in the pod network and relay each connection to ``target`` (on the host)."""

    def __init__(self, sock, target):
        self.sock = sock
        self.target = target

    def serve(self, stop):
        self.sock.settimeout(0.5)
        while not stop.is_set():
            try:
                client, _peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError as exc:
                # As a real endpoint with nothing listening would: the connection is closed at once.
                LOG.info("forward to %s:%d failed: %s", self.target[0], self.target[1], exc)
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            threading.Thread(target=_pipe, args=(client, upstream, stop), daemon=True).start()

    def thread(self, stop):
        return threading.Thread(target=self.serve, args=(stop,), daemon=True)

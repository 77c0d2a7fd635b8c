"""The sandbox's Kubernetes helper: the fault proxy, the readiness gate and the pods' HTTP stand-in.

  python -m kubesandbox --listen 127.0.0.1:26443 --upstream https://127.0.0.1:26446 \
      --ca ca.crt --cert apiserver.crt --key apiserver.key --token-file admin.token \
      --netns loyalty-sandbox --pod-ports 8080 [--ready-delay 0.3] [--lane-listen 127.0.0.1:26444]

A --lane-listen address is one more door to the same proxy, for a second test process running beside the
first: the same faults, settings and upstream, but request counts of its own, so that each process counts
only the requests of its own clients.

The pod sockets are bound inside the network namespace (which owns the whole pod CIDR), then the
process returns to its own namespace to serve them and to reach the API server on 127.0.0.1.
"""

import argparse
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import urllib.parse

from controlapi import faults_and_stats

from .client import ApiError, Client, tls_context
from .faults import Faults, Stats
from .forward import Forward, parse_forward
from .pods import PodWatcher, ReadinessGate, StandIn
from .proxy import ProxyServer

LOG = logging.getLogger("kubesandbox")
CLONE_NEWNET = 0x40000000


def setns(fd):
    if hasattr(os, "setns"):
        os.setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


def bind_in_netns(netns, ports, addresses=()):
    """Listening sockets on 0.0.0.0:<port> for each of ``ports``, then on each ``(address, port)`` of ``addresses``,
    inside the named network namespace."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join("/run/netns", netns), os.O_RDONLY)
    sockets = []
    try:
        setns(target)
        try:
            for address in [("0.0.0.0", port) for port in ports] + list(addresses):  # nosec - the sandbox's own namespace
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(address)
                sock.listen(128)
                sockets.append(sock)
        finally:
            setns(own)
    finally:
        os.close(own)
        os.close(target)
    return sockets


class Sandbox:
    """State shared by the proxy, the gate and the stand-in; answers the /_sandbox control calls."""

    def __init__(self, args, token):
        upstream = urllib.parse.urlsplit(args.upstream)
        self.upstream_host, self.upstream_port = upstream.hostname, upstream.port
        self.upstream_tls = tls_context(args.ca)
        self.control_token = token
        self.faults = Faults(args.ready_delay)
        self.stats = Stats()
        self.client = Client(args.upstream, token, args.ca)

    def control(self, method, path, body):
        parts = [p for p in path.split("/") if p][1:]
        answer = faults_and_stats(method, parts, body, self.faults, self.stats)
        if answer is not None:
            return answer
        if parts == ["config"]:
            if method == "POST":
                return 200, self.faults.configure(body)
            return 200, self.faults.configure({})
        if parts == ["hpa"] and method == "POST":
            return self.set_hpa(body)
        return 404, {"error": "unknown control endpoint %s %s" % (method, path)}

    def set_hpa(self, body):
        """Act as the autoscaler deciding on ``replicas``: scale the HPA's target, clamped to its bounds.

        The sandbox has no metrics API, so the real HPA controller never changes the count itself;
        it keeps the target within min/max and reports the target's replicas in status.currentReplicas.
        """
        namespace, name, replicas = body.get("namespace"), body.get("name"), body.get("replicas")
        if not namespace or not name or not isinstance(replicas, int):
            return 400, {"error": "hpa needs namespace, name and an integer replicas"}
        try:
            hpa = self.client.get("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s" % (namespace, name))
            spec = hpa.get("spec") or {}
            low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
            desired = max(low, min(high, replicas))
            ref = spec["scaleTargetRef"]
            group = ref.get("apiVersion", "apps/v1")
            plural = {"Deployment": "deployments", "StatefulSet": "statefulsets", "ReplicaSet": "replicasets"}[ref["kind"]]
            self.client.patch("/apis/%s/namespaces/%s/%s/%s/scale" % (group, namespace, plural, ref["name"]),
                              {"spec": {"replicas": desired}})
        except ApiError as exc:
            return exc.code, {"error": exc.body}
        return 200, {"namespace": namespace, "name": name, "requested": replicas, "desiredReplicas": desired}


class Lane:
    """A further listener's view of the sandbox: the faults and settings of all, request counts of its own."""

    def __init__(self, sandbox):
        self._sandbox = sandbox
        self.stats = Stats()

    def __getattr__(self, name):
        return getattr(self._sandbox, name)

    def control(self, method, path, body):
        return Sandbox.control(self, method, path, body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="host:port of the proxy")
    parser.add_argument("--upstream", required=True, help="https URL of the API server")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--token-file", required=True, help="the cluster admin's bearer token")
    parser.add_argument("--netns", help="network namespace holding the pod CIDR (no stand-in without it)")
    parser.add_argument("--pod-ports", default="8080", help="comma-separated ports the stand-in listens on at every pod IP")
    parser.add_argument("--forward", action="append", default=[], metavar="ADDRESS:PORT=HOST:PORT",
                        help="relay a pod-network address (an endpoint of an in-cluster Service) to a host service")
    parser.add_argument("--ready-delay", type=float, default=0.3)
    parser.add_argument("--lane-listen", action="append", default=[], metavar="HOST:PORT",
                        help="one more listener of the proxy, with request counts of its own (a second test process)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with open(args.token_file, encoding="utf-8") as handle:
        token = handle.read().strip()

    forwards = [parse_forward(text) for text in args.forward]
    pod_ports = [int(p) for p in args.pod_ports.split(",") if p]
    sockets = bind_in_netns(args.netns, pod_ports, [listen for listen, _target in forwards]) if args.netns else []
    forward_sockets, sockets = sockets[len(pod_ports):], sockets[:len(pod_ports)]
    sandbox = Sandbox(args, token)
    host, port = args.listen.rsplit(":", 1)
    server = ProxyServer((host, int(port)), sandbox, args.cert, args.key)
    lanes = []
    for address in args.lane_listen:
        lane_host, lane_port = address.rsplit(":", 1)
        lanes.append(ProxyServer((lane_host, int(lane_port)), Lane(sandbox), args.cert, args.key))
    stop = threading.Event()
    watcher = PodWatcher(Client(args.upstream, token, args.ca))
    gate = ReadinessGate(Client(args.upstream, token, args.ca), watcher, sandbox.faults)
    threads = [threading.Thread(target=watcher.run, args=(stop,), daemon=True),
               threading.Thread(target=gate.run, args=(stop,), daemon=True)]
    if sockets:
        threads += StandIn(sockets, watcher, sandbox.faults, Client(args.upstream, token, args.ca)).threads(stop)
    threads += [Forward(sock, target).thread(stop) for sock, (_listen, target) in zip(forward_sockets, forwards)]
    threads += [threading.Thread(target=lane.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True) for lane in lanes]
    for thread in threads:
        thread.start()

    def _stop(_signum, _frame):
        stop.set()
        for each in [server] + lanes:
            threading.Thread(target=each.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print("kubesandbox listening on https://%s:%s%s (pods on ports %s in netns %s)" % (
        host, port, "".join(" and https://" + address for address in args.lane_listen), args.pod_ports, args.netns or "-"), flush=True)
    server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The pods' HTTP stand-in (kubesandbox.pods) in this process: pod_http's scope, synthetic traffic and pod_down.

No sandbox needed: the stand-in serves a socket on 127.0.0.1, and a fake pod watcher says that address is a pod's.
"""

import http.client
import re
import socket
import threading
import time

import pytest

from kubesandbox.faults import FaultError, Faults
from kubesandbox.pods import TRAFFIC_URI, StandIn, Traffic, Metrics

CONTEXT_PATH = "/rewards"


def make_pod(port, name="rewards-service-blue-5d8f7c-x2x9z", phase="Running", uid="uid-1", ip="127.0.0.1"):
    return {
        "metadata": {"name": name, "namespace": "loyalty", "uid": uid, "labels": {"app": "rewards-service", "pod-template-hash": "5d8f7c"},
                     "ownerReferences": [{"kind": "ReplicaSet", "name": "rewards-service-blue-5d8f7c"}]},
        "spec": {"containers": [{"name": "app", "env": [
            {"name": "SERVER_PORT", "value": str(port)}, {"name": "SERVER_SERVLET_CONTEXT_PATH", "value": CONTEXT_PATH}]}]},
        "status": {"phase": phase, "podIP": ip, "startTime": "2026-01-01T00:00:00Z",
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }


class FakeWatcher:
    """PodWatcher's interface over a fixed list of pods."""

    def __init__(self, pods):
        self.pods = pods
        self.listeners = []

    def get_by_ip(self, ip):
        return next((pod for pod in self.pods if pod["status"]["podIP"] == ip), None)

    def snapshot(self):
        return list(self.pods)


@pytest.fixture
def standin():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    faults = Faults()
    watcher = FakeWatcher([make_pod(port)])
    server = StandIn([listener], watcher, faults, client=None)
    stop = threading.Event()
    threads = server.threads(stop)
    for thread in threads:
        thread.start()
    yield server, port
    stop.set()
    for thread in threads:
        thread.join(5)
    listener.close()


def get(port, path, connection=None):
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type"), response.read().decode()


def counts(text, **labels):
    """Sum of http_server_requests_seconds_count samples whose labels include ``labels``."""
    total = 0
    text = text.decode() if isinstance(text, bytes) else text
    for match in re.finditer(r"^http_server_requests_seconds_count\{([^}]*)\} (\d+)$", text, re.M):
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if all(found.get(key) == value for key, value in labels.items()):
            total += int(match.group(2))
    return total


def test_pod_http_of_scope_requests_fails_the_application_and_leaves_the_actuator(standin):
    server, port = standin
    server.faults.add({"type": "pod_http", "namespace": "loyalty", "name": "rewards-service-blue", "status": 500, "scope": "requests"})
    assert get(port, CONTEXT_PATH + TRAFFIC_URI)[0] == 500
    assert get(port, CONTEXT_PATH + "/api/v1/rewards")[0] == 500
    assert get(port, CONTEXT_PATH + "/actuator/health/readiness")[0] == 200
    status, content_type, body = get(port, CONTEXT_PATH + "/actuator/prometheus")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    # The failed requests are in the series Prometheus scrapes, with their status and outcome.
    assert counts(body, uri=TRAFFIC_URI, status="500", outcome="SERVER_ERROR", application="rewards-service") == 1


def test_pod_http_of_scope_all_fails_the_metrics_endpoint_too(standin):
    server, port = standin
    fault = server.faults.add({"type": "pod_http", "namespace": "loyalty", "name": "rewards-service-blue", "status": 503})
    assert fault["scope"] == "all"
    assert get(port, CONTEXT_PATH + "/actuator/prometheus")[0] == 503
    assert get(port, CONTEXT_PATH + TRAFFIC_URI)[0] == 503
    server.faults.remove(fault["id"])
    assert get(port, CONTEXT_PATH + TRAFFIC_URI)[:2] == (200, "application/json")


def test_pod_http_scope_and_status_are_checked():
    faults = Faults()
    with pytest.raises(FaultError, match="scope must be one of all, requests"):
        faults.add({"type": "pod_http", "namespace": "ns", "name": "web", "status": 500, "scope": "metrics"})
    with pytest.raises(FaultError, match="HTTP status"):
        faults.add({"type": "pod_http", "namespace": "ns", "name": "web", "status": 1000})
    with pytest.raises(FaultError, match="fault pod_down needs name"):
        faults.add({"type": "pod_down", "namespace": "ns"})
    assert faults.list() == []


def test_pod_down_closes_connections_unanswered_even_a_kept_alive_one(standin):
    server, port = standin
    kept = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    assert get(port, CONTEXT_PATH + "/actuator/prometheus", kept)[0] == 200
    fault = server.faults.add({"type": "pod_down", "namespace": "loyalty", "name": "rewards-service-blue"})
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"GET /rewards/actuator/prometheus HTTP/1.1\r\nHost: pod\r\n\r\n")
        # Closed with the request unread: the peer sees an end of stream or a reset, never an answer.
        try:
            answer = raw.recv(100)
        except ConnectionResetError:
            answer = b""
        assert answer == b""
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        get(port, CONTEXT_PATH + "/actuator/prometheus", kept)
    # Another pod's name leaves it alone; removing the fault brings the pod back.
    server.faults.remove(fault["id"])
    server.faults.add({"type": "pod_down", "namespace": "loyalty", "name": "points-service"})
    assert get(port, CONTEXT_PATH + "/actuator/health/liveness")[0] == 200


def test_traffic_records_the_configured_rate_per_running_pod_with_the_faults_status():
    pods = [make_pod(8080, uid="a", ip="10.0.0.1"), make_pod(8080, name="points-service-7c-abc", uid="b", ip="10.0.0.2"),
            make_pod(8080, name="rewards-service-blue-5d8f7c-pend1", uid="c", ip="10.0.0.3", phase="Pending")]
    faults, metrics = Faults(), Metrics()
    traffic = Traffic(FakeWatcher(pods), faults, metrics)
    assert traffic.tick(10) == 0, "traffic_rps defaults to 0"
    faults.configure({"traffic_rps": 3})
    # 3/s for 0.5 s is 1.5 requests a pod: one now, the half carried to the next tick.
    assert traffic.tick(0.5) == 2
    assert traffic.tick(0.5) == 4
    assert counts(metrics.render("a", "rewards-service", 0), uri=TRAFFIC_URI, status="200", method="GET") == 3
    assert counts(metrics.render("c", "rewards-service", 0)) == 0, "a pod that is not Running gets no traffic"

    faults.add({"type": "pod_http", "namespace": "loyalty", "name": "rewards-service-blue", "status": 500, "scope": "requests"})
    faults.add({"type": "pod_down", "namespace": "loyalty", "name": "points-service-7c-abc"})
    assert traffic.tick(2) == 6
    rendered = metrics.render("a", "rewards-service", 0).decode()
    assert counts(rendered, uri=TRAFFIC_URI, status="500", outcome="SERVER_ERROR") == 6
    assert 'http_server_requests_seconds_bucket{application="rewards-service",exception="none",method="GET",outcome="SERVER_ERROR",' \
           'status="500",uri="/api/v1/ping",le="0.025"} 6' in rendered
    assert counts(metrics.render("b", "points-service", 0)) == 3, "a pod that is down records nothing"
    with pytest.raises(FaultError, match="traffic_rps must be 0 or more"):
        faults.configure({"traffic_rps": -1})
    with pytest.raises(FaultError, match="unknown setting traffic"):
        faults.configure({"traffic": 1})
    assert faults.configure({"traffic_rps": 0}) == {"ready_delay": 0.3, "traffic_rps": 0.0}
    assert traffic.tick(5) == 0


def test_traffic_runs_by_itself_in_the_stand_in(standin):
    server, port = standin
    server.faults.configure({"traffic_rps": 20})
    try:
        deadline = time.monotonic() + 10
        while counts(get(port, CONTEXT_PATH + "/actuator/prometheus")[2], uri=TRAFFIC_URI) < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert counts(get(port, CONTEXT_PATH + "/actuator/prometheus")[2], uri=TRAFFIC_URI, status="200") >= 10
    finally:
        server.faults.configure({"traffic_rps": 0})


def test_a_deleted_pods_series_are_dropped(standin):
    server, port = standin
    pod = server.watcher.pods[0]
    get(port, CONTEXT_PATH + TRAFFIC_URI)
    assert any(key[0] == "uid-1" for key in server.metrics.series)
    for listener in server.watcher.listeners:
        listener("DELETED", pod)
    assert not any(key[0] == "uid-1" for key in server.metrics.series)

"""Pure parts of the sandbox's Kubernetes helper: URL parsing, fault specs, pod names, PKI, kwok stages."""

import json
import os
import socket
import ssl
import threading

import pytest
import yaml

from kubesandbox import pki
from kubesandbox.faults import FaultError, Faults, Stats, resource_matches, workload_names
from kubesandbox.proxy import Target

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("method,path,query,expected", [
    ("GET", "/api/v1/namespaces/ns/services/web", {}, ("get", None, "services", "ns", "web", None)),
    ("GET", "/api/v1/namespaces/ns/pods", {"watch": ["1"]}, ("watch", None, "pods", "ns", None, None)),
    ("GET", "/apis/apps/v1/namespaces/ns/deployments", {}, ("list", "apps", "deployments", "ns", None, None)),
    ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/web/scale", {}, ("patch", "apps", "deployments", "ns", "web", "scale")),
    ("GET", "/api/v1/namespaces/ns/pods/web-1:8080/proxy/actuator/health", {},
     ("get", None, "pods", "ns", "web-1:8080", "proxy/actuator/health")),
    ("DELETE", "/api/v1/namespaces/ns", {}, ("delete", None, "namespaces", None, "ns", None)),
    ("PUT", "/api/v1/namespaces/ns/finalize", {}, ("update", None, "namespaces", None, "ns", "finalize")),
    ("POST", "/api/v1/namespaces", {}, ("create", None, "namespaces", None, None, None)),
    ("DELETE", "/api/v1/namespaces/ns/configmaps", {}, ("deletecollection", None, "configmaps", "ns", None, None)),
    ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/view", {}, ("get", "rbac.authorization.k8s.io", "clusterroles", None, "view", None)),
    ("GET", "/apis/apps/v1", {}, ("discovery", "apps", None, None, None, None)),
    ("GET", "/version", {}, ("discovery", None, None, None, None, None)),
    ("GET", "/openapi/v3", {}, ("discovery", None, None, None, None, None)),
])
def test_target_parses_kubernetes_urls(method, path, query, expected):
    target = Target(method, path, query)
    assert (target.verb, target.group, target.resource, target.namespace, target.name, target.subresource) == expected


def test_fault_specs_are_checked():
    faults = Faults()
    with pytest.raises(FaultError, match="fault type must be one of"):
        faults.add({"type": "nope"})
    with pytest.raises(FaultError, match="fault fail_writes needs resource, name"):
        faults.add({"type": "fail_writes", "namespace": "ns"})
    with pytest.raises(FaultError, match="status must be 409 or 500"):
        faults.add({"type": "fail_writes", "namespace": "ns", "resource": "services", "name": "a", "status": 404})
    with pytest.raises(FaultError, match="invalid latency fault"):
        faults.add({"type": "latency", "ms": "soon"})
    with pytest.raises(FaultError, match="ready_delay"):
        faults.configure({"ready_delay": -1})
    assert faults.list() == []


def test_fail_writes_is_consumed_and_names_the_object():
    faults = Faults()
    faults.add({"type": "fail_writes", "namespace": "ns", "resource": "service", "name": "web", "count": 2, "status": 409})
    assert faults.write_failure(None, "services", "other", "web") is None
    assert faults.write_failure(None, "services", "ns", "api") is None
    for _attempt in range(2):
        code, body = faults.write_failure(None, "services", "ns", "web")
        status = json.loads(body)
        assert code == 409 and status["reason"] == "Conflict" and 'services "web"' in status["message"]
    assert faults.write_failure(None, "services", "ns", "web") is None


def test_latency_adds_up_by_filter():
    faults = Faults()
    faults.add({"type": "latency", "ms": 100})
    faults.add({"type": "latency", "ms": 50, "resource": "services", "verb": "patch"})
    assert faults.latency_ms("services", "ns", "patch") == 150
    assert faults.latency_ms("services", "ns", "get") == 100
    assert faults.latency_ms(None, None, "discovery") == 100


def test_listeners_hear_every_change():
    faults = Faults()
    calls = []
    faults.listeners.append(lambda: calls.append(1))
    fault = faults.add({"type": "never_ready", "namespace": "ns", "name": "web"})
    faults.remove(fault["id"])
    faults.configure({"ready_delay": 1})
    faults.clear()
    assert len(calls) == 4


def test_stats_count_writes_dry_runs_and_what_lists_asked_for():
    stats = Stats()
    for verb, dry in (("get", False), ("patch", True), ("create", False), ("discovery", False)):
        stats.count(verb, dry)
    stats.count("list", False, "secrets app.kubernetes.io/managed-by=x")
    stats.count("list", False, "secrets (all)")
    stats.count("list", False, "secrets (all)")
    snapshot = stats.snapshot()
    assert snapshot["requests"] == 7 and snapshot["writes"] == 2 and snapshot["dry_run"] == 1
    assert snapshot["lists"] == {"secrets app.kubernetes.io/managed-by=x": 1, "secrets (all)": 2}
    stats.reset()
    assert stats.snapshot()["requests"] == 0 and stats.snapshot()["lists"] == {}


def test_resource_names():
    assert resource_matches("services", "services") and resource_matches("Service", "services")
    assert resource_matches("ingress", "ingresses") and not resource_matches("pod", "services")


def test_workload_names_of_a_replicaset_pod():
    pod = {"metadata": {"name": "web-blue-5d8f7c-x2x9z", "labels": {"pod-template-hash": "5d8f7c"},
                        "ownerReferences": [{"kind": "ReplicaSet", "name": "web-blue-5d8f7c"}]}}
    assert workload_names(pod) == {"web-blue-5d8f7c-x2x9z", "web-blue-5d8f7c", "web-blue"}
    assert workload_names({"metadata": {"name": "solo"}}) == {"solo"}


def test_certificates_pass_strict_verification(tmp_path):
    paths = pki.make_all(str(tmp_path), "10.96.0.1")
    assert pki.make_all(str(tmp_path), "10.96.0.1") == paths  # made once, then reused
    assert oct(os.stat(paths["ca_key"]).st_mode & 0o777) == "0o600"
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(paths["server_crt"], paths["server_key"])
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _address = listener.accept()
        with server_context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = ssl.create_default_context(cafile=paths["ca"])
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    with socket.create_connection(("127.0.0.1", port)) as raw, client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.getpeercert()["subject"][0][0] == ("commonName", "kube-apiserver")
        tls.sendall(b"x")
    thread.join(5)
    listener.close()


def test_kwok_stages_gate_readiness_on_the_sandbox_label():
    with open(os.path.join(REPO_ROOT, "sandbox", "kubesandbox", "stages.yaml"), encoding="utf-8") as handle:
        stages = {stage["metadata"]["name"]: stage for stage in yaml.safe_load(handle)["stages"]}
    assert set(stages) == {"pod-start", "pod-ready", "pod-unready", "pod-complete", "pod-delete"}
    ready_keys = [e["key"] for e in stages["pod-ready"]["spec"]["selector"]["matchExpressions"]]
    assert '.metadata.labels["sandbox.loyalty.platform/ready"]' in ready_keys
    assert "Ready" in stages["pod-start"]["spec"]["next"]["statusTemplate"]
    complete = stages["pod-complete"]["spec"]
    assert complete["delay"]["durationMilliseconds"] > 0, "a Job's pod must not finish the moment it starts"


def test_forward_specs_parse_and_bad_ones_are_named():
    from kubesandbox.forward import parse_forward  # pylint: disable=import-outside-toplevel

    assert parse_forward("0.0.0.0:9090=127.0.0.1:29090") == (("0.0.0.0", 9090), ("127.0.0.1", 29090))
    with pytest.raises(ValueError, match="must read ADDRESS:PORT=HOST:PORT"):
        parse_forward("9090")


def test_forward_relays_both_ways_and_closes_when_the_target_is_gone():
    from kubesandbox.forward import Forward  # pylint: disable=import-outside-toplevel

    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(1)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()
    thread = Forward(listener, target.getsockname()).thread(stop)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            upstream = target.accept()[0]
            with upstream:
                client.sendall(b"GET /api/v1/query")
                assert upstream.recv(100) == b"GET /api/v1/query"
                upstream.sendall(b"HTTP/1.1 200 OK")
                assert client.recv(100) == b"HTTP/1.1 200 OK"
        target.close()
        # Nothing listens at the target any more: the relayed connection is closed at once, as a dead endpoint's.
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            client.settimeout(5)
            assert client.recv(10) == b""
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_stats_count_proxied_requests_by_target():
    stats = Stats()
    stats.count("get", proxied="services monitoring/prometheus-server:9090")
    stats.count("get", proxied="services monitoring/prometheus-server:9090")
    stats.count("list", listed="pods (all)")
    snapshot = stats.snapshot()
    assert snapshot["proxied"] == {"services monitoring/prometheus-server:9090": 2}
    assert snapshot["requests"] == 3
    stats.reset()
    assert stats.snapshot()["proxied"] == {}


def test_a_lane_shares_the_faults_and_settings_and_counts_its_own_requests():
    """The proxy's second listener (--lane-listen): a second test process's requests never move the first one's
    counts, and a reset through one door leaves the other's alone; faults and settings are the same for both."""
    import types  # pylint: disable=import-outside-toplevel

    from kubesandbox.__main__ import Lane, Sandbox  # pylint: disable=import-outside-toplevel

    first = types.SimpleNamespace(faults=Faults(), stats=Stats())
    first.control = lambda method, path, body: Sandbox.control(first, method, path, body)
    lane = Lane(first)
    lane.stats.count("get")
    lane.stats.count("patch")
    first.stats.count("list", False, "pods (all)")
    assert lane.control("GET", "/_sandbox/stats", None)[1]["requests"] == 2
    assert first.control("GET", "/_sandbox/stats", None)[1]["requests"] == 1
    lane.control("POST", "/_sandbox/stats/reset", None)
    assert lane.stats.snapshot()["requests"] == 0 and first.stats.snapshot()["requests"] == 1

    code, added = lane.control("POST", "/_sandbox/faults", {"type": "never_ready", "namespace": "ns", "name": "web"})
    assert code in (200, 201) and [fault["id"] for fault in first.faults.list()] == [added["id"]]
    assert lane.control("POST", "/_sandbox/config", {"traffic_rps": 3})[1]["traffic_rps"] == 3
    assert first.faults.configure({})["traffic_rps"] == 3

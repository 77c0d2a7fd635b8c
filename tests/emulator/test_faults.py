"""Fault injection, statistics, runtime config and reset through /_emulator."""

import json
import time

import pytest
from kubernetes.client.exceptions import ApiException

from emu_support import deployment, service

DEP = "/apis/apps/v1/namespaces/emu/deployments"
SVC = "/api/v1/namespaces/emu/services"
PODS = "/api/v1/namespaces/emu/pods"
MERGE = "application/merge-patch+json"


def ready_pods(emulator):
    items = emulator.http("GET", PODS)[1]["items"]
    return [p for p in items if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]


def test_never_ready(emulator, ns):
    fault = emulator.control("POST", "faults", {"type": "never_ready", "namespace": "emu", "name": "green"})
    assert fault["id"] and fault["type"] == "never_ready"
    emulator.http("POST", DEP, deployment("green", replicas=2))
    emulator.http("POST", DEP, deployment("blue", replicas=1))
    emulator.wait_for(lambda: len(ready_pods(emulator)) == 1, message="blue ready")
    time.sleep(0.3)
    ready = ready_pods(emulator)
    assert len(ready) == 1 and ready[0]["metadata"]["labels"]["app"] == "blue"
    status = emulator.http("GET", DEP + "/green")[1]["status"]
    assert status["replicas"] == 2 and status.get("availableReplicas") is None and status["unavailableReplicas"] == 2
    assert {c["type"]: c["status"] for c in status["conditions"]}["Available"] == "False"
    emulator.control("DELETE", "faults/" + fault["id"])
    emulator.wait_for(lambda: emulator.http("GET", DEP + "/green")[1]["status"].get("availableReplicas") == 2, message="green ready")


@pytest.mark.parametrize("code,reason", [(500, "InternalError"), (409, "Conflict")])
def test_fail_writes_leaves_object_unchanged(emulator, ns, core, code, reason):
    emulator.http("POST", SVC, service("web", {"app": "web"}))
    before = emulator.http("GET", SVC + "/web")[1]
    emulator.control("POST", "faults", {"type": "fail_writes", "namespace": "emu", "resource": "services", "name": "web", "count": 4, "status": code})
    attempts = [("PATCH", SVC + "/web", {"spec": {"selector": {"app": "green"}}}, MERGE),
                ("PUT", SVC + "/web", dict(before, metadata=dict(before["metadata"], labels={"x": "y"})), "application/json"),
                ("PATCH", SVC + "/web/status", {"status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}}, MERGE),
                ("DELETE", SVC + "/web", None, "application/json")]
    for method, path, body, ctype in attempts:
        status, answer = emulator.http(method, path, body, ctype)
        assert status == code and answer["kind"] == "Status" and answer["reason"] == reason and answer["code"] == code, (method, path)
    after = emulator.http("GET", SVC + "/web")[1]
    assert after == before
    # Typed clients see the same error.
    emulator.control("POST", "faults", {"type": "fail_writes", "namespace": "emu", "resource": "Service", "name": "web", "count": 1, "status": code})
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_service("web", "emu", {"spec": {"selector": {"app": "green"}}})
    assert err.value.status == code and json.loads(err.value.body)["reason"] == reason
    # The count is used up: the next write goes through.
    status, patched = emulator.http("PATCH", SVC + "/web", {"spec": {"selector": {"app": "green"}}}, MERGE)
    assert status == 200 and patched["spec"]["selector"] == {"app": "green"}
    faults = emulator.control("GET", "faults")["faults"]
    assert [f["count"] for f in faults] == [0, 0]


def test_fail_writes_on_create(emulator, ns):
    emulator.control("POST", "faults", {"type": "fail_writes", "namespace": "emu", "resource": "configmaps", "name": "cfg", "count": 1, "status": 500})
    assert emulator.http("POST", "/api/v1/namespaces/emu/configmaps", {"metadata": {"name": "cfg"}})[0] == 500
    assert emulator.http("GET", "/api/v1/namespaces/emu/configmaps/cfg")[0] == 404
    assert emulator.http("POST", "/api/v1/namespaces/emu/configmaps", {"metadata": {"name": "cfg"}})[0] == 201


def test_latency(emulator, ns):
    started = time.monotonic()
    emulator.http("GET", SVC)
    baseline = time.monotonic() - started
    emulator.control("POST", "faults", {"type": "latency", "ms": 300, "resource": "services", "namespace": "emu"})
    started = time.monotonic()
    assert emulator.http("GET", SVC)[0] == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    emulator.http("GET", "/api/v1/namespaces/emu/configmaps")  # not matched by the filter
    assert time.monotonic() - started < 0.25 + baseline
    emulator.control("DELETE", "faults")
    emulator.control("POST", "faults", {"type": "latency", "ms": 200})
    started = time.monotonic()
    emulator.http("GET", "/api/v1/namespaces/emu/configmaps")
    assert time.monotonic() - started >= 0.2


def test_pod_http(emulator, ns):
    emulator.http("POST", DEP, deployment("green", replicas=1))
    emulator.http("POST", DEP, deployment("blue", replicas=1))
    emulator.wait_for(lambda: len(ready_pods(emulator)) == 2, message="ready")
    pods = {p["metadata"]["labels"]["app"]: p["metadata"]["name"] for p in ready_pods(emulator)}
    emulator.control("POST", "faults", {"type": "pod_http", "namespace": "emu", "name": "green", "status": 503})
    status, body = emulator.http("GET", PODS + "/%s:8080/proxy/actuator/health/readiness" % pods["green"])
    assert status == 503 and body == {"status": "DOWN"}
    status, body = emulator.http("GET", PODS + "/%s:8080/proxy/actuator/health/readiness" % pods["blue"])
    assert status == 200 and body == {"status": "UP"}
    emulator.control("DELETE", "faults")
    assert emulator.http("GET", PODS + "/%s/proxy/actuator/health" % pods["green"])[0] == 200


def test_stats(emulator, ns):
    emulator.control("POST", "stats/reset")
    emulator.http("POST", "/api/v1/namespaces/emu/configmaps", {"metadata": {"name": "a"}})
    emulator.http("GET", "/api/v1/namespaces/emu/configmaps/a")
    emulator.http("GET", "/api/v1/namespaces/emu/configmaps")
    emulator.http("PATCH", "/api/v1/namespaces/emu/configmaps/a", {"data": {"k": "v"}}, MERGE)
    emulator.http("PUT", "/api/v1/namespaces/emu/configmaps/a", {"metadata": {"name": "a"}})
    emulator.http("DELETE", "/api/v1/namespaces/emu/configmaps/a")
    emulator.control("GET", "faults")
    stats = emulator.control("GET", "stats")
    assert stats["by_verb"] == {"get": 1, "list": 1, "create": 1, "patch": 1, "update": 1, "delete": 1}
    assert stats["requests"] == 6 and stats["writes"] == 4
    emulator.control("POST", "stats/reset")
    assert emulator.control("GET", "stats")["requests"] == 0


def test_config_reset_and_bad_faults(emulator, ns):
    assert emulator.control("POST", "config", {"ready_delay": 1.5})["ready_delay"] == 1.5
    emulator.control("POST", "faults", {"type": "latency", "ms": 1})
    emulator.http("POST", "/api/v1/namespaces/emu/configmaps", {"metadata": {"name": "a"}})
    emulator.control("POST", "reset")
    assert emulator.http("GET", "/api/v1/namespaces/emu")[0] == 404
    assert emulator.control("GET", "faults") == {"faults": []}
    assert {"default", "kube-system", "kube-public"} <= {n["metadata"]["name"] for n in emulator.http("GET", "/api/v1/namespaces")[1]["items"]}
    bad_faults = ({"type": "explode"}, {"type": "never_ready", "namespace": "x"},
                  {"type": "fail_writes", "namespace": "x", "resource": "services", "name": "y", "status": 418})
    for bad in bad_faults:
        assert emulator.http("POST", "/_emulator/faults", bad)[0] == 400
    assert emulator.http("GET", "/_emulator/nothing")[0] == 404

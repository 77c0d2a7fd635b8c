"""prometheus_gates_info against the sandbox's real Prometheus, through the API server's services proxy and at its URL.

The sandbox runs its Prometheus as the in-cluster Service monitoring/prometheus-server (SANDBOX_PROMETHEUS_SERVICE),
as a cluster would, so the module reaches it with the deployer's kubeconfig only. Every value a gate reports is
checked against the same query asked of Prometheus directly.
"""

import json

import pytest
import requests

GATES_ROLE = "loyalty-platform:prometheus-gates"


def selectorless_prometheus(namespace, name="prometheus-server"):
    """A Service in front of no Pod."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"app": "nothing-here"}, "ports": [{"name": "http", "port": 9090}]}}


def play(args, name="gates"):
    return """
- name: Gates integration
  hosts: localhost
  gather_facts: false
  tasks:
    - name: %s
      loyalty.platform.prometheus_gates_info: %s
""" % (name, json.dumps(args))


def service_of(sandbox):
    namespace, rest = sandbox["SANDBOX_PROMETHEUS_SERVICE"].split("/", 1)
    name, port = rest.rsplit(":", 1)
    return {"namespace": namespace, "name": name, "port": port}


def direct(sandbox, query):
    """The query's samples as Prometheus itself answers them."""
    answer = requests.get(sandbox["PROMETHEUS_URL"] + "/api/v1/query", params={"query": query}, timeout=10).json()
    assert answer["status"] == "success"
    return sorted(float(sample["value"][1]) for sample in answer["data"]["result"])


@pytest.fixture
def gates(run_playbook):
    def _run(**args):
        result = run_playbook(play(args))
        return result, result.task_result("gates")

    return _run


def test_gates_through_the_services_proxy_match_prometheus(sandbox, gates, kube_sandbox):
    kube_sandbox.reset_stats()
    query = 'count(up{job="prometheus"}) + 0 * vector(0)'
    result, task = gates(prometheus_service=service_of(sandbox), color="green", namespace="loyalty-system-local", services=["user-service", "point-service"],
                         gates=[{"name": "prometheus-up", "query": query, "threshold": 1, "comparison": ">="},
                                {"name": "per-service", "query": 'label_replace(vector(2), "service", "{service}", "", "")', "threshold": 3},
                                {"name": "color", "query": 'label_replace(vector(1), "color", "{color}", "", "")', "threshold": 1, "comparison": "=="}])
    assert result.rc == 0, task.get("msg")
    assert task["passed"] is True and task["rounds"] == 1 and task["problems"] == []
    by_name = {}
    for item in task["results"]:
        by_name.setdefault(item["name"], []).append(item)
    assert by_name["prometheus-up"][0]["observed"] == direct(sandbox, query)
    assert [item["service"] for item in by_name["per-service"]] == ["user-service", "point-service"]
    assert [item["query"] for item in by_name["per-service"]] == ['label_replace(vector(2), "service", "%s", "", "")' % name
                                                                  for name in ("user-service", "point-service")]
    assert by_name["color"][0]["query"] == 'label_replace(vector(1), "color", "green", "", "")'
    # Every query went through the API server: one proxied GET of the Prometheus Service each (4 here).
    assert kube_sandbox.stats()["proxied"] == {"services monitoring/prometheus-server:9090": 4}


def test_a_failing_gate_is_a_result_not_a_failure(sandbox, gates):
    result, task = gates(prometheus_service=service_of(sandbox), gates=[{"name": "too-high", "query": "vector(5)", "threshold": 1}])
    assert result.rc == 0
    assert task["passed"] is False and task["results"][0]["observed"] == [5.0] == direct(sandbox, "vector(5)")
    assert task["problems"] == ["gate too-high: 5 is not <= 1 (query vector(5))"]


def test_a_rejected_query_fails_naming_the_gate_and_prometheus(sandbox, gates):
    result, task = gates(prometheus_service=service_of(sandbox), gates=[{"name": "broken", "query": "sum(rate(", "threshold": 1}])
    assert result.rc != 0 and task["passed"] is False
    assert "Prometheus Service monitoring/prometheus-server:9090 (through the API server's services proxy) rejected the query of gate broken" in task["msg"]
    assert "nothing was changed" in task["msg"]


def test_url_and_services_proxy_give_the_same_answer(sandbox, gates):
    gate = [{"name": "build", "query": "count(prometheus_build_info)", "threshold": 0, "comparison": ">"}]
    proxied = gates(prometheus_service=service_of(sandbox), gates=gate)[1]
    at_url = gates(prometheus_url=sandbox["PROMETHEUS_URL"], gates=gate)[1]
    assert proxied["passed"] and at_url["passed"]
    assert proxied["results"][0]["observed"] == at_url["results"][0]["observed"] == direct(sandbox, "count(prometheus_build_info)")


def test_watch_evaluates_every_interval_until_the_window_ends(sandbox, gates):
    result, task = gates(prometheus_service=service_of(sandbox), duration=2, interval=1, gates=[{"name": "quiet", "query": "vector(0)", "threshold": 1}])
    assert result.rc == 0 and task["passed"] is True
    assert task["rounds"] == 3 and 1.5 <= task["elapsed"] < 10


def test_without_the_proxy_permission_the_answer_names_the_refusal(gates, namespace, kube_apply):
    """A Prometheus Service in a namespace where the deployer holds no services/proxy right: refused with 403."""
    kube_apply(selectorless_prometheus(namespace))
    result, task = gates(prometheus_service={"namespace": namespace, "name": "prometheus-server", "port": "9090"},
                         gates=[{"name": "g", "query": "vector(0)", "threshold": 1}])
    assert result.rc != 0 and "answered HTTP 403 to gate g" in task["msg"] and "services/proxy" in task["msg"]


def test_a_prometheus_without_ready_pods_is_unreachable(gates, namespace, kube_apply, grant):
    kube_apply(selectorless_prometheus(namespace))
    grant(namespace, GATES_ROLE)
    result, task = gates(prometheus_service={"namespace": namespace, "name": "prometheus-server", "port": "9090"},
                         gates=[{"name": "error-rate", "query": "vector(0)", "threshold": 1}])
    assert result.rc != 0 and task["passed"] is False
    assert task["msg"].startswith("Prometheus Service %s/prometheus-server:9090 (through the API server's services proxy) is unreachable (HTTP 503" % namespace)
    assert "gate error-rate cannot be evaluated; nothing was changed" in task["msg"]


def test_the_proxy_right_covers_the_prometheus_service_only(gates, namespace, kube_apply, grant):
    """loyalty-platform:prometheus-gates names the Service: another Service in the same namespace stays closed."""
    kube_apply(selectorless_prometheus(namespace, "other"))
    grant(namespace, GATES_ROLE)
    result, task = gates(prometheus_service={"namespace": namespace, "name": "other", "port": "9090"},
                         gates=[{"name": "g", "query": "vector(0)", "threshold": 1}])
    assert result.rc != 0 and "answered HTTP 403 to gate g" in task["msg"]


def test_bad_options_fail_before_any_request(gates, kube_sandbox, sandbox):
    kube_sandbox.reset_stats()
    result, task = gates(prometheus_service=service_of(sandbox), prometheus_token="not-for-the-proxy",
                         gates=[{"name": "g", "query": "vector(0)", "threshold": 1}])
    assert result.rc != 0 and "prometheus_token applies to prometheus_url only" in task["msg"]
    assert "not-for-the-proxy" not in json.dumps(task)
    assert kube_sandbox.stats()["proxied"] == {}

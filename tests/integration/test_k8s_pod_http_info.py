"""k8s_pod_http_info against the sandbox's control plane: each Pod called through the API server's pods proxy.

The Pods are kwok's; the sandbox's stand-in answers at their addresses as the Spring Boot services would (readiness
follows the Pod's Ready condition), and its pod_http fault makes a workload answer with a chosen status. Every record
the module returns is checked against the Pods read back through the API.
"""

import json
import time

import pytest

APP = "web"
CONTEXT = "/api/v1"
READINESS = CONTEXT + "/actuator/health/readiness"


def play(args, name="pod-http"):
    return """
- name: Pod HTTP integration
  hosts: localhost
  gather_facts: false
  tasks:
    - name: %s
      loyalty.platform.k8s_pod_http_info: %s
""" % (name, json.dumps(args))


def deployment(name, replicas, color="green"):
    labels = {"app": APP, "color": color}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "containers": [{"name": "app", "image": "registry.invalid/loyalty/web:1.0.0",
                            "env": [{"name": "SERVER_SERVLET_CONTEXT_PATH", "value": CONTEXT}],
                            "ports": [{"name": "http", "containerPort": 8080}]}]}}},
    }


def ready_pods(kube_client, namespace, selector, count, timeout=60):
    pods = kube_client.resources.get(api_version="v1", kind="Pod")
    deadline = time.monotonic() + timeout
    while True:
        items = pods.get(namespace=namespace, label_selector=selector).to_dict()["items"]
        ready = [p for p in items if any(c["type"] == "Ready" and c["status"] == "True" for c in (p.get("status") or {}).get("conditions") or [])]
        if len(ready) == count == len(items):
            return sorted(p["metadata"]["name"] for p in items)
        assert time.monotonic() < deadline, "%d of %d Pods of %s ready after %ss" % (len(ready), count, selector, timeout)
        time.sleep(0.2)


@pytest.fixture
def web(kube_client, namespace):
    kube_client.resources.get(api_version="apps/v1", kind="Deployment").create(namespace=namespace, body=deployment("web-green", 2))
    return ready_pods(kube_client, namespace, "app=web,color=green", 2)


@pytest.fixture
def check(run_playbook, namespace):
    def _run(**options):
        args = {"namespace": namespace, "selectors": ["app=web,color=green"], "path": READINESS, "expected_json": {"status": "UP"}}
        args.update(options)
        result = run_playbook(play(args))
        return result, result.task_result("pod-http")

    return _run


def test_every_pod_answers_through_the_pods_proxy(web, check, kube_sandbox, namespace):
    kube_sandbox.reset_stats()
    result, task = check()
    assert result.rc == 0, task.get("msg")
    assert task["passed"] is True and task["changed"] is False and task["problems"] == []
    assert sorted(pod["name"] for pod in task["pods"]) == web
    for pod in task["pods"]:
        assert pod["status"] == 200 and pod["port"] == 8080 and pod["ready"] and json.loads(pod["body"]) == {"status": "UP"}
    assert task["selectors"] == [{"selector": "app=web,color=green", "pods": 2, "passed_pods": 2, "passed": True}]
    # One list, then one proxied GET per Pod; each Pod reached once.
    assert task["api_requests"] == 3
    stats = kube_sandbox.stats()
    assert {key: value for key, value in stats["proxied"].items() if key.startswith("pods %s/" % namespace)} == \
        {"pods %s/%s:8080" % (namespace, name): 1 for name in web}


def test_a_pod_that_answers_503_fails_the_check_and_is_named(web, check, kube_sandbox, namespace):
    kube_sandbox.fault(type="pod_http", namespace=namespace, name="web-green", status=503)
    result, task = check()
    assert result.rc == 0  # a failing Pod is a result; the task reports it
    assert task["passed"] is False and task["selectors"][0]["passed_pods"] == 0
    assert sorted(task["problems"]) == ["Pod %s answered HTTP 503, expected 200" % name for name in web]
    assert all(pod["status"] == 503 and not pod["passed"] for pod in task["pods"])


def test_wrong_json_is_named_with_the_value_seen(web, check):
    _result, task = check(path=CONTEXT + "/actuator/info", expected_json={"app": {"name": "other"}})
    assert task["passed"] is False
    assert all('answered app={"name": "web"}, expected app={"name": "other"}' in problem for problem in task["problems"])


def test_too_few_pods_and_a_missing_port_name(web, check, namespace):
    _result, task = check(selectors=["app=web,color=blue"], min_pods=1)
    assert task["passed"] is False
    assert task["problems"] == ["selector app=web,color=blue matches 0 running Pod(s) in namespace %s, expected at least 1" % namespace]
    _result, task = check(port="admin")
    assert task["passed"] is False and sorted(task["problems"]) == ["Pod %s has no container port named admin" % name for name in web]


def test_a_pod_that_is_not_ready_is_not_called(kube_client, namespace, check, kube_sandbox):
    kube_sandbox.fault(type="never_ready", namespace=namespace, name="web-green")
    kube_client.resources.get(api_version="apps/v1", kind="Deployment").create(namespace=namespace, body=deployment("web-green", 1))
    pods = kube_client.resources.get(api_version="v1", kind="Pod")
    deadline = time.monotonic() + 60
    while not [p for p in pods.get(namespace=namespace, label_selector="app=web").to_dict()["items"] if (p.get("status") or {}).get("phase") == "Running"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    kube_sandbox.reset_stats()
    _result, task = check()
    assert task["passed"] is False and task["pods"][0]["status"] is None
    assert task["problems"][0].endswith("is not Ready (its readiness probe has not passed)")
    assert not [key for key in kube_sandbox.stats()["proxied"] if key.startswith("pods %s/" % namespace)]
    # Asked not to require readiness, the Pod is called and its own readiness endpoint answers 503.
    _result, task = check(require_ready=False)
    assert task["pods"][0]["status"] == 503 and json.loads(task["pods"][0]["body"]) == {"status": "OUT_OF_SERVICE"}


def test_bad_options_fail_before_any_request(check, kube_sandbox, namespace):
    kube_sandbox.reset_stats()
    result, task = check(selectors=[" "], expected_status=[99])
    assert result.rc != 0
    assert "selectors must list at least one non-empty label selector" in task["msg"]
    assert "expected_status must list HTTP status codes between 100 and 599" in task["msg"]
    assert task.get("api_requests", 0) == 0

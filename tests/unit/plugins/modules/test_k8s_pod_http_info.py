"""Unit tests of the loyalty.platform.k8s_pod_http_info module with a fake Kubernetes client (get_api_client replaced)."""

import json

import pytest
from kubernetes.client.exceptions import ApiException

from ansible.module_utils.testing import patch_module_args

from ansible_collections.loyalty.platform.plugins.modules import k8s_pod_http_info


def pod(name, ready=True):
    return {
        "metadata": {"name": name, "labels": {"app": "user-service", "color": "green"}},
        "spec": {"containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


class _Response:
    def __init__(self, status, data):
        self.status = status
        self.data = data


class FakeClient:
    """Answers the Pod list (KubeApi's serializer path) and the proxied GETs (raw path)."""

    def __init__(self, pods, answers=None, list_status=None):
        self.pods = pods
        self.answers = answers or {}
        self.list_status = list_status
        self.requests = []

    def request(self, method, path, body=None, **params):
        self.requests.append((method, path, params.get("label_selector")))
        if "/proxy/" not in path:
            if self.list_status:
                raise ApiException(status=self.list_status, reason="Forbidden")
            return {"items": self.pods}
        name = path.split("/pods/")[1].split(":")[0]
        status, payload = self.answers.get(name, (200, {"status": "UP"}))
        if status >= 400:
            error = ApiException(status=status, reason="error")
            error.body = json.dumps(payload)
            raise error
        return _Response(status, json.dumps(payload).encode())


@pytest.fixture
def client(monkeypatch):
    holder = {}

    class _Wrapper:
        def __init__(self, fake):
            self.client = fake

    def install(fake):
        holder["fake"] = fake
        monkeypatch.setattr(k8s_pod_http_info, "get_api_client", lambda module: _Wrapper(fake))
        return fake

    return install


def run_module(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            k8s_pod_http_info.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


ARGS = {"namespace": "ns", "selectors": ["app=user-service,color=green"], "path": "/api/v1/actuator/health/readiness", "expected_json": {"status": "UP"}}


def test_every_pod_passes(capsys, client):
    fake = client(FakeClient([pod("u-1"), pod("u-2")]))
    code, result = run_module(capsys, **ARGS)
    assert code == 0
    assert result["changed"] is False and result["passed"] is True
    assert [p["status"] for p in result["pods"]] == [200, 200]
    assert result["api_requests"] == 3
    assert fake.requests[0] == ("GET", "/api/v1/namespaces/ns/pods", "app=user-service,color=green")
    assert fake.requests[1][1] == "/api/v1/namespaces/ns/pods/u-1:8080/proxy/api/v1/actuator/health/readiness"


def test_a_failing_pod_is_reported_not_raised(capsys, client):
    client(FakeClient([pod("u-1"), pod("u-2")], answers={"u-2": (503, {"status": "DOWN"})}))
    code, result = run_module(capsys, **ARGS)
    assert code == 0 and result["passed"] is False
    assert result["problems"] == ["Pod u-2 answered HTTP 503, expected 200"]
    assert result["pods"][1]["body"] == '{"status": "DOWN"}'


def test_check_mode_runs_the_same_checks(capsys, client):
    client(FakeClient([pod("u-1", ready=False)]))
    code, result = run_module(capsys, _ansible_check_mode=True, **ARGS)
    assert code == 0 and result["passed"] is False and result["changed"] is False
    assert result["problems"] == ["Pod u-1 is not Ready (its readiness probe has not passed)"]


def test_pods_that_cannot_be_listed_fail_the_task(capsys, client):
    client(FakeClient([], list_status=403))
    code, result = run_module(capsys, **ARGS)
    assert code == 1 and result["failed"] and result["passed"] is False
    assert result["msg"].startswith("Could not list the Pods of app=user-service,color=green in namespace ns")


def test_invalid_options_fail_the_task(capsys, client):
    client(FakeClient([]))
    code, result = run_module(capsys, **dict(ARGS, port="99999"))
    assert code == 1 and "port must be a container port name or a number" in result["msg"]


def test_scheme_choices_are_enforced(capsys, client):
    client(FakeClient([]))
    code, result = run_module(capsys, **dict(ARGS, scheme="ftp"))
    assert code == 1 and "scheme" in result["msg"]

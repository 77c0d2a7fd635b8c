"""HTTP checks through the pods proxy: which Pods are checked, the proxy path, how answers are judged."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.client.exceptions import ApiException

from ansible_collections.loyalty.platform.plugins.module_utils import k8s_pod_http
from ansible_collections.loyalty.platform.plugins.module_utils.kube_api import ApiError, KubeApi, pod_proxy_path, pod_ready

PARAMS = {
    "namespace": "ns",
    "selectors": ["app=user-service,color=green"],
    "port": "http",
    "scheme": "http",
    "path": "/api/v1/actuator/health/readiness",
    "expected_status": [200],
    "expected_json": {"status": "UP"},
    "require_ready": True,
    "min_pods": 1,
}


def pod(name, app="user-service", ready=True, phase="Running", terminating=False, ports=None):
    metadata = {"name": name, "labels": {"app": app, "color": "green"}}
    if terminating:
        metadata["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {
        "metadata": metadata,
        "spec": {"containers": [{"name": app, "ports": ports if ports is not None else [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


class FakeApi:
    """Pods per selector and an answer per proxy path; counts requests like the real edge."""

    def __init__(self, pods_by_selector, answers=None, list_error=None):
        self.pods_by_selector = pods_by_selector
        self.answers = answers or {}
        self.list_error = list_error
        self.requests = 0
        self.paths = []

    def list_pods(self, namespace, label_selector=None):
        self.requests += 1
        if self.list_error:
            raise self.list_error
        return self.pods_by_selector.get(label_selector, [])

    def proxy_get(self, path):
        self.requests += 1
        self.paths.append(path)
        answer = self.answers.get(path.rsplit("/pods/", 1)[1].split("/", 1)[0], (200, b'{"status":"UP"}'))
        if isinstance(answer, Exception):
            raise answer
        return answer


class TestPureParts:
    def test_terminating_and_finished_pods_are_not_checked(self):
        assert k8s_pod_http.is_candidate(pod("a"))
        assert not k8s_pod_http.is_candidate(pod("a", terminating=True))
        assert not k8s_pod_http.is_candidate(pod("a", phase="Succeeded"))
        assert not k8s_pod_http.is_candidate(pod("a", phase="Failed"))

    def test_ready_condition(self):
        assert pod_ready(pod("a")) and not pod_ready(pod("a", ready=False))
        assert not pod_ready({"status": {}})

    @pytest.mark.parametrize("port,expected", [("http", 8080), ("8443", 8443), (9090, 9090), ("metrics", None)])
    def test_port_by_name_or_number(self, port, expected):
        assert k8s_pod_http.resolve_port(pod("a"), port) == expected

    def test_proxy_path(self):
        assert pod_proxy_path("ns", "p-1", "http", 8080, "/api/v1/actuator/health") == \
            "/api/v1/namespaces/ns/pods/p-1:8080/proxy/api/v1/actuator/health"
        assert pod_proxy_path("ns", "p-1", "https", 8443, "health") == "/api/v1/namespaces/ns/pods/https:p-1:8443/proxy/health"
        assert pod_proxy_path("ns", "p", "http", 80, "/a b/c?d") == "/api/v1/namespaces/ns/pods/p:80/proxy/a%20b/c%3Fd"

    def test_body_parsing(self):
        assert k8s_pod_http.parse_body(b'{"status":"UP"}') == ({"status": "UP"}, '{"status":"UP"}')
        assert k8s_pod_http.parse_body("OK") == (None, "OK")
        assert k8s_pod_http.parse_body(b"[1]") == (None, "[1]")
        assert k8s_pod_http.parse_body(None) == (None, "")
        assert len(k8s_pod_http.parse_body("x" * 5000)[1]) == k8s_pod_http.BODY_LIMIT

    @pytest.mark.parametrize("status,document,expected_json,problem", [
        (200, {"status": "UP"}, {"status": "UP"}, None),
        (200, None, None, None),
        (503, {"status": "DOWN"}, {"status": "UP"}, "answered HTTP 503, expected 200"),
        (200, {"status": "DOWN"}, {"status": "UP"}, 'answered status="DOWN", expected status="UP"'),
        (200, None, {"status": "UP"}, 'answered HTTP 200 without a JSON object, expected {"status": "UP"}'),
    ])
    def test_judge(self, status, document, expected_json, problem):
        assert k8s_pod_http.judge(status, document, [200], expected_json) == problem

    @given(st.integers(min_value=100, max_value=599), st.lists(st.integers(min_value=100, max_value=599), min_size=1, max_size=4))
    def test_judge_passes_exactly_the_expected_statuses(self, status, expected):
        assert (k8s_pod_http.judge(status, None, expected, None) is None) == (status in expected)

    @pytest.mark.parametrize("change,message", [
        ({"selectors": []}, "selectors must list"),
        ({"selectors": [" "]}, "selectors must list"),
        ({"min_pods": -1}, "min_pods must be 0 or more"),
        ({"expected_status": [700]}, "expected_status must list"),
        ({"port": "70000"}, "port must be"),
        ({"port": ""}, "port must be"),
    ])
    def test_invalid_options(self, change, message):
        with pytest.raises(k8s_pod_http.PodHttpError, match=message):
            k8s_pod_http.validate_params(dict(PARAMS, **change))


class TestRunChecks:
    def test_every_pod_answers(self):
        api = FakeApi({PARAMS["selectors"][0]: [pod("u-2"), pod("u-1"), pod("u-0", terminating=True)]})
        result = k8s_pod_http.run_checks(api, PARAMS)
        assert result["passed"] and result["problems"] == []
        assert [record["name"] for record in result["pods"]] == ["u-1", "u-2"]
        assert result["pods"][0] == {"name": "u-1", "selector": PARAMS["selectors"][0], "ready": True, "port": 8080, "status": 200,
                                     "body": '{"status":"UP"}', "passed": True, "problem": None}
        assert result["selectors"] == [{"selector": PARAMS["selectors"][0], "pods": 2, "passed_pods": 2, "passed": True}]
        assert api.paths == ["/api/v1/namespaces/ns/pods/u-1:8080/proxy/api/v1/actuator/health/readiness",
                             "/api/v1/namespaces/ns/pods/u-2:8080/proxy/api/v1/actuator/health/readiness"]
        assert result["api_requests"] == 3
        assert result["msg"] == "2 Pod(s) of 1 selector(s) answered 200 on /api/v1/actuator/health/readiness."

    def test_failures_are_results_naming_each_pod(self):
        selectors = ["app=user-service,color=green", "app=point-service,color=green"]
        api = FakeApi(
            {selectors[0]: [pod("u-1"), pod("u-2", ready=False), pod("u-3", ports=[])], selectors[1]: []},
            answers={"u-1:8080": (503, b'{"status":"DOWN"}')},
        )
        result = k8s_pod_http.run_checks(api, dict(PARAMS, selectors=selectors))
        assert not result["passed"]
        assert result["problems"] == [
            "Pod u-1 answered HTTP 503, expected 200",
            "Pod u-2 is not Ready (its readiness probe has not passed)",
            "Pod u-3 has no container port named http",
            "selector app=point-service,color=green matches 0 running Pod(s) in namespace ns, expected at least 1",
        ]
        assert result["msg"].startswith("HTTP checks failed in namespace ns: Pod u-1 answered HTTP 503")
        # Only the Pod that could be called was called.
        assert len(api.paths) == 1

    def test_not_ready_pods_are_called_when_readiness_is_not_required(self):
        api = FakeApi({PARAMS["selectors"][0]: [pod("u-1", ready=False)]})
        result = k8s_pod_http.run_checks(api, dict(PARAMS, require_ready=False, expected_json=None))
        assert result["passed"] and result["pods"][0]["ready"] is False and result["pods"][0]["status"] == 200

    def test_a_pod_the_api_cannot_reach_fails_the_check_naming_it(self):
        api = FakeApi({PARAMS["selectors"][0]: [pod("u-1")]}, answers={"u-1:8080": ApiError("GET ...: no answer: refused")})
        with pytest.raises(k8s_pod_http.PodHttpError, match="Could not reach Pod ns/u-1 through the API server's pods proxy"):
            k8s_pod_http.run_checks(api, PARAMS)

    def test_pods_that_cannot_be_listed_fail_the_check(self):
        api = FakeApi({}, list_error=ApiError("GET /api/v1/namespaces/ns/pods: Forbidden (HTTP 403)", status=403))
        with pytest.raises(k8s_pod_http.PodHttpError, match="Could not list the Pods of app=user-service,color=green in namespace ns: .*403"):
            k8s_pod_http.run_checks(api, PARAMS)


class _Response:
    def __init__(self, status, data):
        self.status = status
        self.data = data


class _Client:
    def __init__(self, outcome):
        self.outcome = outcome
        self.calls = []

    def request(self, method, path, **params):
        self.calls.append((method, path, params))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class TestProxyEdge:
    def test_success_keeps_status_and_raw_body(self):
        client = _Client(_Response(204, b""))
        api = KubeApi(client, request_timeout=3)
        assert api.proxy_get("/p") == (204, b"")
        assert client.calls == [("GET", "/p", {"serialize": False, "_request_timeout": 3})]
        assert api.requests == 1

    def test_an_error_status_is_the_pods_answer(self):
        error = ApiException(status=503, reason="Service Unavailable")
        error.body = json.dumps({"status": "DOWN"})
        assert KubeApi(_Client(error)).proxy_get("/p") == (503, '{"status": "DOWN"}')

    def test_no_answer_at_all_is_an_api_error(self):
        with pytest.raises(ApiError, match="no answer"):
            KubeApi(_Client(ApiException(status=0, reason="connection refused"))).proxy_get("/p")
        with pytest.raises(ApiError, match="no answer"):
            KubeApi(_Client(OSError("refused"))).proxy_get("/p")

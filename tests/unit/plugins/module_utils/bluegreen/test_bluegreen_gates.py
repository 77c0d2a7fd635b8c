"""Prometheus gates: templating, comparison, response parsing and the HTTP fetcher."""

import math
import socket
from urllib.parse import parse_qs, urlparse

import pytest
from localhttp import Handler, serving
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen import gates
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.prometheus_api import url_fetcher


def vector(*values):
    return {"resultType": "vector", "result": [{"metric": {"i": str(i)}, "value": [0, str(v)]} for i, v in enumerate(values)]}


class TestTemplating:
    def test_placeholders_are_replaced_and_promql_braces_kept(self):
        query = 'sum(rate(http_requests_total{namespace="{namespace}",color="{color}",code=~"5.."}[5m]))'
        assert gates.render_query(query, color="green", namespace="prod") == \
            'sum(rate(http_requests_total{namespace="prod",color="green",code=~"5.."}[5m]))'

    def test_service_placeholder_makes_a_gate_per_service(self):
        seen = []

        def fetch(query, name):
            seen.append(query)
            return vector(0)

        gate = {"name": "up", "query": 'up{service="{service}",color="{color}"}', "threshold": 1}
        results, problems = gates.evaluate_gates([gate], fetch, "ns", "green", "blue", ["a", "b"])
        assert problems == [] and [r["service"] for r in results] == ["a", "b"]
        assert seen == ['up{service="a",color="green"}', 'up{service="b",color="green"}']


class TestComparison:
    @pytest.mark.parametrize("value,comparison,threshold,expected", [
        (1, "<=", 1, True), (1.01, "<=", 1, False), (5, ">=", 1, True), (0, ">", 0, False),
        (0, "<", 1, True), (2, "==", 2, True), (2, "!=", 2, False),
    ])
    def test_table(self, value, comparison, threshold, expected):
        assert gates.compare(value, comparison, threshold) is expected

    def test_nan_never_passes(self):
        assert not gates.compare(math.nan, "<=", 1) and not gates.compare(math.nan, "!=", 1)

    def test_unknown_comparison(self):
        with pytest.raises(BlueGreenError, match="Unknown gate comparison"):
            gates.compare(1, "=<", 1)

    @given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False))
    def test_opposite_comparisons_never_both_pass(self, value, threshold):
        assert not (gates.compare(value, "<", threshold) and gates.compare(value, ">=", threshold))
        assert gates.compare(value, "<=", threshold) or gates.compare(value, ">", threshold)


class TestEvaluation:
    def test_every_sample_must_pass(self):
        result = gates.evaluate_gate({"name": "errors", "threshold": 1, "comparison": "<="}, vector(0.5, 3), query="q")
        assert not result["passed"] and result["failing"] == [{"labels": {"i": "1"}, "value": 3.0}]
        assert gates.gate_problem(result) == "gate errors: 3 is not <= 1 (query q)"

    def test_scalar_result(self):
        assert gates.evaluate_gate({"name": "s", "threshold": 1}, {"resultType": "scalar", "result": [0, "0.2"]})["passed"]

    def test_empty_result_fails_unless_allowed(self):
        gate = {"name": "errors", "threshold": 1}
        result = gates.evaluate_gate(gate, vector(), query="q")
        assert not result["passed"] and "returned no samples" in gates.gate_problem(result)
        assert gates.evaluate_gate(dict(gate, allow_empty=True), vector())["passed"]

    def test_matrix_is_refused(self):
        with pytest.raises(BlueGreenError, match="instant vector or a scalar, got matrix"):
            gates.samples_of({"resultType": "matrix", "result": []})

    def test_problem_names_service(self):
        def fetch(query, name):
            return vector(9)

        gate = {"name": "latency", "query": 'x{s="{service}"}', "threshold": 1, "comparison": "<"}
        _results, problems = gates.evaluate_gates([gate], fetch, "ns", "green", "blue", ["point-service"])
        assert problems == ['gate latency for Service point-service: 9 is not < 1 (query x{s="point-service"})']


class _Prometheus(Handler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        query = parse_qs(urlparse(self.path).query)["query"][0]
        if query == "bad(":
            status, body = 400, {"status": "error", "errorType": "bad_data", "error": "parse error: unclosed left parenthesis"}
        else:
            status, body = 200, {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, "5"]}]}}
        self.reply(status, body)


@pytest.fixture
def prometheus():
    with serving(_Prometheus) as url:
        yield url


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestFetcher:
    def test_query_round_trip(self, prometheus):
        data = url_fetcher(prometheus)("vector(5)", "g")
        assert gates.samples_of(data) == [({}, 5.0)]

    def test_rejected_query_names_gate_and_error(self, prometheus):
        with pytest.raises(BlueGreenError, match="rejected the query of gate g .*unclosed left parenthesis"):
            url_fetcher(prometheus)("bad(", "g")

    def test_unreachable_names_the_url(self):
        url = "http://127.0.0.1:%d" % _closed_port()
        with pytest.raises(BlueGreenError) as err:
            url_fetcher(url, timeout=2)("vector(1)", "error-rate")
        assert "Prometheus at %s is unreachable" % url in err.value.msg
        assert "gate error-rate cannot be evaluated" in err.value.msg

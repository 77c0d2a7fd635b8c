"""Unit tests of the loyalty.platform.prometheus_gates_info module: arguments in, exit_json/fail_json out.

Prometheus is a small HTTP server on 127.0.0.1 answering instant queries from a table.
"""

import json
import socket
from urllib.parse import parse_qs, urlparse

import pytest
from localhttp import Handler, serving

from ansible.module_utils.testing import patch_module_args

from ansible_collections.loyalty.platform.plugins.modules import prometheus_gates_info

ANSWERS = {
    'errors{color="green"}': 0.01,
    'errors{color="blue"}': 0.3,
}


class _Prometheus(Handler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        query = parse_qs(urlparse(self.path).query)["query"][0]
        if query in ANSWERS:
            status, body = 200, {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, str(ANSWERS[query])]}]}}
        else:
            status, body = 400, {"status": "error", "errorType": "bad_data", "error": "unknown query %s" % query}
        self.reply(status, body)


@pytest.fixture(scope="module")
def prometheus():
    with serving(_Prometheus) as url:
        yield url


def run_module(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            prometheus_gates_info.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


GATE = {"name": "error-rate", "query": 'errors{color="{color}"}', "threshold": 0.05}


def test_passing_gates_once(capsys, prometheus):
    code, result = run_module(capsys, prometheus_url=prometheus, gates=[GATE], color="green")
    assert code == 0
    assert result["changed"] is False and result["passed"] is True and result["rounds"] == 1
    assert result["results"][0]["query"] == 'errors{color="green"}' and result["results"][0]["observed"] == [0.01]
    assert result["results"][0]["comparison"] == "<="
    assert result["msg"] == "Every gate passed in each of 1 round(s) over 0s."


def test_a_failing_gate_is_a_result_not_a_failure(capsys, prometheus):
    code, result = run_module(capsys, prometheus_url=prometheus, gates=[GATE], color="blue", duration=5, interval=1)
    assert code == 0
    assert result["passed"] is False and result["rounds"] == 1
    assert result["problems"] == ['gate error-rate: 0.3 is not <= 0.05 (query errors{color="blue"})']


def test_watch_window_runs_every_round(capsys, prometheus):
    code, result = run_module(capsys, prometheus_url=prometheus, gates=[GATE], color="green", duration=2, interval=1)
    assert code == 0 and result["passed"] and result["rounds"] == 3 and result["elapsed"] >= 2


def test_check_mode_evaluates_the_same(capsys, prometheus):
    code, result = run_module(capsys, prometheus_url=prometheus, gates=[GATE], color="blue", _ansible_check_mode=True)
    assert code == 0 and result["passed"] is False and result["changed"] is False


def test_rejected_query_fails_naming_the_gate(capsys, prometheus):
    code, result = run_module(capsys, prometheus_url=prometheus, gates=[dict(GATE, query="nope(")])
    assert code == 1 and result["failed"] and result["passed"] is False
    assert "rejected the query of gate error-rate (nope()" in result["msg"]


def test_unreachable_prometheus_fails(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, result = run_module(capsys, prometheus_url="http://127.0.0.1:%d" % port, gates=[GATE], prometheus_timeout=2)
    assert code == 1 and "is unreachable" in result["msg"]


def test_invalid_interval_fails(capsys, prometheus):
    code, result = run_module(capsys, prometheus_url=prometheus, gates=[GATE], duration=10, interval=0)
    assert code == 1 and "interval must be at least 1 second" in result["msg"]


def test_gate_options_are_checked(capsys, prometheus):
    code, result = run_module(capsys, prometheus_url=prometheus, gates=[dict(GATE, comparison="=<")])
    assert code == 1 and "comparison" in result["msg"]


def test_a_prometheus_must_be_named_once(capsys, prometheus):
    code, result = run_module(capsys, gates=[GATE])
    assert code == 1 and "one of the following is required: prometheus_service, prometheus_url" in result["msg"]
    code, result = run_module(capsys, gates=[GATE], prometheus_url=prometheus,
                              prometheus_service={"namespace": "monitoring", "name": "prometheus-server"})
    assert code == 1 and "mutually exclusive: prometheus_service|prometheus_url" in result["msg"]


def test_the_token_is_sent_and_never_shown(capsys, prometheus):
    code, result = run_module(capsys, prometheus_url=prometheus, gates=[GATE], color="green", prometheus_token="tok-9f3e1c2a7b")
    assert code == 0 and result["passed"] is True
    assert "tok-9f3e1c2a7b" not in json.dumps(result)

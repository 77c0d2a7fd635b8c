"""How the gate modules reach Prometheus: option rules, answers, the URL fetcher's auth and the services proxy path."""

import json
from urllib.parse import parse_qs, urlparse

import pytest
from localhttp import Handler, serving

from ansible_collections.loyalty.platform.plugins.module_utils import prometheus_api
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.kube_api import ApiError

SUCCESS = json.dumps({"status": "success", "data": {"resultType": "scalar", "result": [0, "1"]}})
SERVICE = {"namespace": "monitoring", "name": "prometheus-server", "port": "9090", "scheme": "http"}


def params(**overrides):
    base = dict(gates=[{"name": "g"}], prometheus_service=None, prometheus_url=None, prometheus_timeout=10,
                prometheus_validate_certs=True, prometheus_ca_path=None, prometheus_token=None, prometheus_headers={})
    base.update(overrides)
    return base


class TestOptions:
    def test_gates_need_a_prometheus(self):
        problems = prometheus_api.validate_prometheus(params())
        assert len(problems) == 1 and "neither prometheus_service" in problems[0] and "prometheus_url" in problems[0]

    def test_no_gates_need_none(self):
        assert prometheus_api.validate_prometheus(params(gates=[])) == []

    def test_url_auth_is_refused_with_the_services_proxy(self):
        problems = prometheus_api.validate_prometheus(params(prometheus_service=SERVICE, prometheus_token="t0ken", prometheus_headers={"X": "y"}))
        assert any(p.startswith("prometheus_token applies to prometheus_url only") for p in problems)
        assert any(p.startswith("prometheus_headers applies to prometheus_url only") for p in problems)

    @pytest.mark.parametrize("port", ["0", "70000", " "])
    def test_bad_service_port(self, port):
        problems = prometheus_api.validate_prometheus(params(prometheus_service=dict(SERVICE, port=port)))
        assert problems and "prometheus_service.port" in problems[0]

    def test_bad_timeout(self):
        problems = prometheus_api.validate_prometheus(params(prometheus_url="http://p", prometheus_timeout=0))
        assert "prometheus_timeout must be at least 1 second (got 0)" in problems

    def test_spec_copies_are_independent(self):
        first = prometheus_api.prometheus_spec()
        first["gates"]["options"]["name"]["required"] = False
        assert prometheus_api.prometheus_spec()["gates"]["options"]["name"]["required"] is True


class TestAnswers:
    LOCATION = "Prometheus Service monitoring/prometheus-server:9090 (through the API server's services proxy)"

    def test_success(self):
        assert prometheus_api.interpret(self.LOCATION, "g", "q", 200, SUCCESS.encode()) == {"resultType": "scalar", "result": [0, "1"]}

    def test_prometheus_rejects_the_query(self):
        body = json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error"})
        with pytest.raises(BlueGreenError, match=r"rejected the query of gate g \(q\): parse error; nothing was changed"):
            prometheus_api.interpret(self.LOCATION, "g", "q", 400, body)

    def test_no_endpoints_is_unreachable(self):
        body = json.dumps({"kind": "Status", "status": "Failure", "message": 'no endpoints available for service "prometheus-server"', "code": 503})
        with pytest.raises(BlueGreenError) as err:
            prometheus_api.interpret(self.LOCATION, "error-rate", "q", 503, body)
        assert err.value.msg.startswith(self.LOCATION + " is unreachable (HTTP 503: no endpoints available")
        assert "gate error-rate cannot be evaluated; nothing was changed" in err.value.msg

    def test_missing_service_names_the_status(self):
        body = json.dumps({"kind": "Status", "status": "Failure", "message": 'services "prometheus-server" not found', "code": 404})
        with pytest.raises(BlueGreenError, match='answered HTTP 404 to gate g: services "prometheus-server" not found'):
            prometheus_api.interpret(self.LOCATION, "g", "q", 404, body)

    def test_not_json(self):
        with pytest.raises(BlueGreenError, match="not JSON"):
            prometheus_api.interpret(self.LOCATION, "g", "q", 200, b"<html>")

    def test_error_status_in_a_200(self):
        with pytest.raises(BlueGreenError, match="failed gate g: boom"):
            prometheus_api.interpret(self.LOCATION, "g", "q", 200, json.dumps({"status": "error", "error": "boom"}))


class _FakeProxyApi:
    def __init__(self, answer):
        self.answer = answer
        self.paths = []

    def proxy_get(self, path):
        self.paths.append(path)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class TestServicesProxy:
    def test_path_and_query(self):
        api = _FakeProxyApi((200, SUCCESS))
        data = prometheus_api.service_fetcher(api, SERVICE)('sum(up{job="x"})', "g")
        assert data["resultType"] == "scalar"
        assert api.paths == ["/api/v1/namespaces/monitoring/services/prometheus-server:9090/proxy/api/v1/query?query=sum%28up%7Bjob%3D%22x%22%7D%29"]

    def test_https_scheme_and_named_port(self):
        api = _FakeProxyApi((200, SUCCESS))
        prometheus_api.service_fetcher(api, dict(SERVICE, port="web", scheme="https"))("up", "g")
        assert api.paths[0].startswith("/api/v1/namespaces/monitoring/services/https:prometheus-server:web/proxy/api/v1/query?")

    def test_no_answer(self):
        api = _FakeProxyApi(ApiError("GET /x: no answer: refused"))
        with pytest.raises(BlueGreenError, match=r"is unreachable \(GET /x: no answer: refused\), so gate g cannot be evaluated"):
            prometheus_api.service_fetcher(api, SERVICE)("up", "g")

    def test_make_fetcher_uses_the_factory_with_the_timeout(self):
        seen = []

        def factory(timeout):
            seen.append(timeout)
            return _FakeProxyApi((200, SUCCESS))

        prometheus_api.make_fetcher(params(prometheus_service=SERVICE, prometheus_timeout=4), factory)("up", "g")
        assert seen == [4]


class _AuthPrometheus(Handler):
    seen = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).seen.append((self.headers.get("Authorization"), self.headers.get("X-Scope-OrgID"), parse_qs(urlparse(self.path).query)))
        status, body = (200, SUCCESS) if self.headers.get("Authorization") == "Bearer s3cret" else (401, "unauthorized")
        self.reply(status, body)


@pytest.fixture
def auth_prometheus():
    _AuthPrometheus.seen = []
    with serving(_AuthPrometheus) as url:
        yield url


class TestUrlAuth:
    def test_token_and_headers_are_sent(self, auth_prometheus):
        fetch = prometheus_api.url_fetcher(auth_prometheus, token="s3cret", headers={"X-Scope-OrgID": "loyalty"})
        assert fetch("up", "g")["result"] == [0, "1"]
        assert _AuthPrometheus.seen == [("Bearer s3cret", "loyalty", {"query": ["up"]})]

    def test_refused_auth_fails_naming_the_status(self, auth_prometheus):
        with pytest.raises(BlueGreenError, match="answered HTTP 401 to gate g: unauthorized"):
            prometheus_api.url_fetcher(auth_prometheus)("up", "g")


def test_messages_never_show_url_credentials():
    assert prometheus_api.without_userinfo("https://ops:s3cret@prom.example.com:9443/base") == "https://prom.example.com:9443/base"
    assert prometheus_api.where({"prometheus_url": "http://u:p@127.0.0.1:9/"}) == "Prometheus at http://127.0.0.1:9/"
    assert prometheus_api.without_userinfo("http://127.0.0.1:9090") == "http://127.0.0.1:9090"


def test_certificate_checks_cannot_be_turned_off_for_the_services_proxy():
    problems = prometheus_api.validate_prometheus(params(prometheus_service=SERVICE, prometheus_validate_certs=False))
    assert problems and problems[0].startswith("prometheus_validate_certs applies to prometheus_url only")


class _TlsPrometheus(Handler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.reply(200, SUCCESS)


@pytest.fixture
def tls_prometheus(tmp_path):
    """An https Prometheus whose certificate a private CA signs (made like the sandbox's own PKI)."""
    from kubesandbox import pki  # pylint: disable=import-outside-toplevel

    ca = pki.make_ca(str(tmp_path))
    leaf = pki.make_leaf(str(tmp_path), "prometheus", ca, "prometheus", ip_addresses=["127.0.0.1"])
    with serving(_TlsPrometheus, tls=leaf) as url:
        yield url, str(tmp_path / "ca.crt")


class TestUrlTls:
    def test_the_ca_bundle_verifies_the_certificate(self, tls_prometheus):
        url, ca_path = tls_prometheus
        assert prometheus_api.url_fetcher(url, ca_path=ca_path)("up", "g")["result"] == [0, "1"]

    def test_an_unknown_ca_is_refused_naming_the_gate(self, tls_prometheus):
        url, _ca_path = tls_prometheus
        with pytest.raises(BlueGreenError) as err:
            prometheus_api.url_fetcher(url, timeout=5)("up", "g")
        assert "Prometheus at %s is unreachable" % url in err.value.msg and "CERTIFICATE_VERIFY_FAILED" in err.value.msg.upper()

    def test_certificate_checks_can_be_turned_off_for_a_url(self, tls_prometheus):
        url, _ca_path = tls_prometheus
        assert prometheus_api.url_fetcher(url, validate_certs=False)("up", "g")["resultType"] == "scalar"

"""The Elasticsearch stand-in (sandbox/elasticsearch/server.py) answers as Elasticsearch 8 does for what the collection uses:
auth refusals, stored bodies in their canonical form, data streams created on first write with the template's mappings and
the real dynamic mappings, refused values, searches; and sandbox/ctl.py starts it with the sandbox CA's certificate.

No sandbox needed: each test starts its own stand-in on a free port of 127.0.0.1.
"""

import datetime
import importlib.util
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from kubesandbox import pki

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(REPO_ROOT, "sandbox", "elasticsearch", "server.py")
CTL = os.path.join(REPO_ROOT, "sandbox", "ctl.py")
PASSWORD = "stand-in-pw-1"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(tmp_path, tls=True, api_key=None):
    """Run the stand-in; returns (process, base URL, CA path or None)."""
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    port = free_port()
    cmd = [sys.executable, SERVER, "--port", str(port), "--user", "elastic", "--password-file", str(password_file)]
    ca_path = None
    if tls:
        ca = pki.make_ca(str(tmp_path))
        cert, key = pki.make_leaf(str(tmp_path), "es", ca, "es-standin", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
        cmd += ["--cert", cert, "--key", key]
        ca_path = os.path.join(str(tmp_path), "ca.crt")
    if api_key:
        (tmp_path / "api-key").write_text(api_key, encoding="utf-8")
        cmd += ["--api-key-file", str(tmp_path / "api-key")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # pylint: disable=consider-using-with
    line = proc.stdout.readline()
    assert "listening on" in line and "not Elasticsearch" in line, line + proc.stdout.read()
    return proc, "%s://127.0.0.1:%d" % ("https" if tls else "http", port), ca_path


class Client:
    """requests against one stand-in, as the elastic user unless told otherwise."""

    def __init__(self, url, ca_path):
        self.url, self.verify = url, ca_path or True

    def call(self, method, path, body=None, auth=("elastic", PASSWORD), **kwargs):
        response = requests.request(method, self.url + path, json=body, auth=auth, verify=self.verify, timeout=10, **kwargs)
        return response.status_code, response.json(), response.headers

    def ok(self, method, path, body=None, status=200, **kwargs):
        code, answer, _headers = self.call(method, path, body, **kwargs)
        assert code == status, answer
        return answer


@pytest.fixture
def es(tmp_path):
    proc, url, ca_path = start(tmp_path)
    yield Client(url, ca_path)
    proc.terminate()
    proc.wait(10)


DATA_STREAM_TEMPLATE = {
    "index_patterns": ["logs-app-*"], "data_stream": {}, "priority": 200,
    "template": {"settings": {"index.lifecycle.name": "logs-policy", "number_of_replicas": 0},
                 "mappings": {"properties": {"level": {"type": "keyword"}, "count": {"type": "long"}, "seen": {"type": "date"},
                                             "client_ip": {"type": "ip"}}}},
    "_meta": {"managed_by": "test"},
}


def test_auth_is_required_with_elasticsearchs_error_shape(es):
    code, answer, headers = es.call("GET", "/", auth=None)
    assert code == 401
    assert answer["status"] == 401 and answer["error"]["type"] == "security_exception"
    assert answer["error"]["reason"] == "missing authentication credentials for REST request [/]"
    assert answer["error"]["root_cause"][0]["reason"] == answer["error"]["reason"]
    assert headers["WWW-Authenticate"].startswith('Basic realm="security"')
    code, answer, _headers = es.call("GET", "/_ilm/policy/x", auth=("elastic", "wrong"))
    assert code == 401 and answer["error"]["reason"] == "unable to authenticate user [elastic] for REST request [/_ilm/policy/x]"
    info = es.ok("GET", "/")
    assert info["version"]["number"].startswith("8.") and info["tagline"] == "You Know, for Search"
    assert info["version"]["build_hash"] == "not-elasticsearch"


def test_plain_http_and_an_api_key(tmp_path):
    proc, url, _ca = start(tmp_path, tls=False, api_key="aWQ6c2VjcmV0")
    try:
        assert requests.get(url + "/", headers={"Authorization": "ApiKey aWQ6c2VjcmV0"}, timeout=10).status_code == 200
        refused = requests.get(url + "/", headers={"Authorization": "ApiKey bm9wZQ=="}, timeout=10)
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "security_exception"
    finally:
        proc.terminate()
        proc.wait(10)


def test_ilm_policies_are_stored_in_canonical_form_with_version_and_date(es):
    policy = {"phases": {"hot": {"actions": {"rollover": {"max_age": "1d"}}}, "delete": {"min_age": "30d", "actions": {"delete": {}}}}}
    assert es.ok("PUT", "/_ilm/policy/p", {"policy": policy}) == {"acknowledged": True}
    entry = es.ok("GET", "/_ilm/policy/p")["p"]
    assert entry["policy"] == {"phases": {"hot": {"min_age": "0ms", "actions": {"rollover": {"max_age": "1d"}}},
                                          "delete": {"min_age": "30d", "actions": {"delete": {"delete_searchable_snapshot": True}}}}}
    assert entry["version"] == 1 and entry["in_use_by"] == {"indices": [], "data_streams": [], "composable_templates": []}
    assert datetime.datetime.strptime(entry["modified_date"], "%Y-%m-%dT%H:%M:%S.%fZ")
    # The same policy again leaves it as it is; a changed one is a new version.
    es.ok("PUT", "/_ilm/policy/p", {"policy": entry["policy"]})
    assert es.ok("GET", "/_ilm/policy/p")["p"]["version"] == 1
    es.ok("PUT", "/_ilm/policy/p", {"policy": {"phases": {"delete": {"min_age": "7d", "actions": {"delete": {}}}}}})
    assert es.ok("GET", "/_ilm/policy/p")["p"]["version"] == 2
    assert es.ok("DELETE", "/_ilm/policy/p") == {"acknowledged": True}
    code, answer, _headers = es.call("GET", "/_ilm/policy/p")
    assert code == 404 and answer["error"] == {"root_cause": [{"type": "resource_not_found_exception", "reason": "Lifecycle policy not found: p"}],
                                               "type": "resource_not_found_exception", "reason": "Lifecycle policy not found: p"}


@pytest.mark.parametrize("phases, reason", [
    ({"lukewarm": {"actions": {}}}, "Timeseries lifecycle does not support phase [lukewarm]"),
    ({"delete": {"actions": {"rollover": {"max_age": "1d"}}}}, "invalid action [rollover] defined in phase [delete]"),
    ({"delete": {"min_age": "30", "actions": {}}}, "failed to parse setting [min_age] with value [30] as a time value: unit is missing or unrecognized"),
])
def test_ilm_refusals(es, phases, reason):
    code, answer, _headers = es.call("PUT", "/_ilm/policy/bad", {"policy": {"phases": phases}})
    assert code == 400 and answer["error"]["reason"] == reason and answer["error"]["type"] == "illegal_argument_exception"


def test_index_templates_are_stored_in_canonical_form(es):
    es.ok("PUT", "/_index_template/t", {"index_patterns": "logs-app-*", "data_stream": {},
                                        "template": {"settings": {"number_of_shards": 1, "index.lifecycle.name": "p", "index": {"hidden": False}}}})
    answer = es.ok("GET", "/_index_template/t")
    assert answer == {"index_templates": [{"name": "t", "index_template": {
        "index_patterns": ["logs-app-*"], "composed_of": [], "data_stream": {"hidden": False, "allow_custom_routing": False},
        "template": {"settings": {"index": {"hidden": "false", "lifecycle": {"name": "p"}, "number_of_shards": "1"}}}}}]}
    flat = es.ok("GET", "/_index_template/t", params={"flat_settings": "true"})
    assert flat["index_templates"][0]["index_template"]["template"]["settings"] == {
        "index.hidden": "false", "index.lifecycle.name": "p", "index.number_of_shards": "1"}
    code, missing, _headers = es.call("GET", "/_index_template/none")
    assert code == 404 and missing["error"]["reason"] == "index template matching [none] not found"
    assert [entry["name"] for entry in es.ok("GET", "/_index_template/*")["index_templates"]] == ["t"]
    assert es.ok("GET", "/_index_template/nothing-*") == {"index_templates": []}


def test_index_template_refusals(es):
    es.ok("PUT", "/_index_template/first", {"index_patterns": ["logs-*"], "priority": 10})
    refusals = [
        ({"priority": 1}, "x_content_parse_exception", "Required [index_patterns]"),
        ({"index_patterns": ["a-*"], "priority": -1}, "action_request_validation_exception", "index template priority must be >= 0"),
        ({"index_patterns": ["a-*"], "composed_of": ["base"]}, "invalid_index_template_exception", "specifies component templates [base] that do not exist"),
        ({"index_patterns": ["logs-app-*"], "priority": 10}, "illegal_argument_exception", "matching patterns from existing templates [first]"),
    ]
    for body, error_type, reason in refusals:
        code, answer, _headers = es.call("PUT", "/_index_template/second", body)
        assert code == 400 and answer["error"]["type"] == error_type and reason in answer["error"]["reason"], answer
    # Another priority, no overlap.
    es.ok("PUT", "/_index_template/second", {"index_patterns": ["logs-app-*"], "priority": 11})


def test_a_data_stream_is_made_on_first_write_with_the_templates_mappings_and_policy(es):
    es.ok("PUT", "/_ilm/policy/logs-policy", {"policy": {"phases": {"hot": {"actions": {}}}}})
    es.ok("PUT", "/_index_template/logs-app", DATA_STREAM_TEMPLATE)
    doc = {"@timestamp": "2026-03-01T10:00:00.123Z", "level": "INFO", "message": "Points credited", "count": 3, "latency": 0.25,
           "user": {"id": 42, "tier": "gold"}, "started": "2026-03-01", "code": "42", "client_ip": "10.0.0.1"}
    written = es.ok("POST", "/logs-app-default/_doc", doc, status=201)
    backing = ".ds-logs-app-default-%s-000001" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y.%m.%d")
    assert written["_index"] == backing and written["result"] == "created" and len(written["_id"]) == 20

    stream = es.ok("GET", "/_data_stream/logs-app-default")["data_streams"][0]
    assert stream["indices"][0]["index_name"] == backing and stream["template"] == "logs-app" and stream["ilm_policy"] == "logs-policy"
    assert stream["timestamp_field"] == {"name": "@timestamp"} and stream["generation"] == 1 and stream["_meta"] == {"managed_by": "test"}

    mappings = es.ok("GET", "/logs-app-default/_mapping")[backing]["mappings"]
    assert mappings["_data_stream_timestamp"] == {"enabled": True}
    properties = mappings["properties"]
    assert list(properties) == sorted(properties)
    assert properties["@timestamp"] == {"type": "date"} and properties["level"] == {"type": "keyword"} and properties["count"] == {"type": "long"}
    # Fields the mapping does not list: Elasticsearch's dynamic mapping.
    assert properties["message"] == {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert properties["code"]["type"] == "text", "numeric detection is off: a numeric string stays a string"
    assert properties["latency"] == {"type": "float"} and properties["started"] == {"type": "date"}
    assert properties["user"] == {"properties": {"id": {"type": "long"}, "tier": {"type": "text", "fields": {
        "keyword": {"type": "keyword", "ignore_above": 256}}}}}

    settings = es.ok("GET", "/%s/_settings" % backing)[backing]["settings"]["index"]
    assert settings["lifecycle"] == {"name": "logs-policy"} and settings["number_of_replicas"] == "0" and settings["hidden"] == "true"
    assert es.ok("GET", "/_ilm/policy/logs-policy")["logs-policy"]["in_use_by"]["data_streams"] == ["logs-app-default"]
    # The template and the policy are in use: Elasticsearch refuses to delete them.
    code, answer, _headers = es.call("DELETE", "/_index_template/logs-app")
    assert code == 400 and "in use by a data streams [logs-app-default]" in answer["error"]["reason"]
    code, answer, _headers = es.call("DELETE", "/_ilm/policy/logs-policy")
    assert code == 400 and answer["error"]["reason"].startswith("Cannot delete policy [logs-policy]. It is in use by one or more indices")


@pytest.mark.parametrize("field, value, caused_by", [
    ("count", "abc", 'For input string: "abc"'),
    ("seen", "yesterday", "failed to parse date field [yesterday] with format [strict_date_optional_time||epoch_millis]"),
    ("client_ip", "not-an-ip", "'not-an-ip' is not an IP string literal."),
])
def test_a_value_the_mapped_type_cannot_take_is_refused(es, field, value, caused_by):
    es.ok("PUT", "/_index_template/logs-app", DATA_STREAM_TEMPLATE)
    code, answer, _headers = es.call("POST", "/logs-app-default/_doc", {"@timestamp": "2026-03-01T10:00:00Z", field: value})
    assert code == 400
    error = answer["error"]
    assert error["type"] == "document_parsing_exception" and error["root_cause"][0]["type"] == "document_parsing_exception"
    assert "failed to parse field [%s] of type [%s] in document with id" % (field, DATA_STREAM_TEMPLATE["template"]["mappings"]["properties"][field]["type"]) \
        in error["reason"]
    assert error["reason"].endswith("Preview of field's value: '%s'" % value)
    assert error["caused_by"] == {"type": "illegal_argument_exception", "reason": caused_by}


def test_a_data_stream_document_needs_a_timestamp_and_numbers_and_dates_coerce(es):
    es.ok("PUT", "/_index_template/logs-app", DATA_STREAM_TEMPLATE)
    code, answer, _headers = es.call("POST", "/logs-app-default/_doc", {"level": "INFO"})
    assert code == 400 and "data stream timestamp field [@timestamp] is missing" in answer["error"]["reason"]
    # A numeric string into a long, epoch milliseconds into a date: both indexed, as Elasticsearch coerces them.
    es.ok("POST", "/logs-app-default/_doc", {"@timestamp": 1767225600000, "count": "12", "seen": "2026-03-01T10:00:00+02:00"}, status=201)


def test_dynamic_templates_come_before_the_default_dynamic_mapping(es):
    template = {"index_patterns": ["events-*"], "template": {"mappings": {"dynamic_templates": [
        {"strings_as_keyword": {"match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}}]}}}
    es.ok("PUT", "/_index_template/events", template)
    written = es.ok("POST", "/events-1/_doc", {"service": "user-service", "when": "2026-03-01T10:00:00Z", "n": 1}, status=201)
    assert written["_index"] == "events-1", "without data_stream the template makes a plain index"
    properties = es.ok("GET", "/events-1/_mapping")["events-1"]["mappings"]["properties"]
    assert properties == {"n": {"type": "long"}, "service": {"type": "keyword", "ignore_above": 1024}, "when": {"type": "date"}}


def test_search_match_all_and_term(es):
    es.ok("PUT", "/_index_template/logs-app", DATA_STREAM_TEMPLATE)
    began = time.monotonic()
    es.ok("POST", "/logs-app-default/_doc", {"@timestamp": "2026-03-01T10:00:00Z", "level": "ERROR", "message": "Redemption FAILED for order"},
          status=201)
    hidden = es.ok("POST", "/logs-app-default/_search", {"query": {"match_all": {}}})
    if time.monotonic() - began < 0.8:
        assert hidden["hits"]["total"]["value"] == 0, "a document is searchable only after the next refresh"
    es.ok("POST", "/logs-app-default/_doc?refresh=true", {"@timestamp": "2026-03-01T10:00:01Z", "level": "INFO", "message": "Points credited"},
          status=201)
    es.ok("POST", "/logs-app-default/_refresh")
    every = es.ok("GET", "/logs-app-default/_search")
    assert every["hits"]["total"] == {"value": 2, "relation": "eq"}
    assert {hit["_source"]["level"] for hit in every["hits"]["hits"]} == {"ERROR", "INFO"}

    def sources(term):
        return [hit["_source"]["message"] for hit in es.ok("POST", "/logs-app-*/_search", {"query": {"term": term}})["hits"]["hits"]]

    assert sources({"level": "ERROR"}) == ["Redemption FAILED for order"]
    assert sources({"level": "error"}) == [], "a keyword matches exactly"
    assert sources({"message": {"value": "failed"}}) == ["Redemption FAILED for order"], "text is indexed lower-cased, word by word"
    assert sources({"message": "FAILED"}) == [], "a term is not analysed"
    assert sources({"message.keyword": "Points credited"}) == ["Points credited"]
    code, answer, _headers = es.call("POST", "/nothing-here/_search", {})
    assert code == 404 and answer["error"]["type"] == "index_not_found_exception" and answer["error"]["reason"] == "no such index [nothing-here]"


def test_requests_are_counted_for_tests(es):
    before = es.ok("GET", "/_sandbox/requests", auth=None)["count"]
    es.call("GET", "/_ilm/policy/x", auth=None)
    es.call("PUT", "/_index_template/y", {"index_patterns": ["y-*"]})
    counted = es.ok("GET", "/_sandbox/requests", auth=None, params={"since": before})
    assert counted["count"] == before + 2, "refused requests count too"
    assert counted["requests"] == [{"n": before + 1, "method": "GET", "path": "/_ilm/policy/x"},
                                   {"n": before + 2, "method": "PUT", "path": "/_index_template/y"}]


# ---- sandbox/ctl.py ------------------------------------------------------------------------------------------------


@pytest.fixture
def ctl(tmp_path, monkeypatch):
    """sandbox/ctl.py loaded with a state folder and ports of its own (every port moved to a free one)."""
    monkeypatch.setenv("SANDBOX_DIR", str(tmp_path / "sandbox"))
    monkeypatch.setenv("SANDBOX_POD_CIDR", "10.245.0.0/16")
    spec = importlib.util.spec_from_file_location("sandbox_ctl_es", CTL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for variable, _default in module.PORTS.values():
        monkeypatch.setenv(variable, str(free_port()))
    # The built binaries' folders are not needed to start or describe the stand-in.
    monkeypatch.setattr(module, "prometheus_bin", lambda: str(tmp_path / "no-prometheus"))
    monkeypatch.setattr(module, "k8s_bin", lambda: str(tmp_path / "no-k8s"))
    os.makedirs(module.LOG_DIR)
    os.makedirs(module.RUN_DIR)
    return module


def test_ctl_starts_the_stand_in_with_tls_from_the_sandbox_ca_and_exports_it(ctl, capsys):
    assert ctl.PORTS["elasticsearch"] == ("SANDBOX_ELASTICSEARCH_PORT", 29200)
    creds = ctl.load_secrets()
    service = ctl.Elasticsearch(creds)
    assert service.port == int(os.environ["SANDBOX_ELASTICSEARCH_PORT"])
    service.start()
    try:
        env = ctl.env_values(creds)
        assert env["ELASTICSEARCH_URL"] == "https://127.0.0.1:%d" % service.port
        assert env["ELASTICSEARCH_USERNAME"] == "elastic" and env["ELASTICSEARCH_PASSWORD"] == creds["elasticsearch_password"]
        assert env["ELASTICSEARCH_CA"] == os.path.join(ctl.PKI_DIR, "ca.crt")
        info = requests.get(env["ELASTICSEARCH_URL"] + "/", auth=(env["ELASTICSEARCH_USERNAME"], env["ELASTICSEARCH_PASSWORD"]),
                            verify=env["ELASTICSEARCH_CA"], timeout=10)
        assert info.status_code == 200 and info.json()["version"]["number"].startswith("8.")
        # The certificate names localhost too.
        assert requests.get("https://localhost:%d/" % service.port, verify=env["ELASTICSEARCH_CA"], timeout=10).status_code == 401
        assert oct(os.stat(service.password_file).st_mode & 0o777) == "0o600"
        assert ctl.status() == 3  # most of the sandbox is not running; the stand-in is
        assert "elasticsearch            running  127.0.0.1:%d (SANDBOX_ELASTICSEARCH_PORT)" % service.port in capsys.readouterr().out
    finally:
        assert service.stop() is True
    assert not service.running()


def test_ctl_up_names_a_taken_elasticsearch_port_and_starts_nothing(ctl):
    port = int(os.environ["SANDBOX_ELASTICSEARCH_PORT"])
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with pytest.raises(ctl.SandboxError) as caught:
            ctl.up()
    assert "port %d on 127.0.0.1, needed by elasticsearch, is already in use" % port in str(caught.value)
    assert "SANDBOX_ELASTICSEARCH_PORT=<port>" in str(caught.value)
    assert not [name for name in os.listdir(ctl.RUN_DIR) if name.endswith(".pid")]

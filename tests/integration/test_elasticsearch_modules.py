"""elasticsearch_ilm_policy and elasticsearch_index_template through ansible-playbook, against the Elasticsearch stand-in.

With ELASTICSEARCH_URL, ELASTICSEARCH_USERNAME, ELASTICSEARCH_PASSWORD and ELASTICSEARCH_CA set (`.sandbox/env`, which
`make integration` loads), the tests use the sandbox's stand-in; otherwise they start one of their own on a free port of
127.0.0.1, with TLS from a CA made for the test. Every object a test makes has a name of its own and is removed afterwards.
What was read back is read back through the REST API, and the stand-in's request log (GET /_sandbox/requests, sandbox-only)
shows which requests a run made.
"""

import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
import requests

from conftest import REPO_ROOT, VENV_BIN, PlaybookResult
from kubesandbox import pki

SERVER = os.path.join(REPO_ROOT, "sandbox", "elasticsearch", "server.py")
ENV_NAMES = ("ELASTICSEARCH_URL", "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_PASSWORD", "ELASTICSEARCH_CA")
OWN_API_KEY = "c2FuZGJveC1rZXk6c3RhbmQtaW4tb25seQ=="


class Stand:
    """Where the stand-in is and how to reach it through the REST API."""

    def __init__(self, url, username, password, ca, api_key=None):
        self.url, self.username, self.password, self.ca, self.api_key = url, username, password, ca, api_key

    def call(self, method, path, body=None):
        response = requests.request(method, self.url + path, json=body, auth=(self.username, self.password), verify=self.ca or True, timeout=10)
        return response.status_code, response.json()

    def _requests(self, since=0):
        return requests.get(self.url + "/_sandbox/requests", params={"since": since}, verify=self.ca or True, timeout=10).json()

    def count(self):
        """How many requests the stand-in has received so far."""
        return self._requests(since=2 ** 62)["count"]

    def since(self, count):
        """The requests (method and path) received after the first ``count``."""
        return self._requests(since=count)["requests"]


@pytest.fixture(scope="module")
def stand(tmp_path_factory):
    if all(os.environ.get(name) for name in ENV_NAMES):
        yield Stand(*(os.environ[name] for name in ENV_NAMES), api_key=os.environ.get("ELASTICSEARCH_API_KEY"))
        return
    base = tmp_path_factory.mktemp("elasticsearch")
    ca = pki.make_ca(str(base))
    cert, key = pki.make_leaf(str(base), "es", ca, "es-standin", ip_addresses=["127.0.0.1"])
    password = uuid.uuid4().hex
    (base / "password").write_text(password, encoding="utf-8")
    (base / "api-key").write_text(OWN_API_KEY, encoding="utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, SERVER, "--port", str(port), "--cert", cert, "--key", key, "--user", "elastic",
           "--password-file", str(base / "password"), "--api-key-file", str(base / "api-key")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # pylint: disable=consider-using-with
    assert "listening on" in proc.stdout.readline()
    yield Stand("https://127.0.0.1:%d" % port, "elastic", password, os.path.join(str(base), "ca.crt"), api_key=OWN_API_KEY)
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def play(stand, tmp_path):
    """play(tasks, check=False, diff=False, password=None): run the tasks (YAML text) on localhost with the connection options
    of the stand-in set by module_defaults; returns conftest's PlaybookResult."""

    def run(tasks, check=False, diff=False, password=None, auth="password"):
        connection = {"url": "{{ lookup('ansible.builtin.env', 'TEST_ES_URL') }}",
                      "ca_path": "{{ lookup('ansible.builtin.env', 'TEST_ES_CA') }}"}
        if auth == "password":
            connection.update(username="{{ lookup('ansible.builtin.env', 'TEST_ES_USERNAME') }}",
                              password="{{ lookup('ansible.builtin.env', 'TEST_ES_PASSWORD') }}")
        else:
            connection["api_key"] = "{{ lookup('ansible.builtin.env', 'TEST_ES_API_KEY') }}"
        playbook = tmp_path / ("play-%s.yml" % uuid.uuid4().hex[:8])
        playbook.write_text("- hosts: localhost\n  gather_facts: false\n  module_defaults:\n"
                            "    loyalty.platform.elasticsearch_ilm_policy: %s\n    loyalty.platform.elasticsearch_index_template: %s\n"
                            "  tasks:\n%s" % (json.dumps(connection), json.dumps(connection), tasks), encoding="utf-8")
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
                   TEST_ES_URL=stand.url, TEST_ES_CA=stand.ca or "", TEST_ES_USERNAME=stand.username,
                   TEST_ES_PASSWORD=stand.password if password is None else password, TEST_ES_API_KEY=stand.api_key or "")
        cmd = [os.path.join(VENV_BIN, "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + os.path.join(VENV_BIN, "python")]
        cmd += ["--check"] if check else []
        cmd += ["--diff"] if diff else []
        return PlaybookResult(subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=300))

    return run


def task(module, **args):
    """One task, named 'it', as the YAML text of a tasks list entry."""
    return "    - name: it\n      loyalty.platform.%s: %s\n" % (module, json.dumps(args))


def methods(entries, path):
    return [entry["method"] for entry in entries if entry["path"] == path]


@pytest.fixture
def name(stand):
    """A name of this test's own; the policy, template and data stream of that name are removed afterwards."""
    made = "it-%s" % uuid.uuid4().hex[:10]
    yield made
    stand.call("DELETE", "/_data_stream/logs-%s-*" % made)
    stand.call("DELETE", "/_index_template/%s" % made)
    stand.call("DELETE", "/_ilm/policy/%s" % made)


POLICY = {"_meta": {"managed_by": "integration-test"},
          "phases": {"hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"}}},
                     "delete": {"min_age": "30d", "actions": {"delete": {}}}}}


def test_ilm_policy_create_unchanged_check_diff_update_absent(stand, play, name):
    path = "/_ilm/policy/%s" % name
    seen = stand.count()
    created = play(task("elasticsearch_ilm_policy", name=name, policy=POLICY))
    result = created.task_result("it")
    assert created.rc == 0 and result["changed"] is True, created.stdout[-3000:]
    assert methods(stand.since(seen), path) == ["GET", "PUT", "GET"], "read, write, read back"
    status, stored = stand.call("GET", path)
    assert status == 200 and stored[name]["version"] == 1
    assert stored[name]["policy"]["phases"]["hot"]["min_age"] == "0ms"
    assert stored[name]["policy"]["phases"]["delete"]["actions"]["delete"] == {"delete_searchable_snapshot": True}
    assert result["policy"] == stored[name]["policy"]

    seen = stand.count()
    again = play(task("elasticsearch_ilm_policy", name=name, policy=POLICY))
    assert again.rc == 0 and again.task_result("it")["changed"] is False and again.task_result("it")["changes"] == []
    assert methods(stand.since(seen), path) == ["GET"], "a second run only reads"
    assert stand.call("GET", path)[1][name]["version"] == 1

    shorter = json.loads(json.dumps(POLICY))
    shorter["phases"]["delete"]["min_age"] = "14d"
    seen = stand.count()
    preview = play(task("elasticsearch_ilm_policy", name=name, policy=shorter), check=True, diff=True)
    result = preview.task_result("it")
    assert preview.rc == 0 and result["changed"] is True and result["changes"] == ["phases.delete.min_age"]
    assert result["diff"]["before"]["phases"]["delete"]["min_age"] == "30d" and result["diff"]["after"]["phases"]["delete"]["min_age"] == "14d"
    assert methods(stand.since(seen), path) == ["GET"], "check mode only reads"
    assert stand.call("GET", path)[1][name]["policy"]["phases"]["delete"]["min_age"] == "30d"

    updated = play(task("elasticsearch_ilm_policy", name=name, policy=shorter), diff=True)
    result = updated.task_result("it")
    assert updated.rc == 0 and result["changed"] is True and result["diff"]["after"]["phases"]["delete"]["min_age"] == "14d"
    stored = stand.call("GET", path)[1][name]
    assert stored["version"] == 2 and stored["policy"]["phases"]["delete"]["min_age"] == "14d"

    removed = play(task("elasticsearch_ilm_policy", name=name, state="absent"))
    assert removed.rc == 0 and removed.task_result("it")["changed"] is True
    assert stand.call("GET", path)[0] == 404
    seen = stand.count()
    gone = play(task("elasticsearch_ilm_policy", name=name, state="absent"))
    assert gone.rc == 0 and gone.task_result("it")["changed"] is False
    assert methods(stand.since(seen), path) == ["GET"], "nothing to delete: no DELETE"


def test_index_template_settings_forms_are_one_and_its_data_stream_gets_the_policy(stand, play, name):
    path = "/_index_template/%s" % name
    play(task("elasticsearch_ilm_policy", name=name, policy=POLICY))
    dotted = {"index_patterns": "logs-%s-*" % name, "data_stream": {}, "priority": 300, "_meta": {"managed_by": "integration-test"},
              "template": {"settings": {"index.lifecycle.name": name, "number_of_replicas": 0},
                           "mappings": {"properties": {"@timestamp": {"type": "date"}, "level": {"type": "keyword"}}}}}
    created = play(task("elasticsearch_index_template", name=name, template=dotted))
    result = created.task_result("it")
    assert created.rc == 0 and result["changed"] is True, created.stdout[-3000:]
    stored = stand.call("GET", path)[1]["index_templates"][0]["index_template"]
    assert stored["template"]["settings"] == {"index": {"lifecycle": {"name": name}, "number_of_replicas": "0"}}
    assert stored["data_stream"] == {"hidden": False, "allow_custom_routing": False} and stored["composed_of"] == []
    assert result["index_template"] == stored

    nested = json.loads(json.dumps(dotted))
    nested["index_patterns"] = [dotted["index_patterns"]]
    nested["template"]["settings"] = {"index": {"lifecycle": {"name": name}, "number_of_replicas": "0"}}
    nested["data_stream"] = {"hidden": False}
    seen = stand.count()
    again = play(task("elasticsearch_index_template", name=name, template=nested))
    assert again.rc == 0 and again.task_result("it")["changed"] is False, again.task_result("it")
    assert methods(stand.since(seen), path) == ["GET"]

    more = json.loads(json.dumps(nested))
    more["priority"] = 301
    more["template"]["settings"]["index"]["number_of_replicas"] = 1
    preview = play(task("elasticsearch_index_template", name=name, template=more), check=True, diff=True)
    result = preview.task_result("it")
    assert result["changed"] is True and result["changes"] == ["priority", "template.settings.index.number_of_replicas"]
    assert result["diff"]["before"]["priority"] == 300 and result["diff"]["after"]["priority"] == 301
    assert stand.call("GET", path)[1]["index_templates"][0]["index_template"]["priority"] == 300
    updated = play(task("elasticsearch_index_template", name=name, template=more))
    assert updated.task_result("it")["changed"] is True
    assert stand.call("GET", path)[1]["index_templates"][0]["index_template"]["template"]["settings"]["index"]["number_of_replicas"] == "1"

    # The first write to a matching name makes the data stream, its backing index managed by the policy.
    stream = "logs-%s-default" % name
    status, written = stand.call("POST", "/%s/_doc" % stream, {"@timestamp": "2026-03-01T10:00:00Z", "level": "INFO", "message": "hello"})
    assert status == 201 and written["_index"].startswith(".ds-%s-" % stream)
    assert stand.call("GET", "/_data_stream/%s" % stream)[1]["data_streams"][0]["ilm_policy"] == name
    assert stand.call("GET", "/%s/_settings" % written["_index"])[1][written["_index"]]["settings"]["index"]["lifecycle"] == {"name": name}

    # A template in use cannot go; the task fails with Elasticsearch's reason and the status.
    refused = play(task("elasticsearch_index_template", name=name, state="absent"))
    result = refused.task_result("it")
    assert refused.rc != 0 and result["status"] == 400
    assert "unable to remove composable templates [%s] as they are in use by a data streams [%s]" % (name, stream) in result["msg"]
    assert stand.call("DELETE", "/_data_stream/%s" % stream)[0] == 200
    removed = play(task("elasticsearch_index_template", name=name, state="absent"))
    assert removed.rc == 0 and removed.task_result("it")["changed"] is True and stand.call("GET", path)[0] == 404


@pytest.mark.parametrize("module, args, field", [
    ("elasticsearch_ilm_policy", {"policy": {"phases": {"hotter": {"actions": {}}}}}, "policy.phases.hotter: 'hotter' is not an ILM phase"),
    ("elasticsearch_ilm_policy", {"policy": {"phases": {"delete": {"min_age": "30", "actions": {"delete": {}}}}}}, "policy.phases.delete.min_age"),
    ("elasticsearch_index_template", {"template": {"data_stream": {}}}, "template.index_patterns is required"),
    ("elasticsearch_index_template", {"template": {"index_patterns": ["a-*"], "priority": -1}}, "template.priority must be a whole number of 0 or more"),
])
def test_bad_input_fails_naming_the_field_before_any_request(stand, play, name, module, args, field):
    seen = stand.count()
    failed = play(task(module, name=name, **args))
    result = failed.task_result("it")
    assert failed.rc != 0 and result.get("failed") is True
    assert field in result["msg"] and "nothing was sent to Elasticsearch" in result["msg"]
    assert stand.since(seen) == [], "no request may be made for bad input"


def test_a_wrong_password_fails_with_elasticsearchs_401_reason_and_no_secret(stand, play, name):
    wrong = "wrong-%s" % uuid.uuid4().hex
    failed = play(task("elasticsearch_ilm_policy", name=name, policy=POLICY), password=wrong)
    result = failed.task_result("it")
    assert failed.rc != 0 and result["status"] == 401
    assert "answered HTTP 401 to GET /_ilm/policy/%s: security_exception: unable to authenticate user [%s]" % (name, stand.username) in result["msg"]
    output = failed.stdout + failed.stderr
    assert wrong not in output and stand.password not in output
    assert stand.call("GET", "/_ilm/policy/%s" % name)[0] == 404


def test_an_api_key_authenticates(stand, play, name):
    assert stand.api_key, "the stand-in has no API key: .sandbox/env lacks ELASTICSEARCH_API_KEY (restart the sandbox)"
    created = play(task("elasticsearch_ilm_policy", name=name, policy=POLICY), auth="api_key")
    assert created.rc == 0 and created.task_result("it")["changed"] is True, created.stdout[-3000:]
    assert stand.api_key not in created.stdout + created.stderr
    assert stand.call("GET", "/_ilm/policy/%s" % name)[0] == 200

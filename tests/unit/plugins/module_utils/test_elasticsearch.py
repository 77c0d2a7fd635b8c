"""The Elasticsearch modules' pure logic: the stored form of a wanted body, the comparison, the checks before any request,
and the client's requests and errors (against a throwaway HTTP server on 127.0.0.1)."""

import base64
import json

import pytest
from localhttp import Handler, serving

from ansible_collections.loyalty.platform.plugins.module_utils import elasticsearch as es


class TestSettings:
    def test_dotted_and_nested_keys_are_the_same_setting(self):
        dotted = es.normalize_settings({"index.lifecycle.name": "x"})
        nested = es.normalize_settings({"index": {"lifecycle": {"name": "x"}}})
        assert dotted == nested == {"index": {"lifecycle": {"name": "x"}}}

    def test_the_index_prefix_is_added_and_every_leaf_is_a_string(self):
        assert es.normalize_settings({"number_of_shards": 1, "refresh_interval": "5s", "hidden": True, "mapping": {"total_fields": {"limit": 2000}}}) == {
            "index": {"number_of_shards": "1", "refresh_interval": "5s", "hidden": "true", "mapping": {"total_fields": {"limit": "2000"}}}}

    def test_lists_keep_their_order_as_strings_and_nulls_are_dropped(self):
        assert es.normalize_settings({"index.query.default_field": ["message", 3], "index.codec": None}) == {
            "index": {"query": {"default_field": ["message", "3"]}}}

    @pytest.mark.parametrize("settings", [
        {"index.number_of_shards": 1, "index": {"number_of_shards": 2}},
        {"number_of_shards": 1, "index.number_of_shards": 1},
    ])
    def test_a_setting_given_twice_is_refused(self, settings):
        with pytest.raises(ValueError, match=r"index\.number_of_shards is given twice"):
            es.normalize_settings(settings)

    def test_a_value_and_an_object_at_the_same_key_are_refused(self):
        with pytest.raises(ValueError, match="both a value and an object"):
            es.normalize_settings({"index.lifecycle": "x", "index.lifecycle.name": "y"})


class TestIlmPolicy:
    def test_a_phase_without_min_age_gets_0ms_and_actions_their_defaults(self):
        wanted = {"phases": {"hot": {"actions": {"rollover": {"max_age": "1d"}}},
                             "warm": {"min_age": "7d", "actions": {"allocate": {"number_of_replicas": 0}, "migrate": {}}},
                             "delete": {"min_age": "30d", "actions": {"delete": {}}}},
                  "_meta": {"managed_by": "test"}}
        assert es.normalize_ilm_policy(wanted) == {
            "phases": {"hot": {"min_age": "0ms", "actions": {"rollover": {"max_age": "1d"}}},
                       "warm": {"min_age": "7d", "actions": {"allocate": {"number_of_replicas": 0, "include": {}, "exclude": {}, "require": {}},
                                                             "migrate": {"enabled": True}}},
                       "delete": {"min_age": "30d", "actions": {"delete": {"delete_searchable_snapshot": True}}}},
            "_meta": {"managed_by": "test"}}
        assert wanted["phases"]["hot"] == {"actions": {"rollover": {"max_age": "1d"}}}, "the caller's body must not change"

    def test_an_explicit_option_wins_over_the_default(self):
        policy = es.normalize_ilm_policy({"phases": {"delete": {"min_age": "1d", "actions": {"delete": {"delete_searchable_snapshot": False}}}}})
        assert policy["phases"]["delete"]["actions"]["delete"] == {"delete_searchable_snapshot": False}

    def test_an_empty_meta_is_no_meta(self):
        assert es.normalize_ilm_policy({"_meta": None, "phases": {"hot": {"actions": {}}}}) == {"phases": {"hot": {"min_age": "0ms", "actions": {}}}}

    def test_a_get_answer_compares_equal_to_the_wanted_body(self):
        in_use_by = {"indices": ["i"], "data_streams": [], "composable_templates": []}
        answer = {"p": {"version": 3, "modified_date": "2026-01-01T00:00:00.000Z", "in_use_by": in_use_by,
                        "policy": {"phases": {"hot": {"min_age": "0ms", "actions": {"rollover": {"max_age": "1d"}}}}}}}
        stored = es.stored_ilm_policy(answer, "p")
        assert stored == {"phases": {"hot": {"min_age": "0ms", "actions": {"rollover": {"max_age": "1d"}}}}}
        assert es.differences(stored, es.normalize_ilm_policy({"phases": {"hot": {"actions": {"rollover": {"max_age": "1d"}}}}})) == []
        assert es.stored_ilm_policy(answer, "other") is None

    def test_a_changed_retention_is_named(self):
        before = es.normalize_ilm_policy({"phases": {"delete": {"min_age": "30d", "actions": {"delete": {}}}}})
        after = es.normalize_ilm_policy({"phases": {"delete": {"min_age": "14d", "actions": {"delete": {}}}}, "_meta": {"a": 1}})
        assert es.differences(before, after) == ["_meta", "phases.delete.min_age"]


class TestIndexTemplate:
    def test_the_stored_form(self):
        wanted = {"index_patterns": "logs-x-*", "data_stream": {}, "priority": "500",
                  "template": {"settings": {"index.lifecycle.name": "p", "number_of_replicas": 0},
                               "mappings": {"properties": {"level": {"type": "keyword"}}}}}
        assert es.normalize_index_template(wanted) == {
            "index_patterns": ["logs-x-*"], "composed_of": [], "priority": 500,
            "data_stream": {"hidden": False, "allow_custom_routing": False},
            "template": {"settings": {"index": {"lifecycle": {"name": "p"}, "number_of_replicas": "0"}},
                         "mappings": {"properties": {"level": {"type": "keyword"}}}}}

    def test_data_stream_options_given_keep_their_value(self):
        assert es.normalize_index_template({"index_patterns": ["a"], "data_stream": {"hidden": True}})["data_stream"] == {
            "hidden": True, "allow_custom_routing": False}

    def test_no_data_stream_stays_none(self):
        assert "data_stream" not in es.normalize_index_template({"index_patterns": ["a"], "data_stream": None})

    def test_a_get_answer_compares_equal_to_the_wanted_body(self):
        answer = {"index_templates": [{"name": "t", "index_template": {
            "index_patterns": ["logs-x-*"], "composed_of": [], "priority": 500, "data_stream": {"hidden": False, "allow_custom_routing": False},
            "template": {"settings": {"index": {"lifecycle": {"name": "p"}}}}}}]}
        wanted = {"index_patterns": ["logs-x-*"], "priority": 500, "data_stream": {}, "template": {"settings": {"index": {"lifecycle": {"name": "p"}}}}}
        assert es.differences(es.stored_index_template(answer, "t"), es.normalize_index_template(wanted)) == []
        assert es.stored_index_template(answer, "u") is None

    def test_differences_name_the_changed_leaves(self):
        before = es.normalize_index_template({"index_patterns": ["a"], "priority": 1, "template": {"settings": {"number_of_replicas": 1}}})
        after = es.normalize_index_template({"index_patterns": ["a"], "priority": 2, "template": {"settings": {"number_of_replicas": 0}}})
        assert es.differences(before, after) == ["priority", "template.settings.index.number_of_replicas"]
        assert es.differences({}, after) == sorted(after)


class TestChecks:
    def test_a_good_policy_passes(self):
        assert es.ilm_policy_problems({"phases": {"hot": {"actions": {"rollover": {"max_age": "1d"}}},
                                                  "delete": {"min_age": "30d", "actions": {"delete": {}}}}}) == []

    def test_an_unknown_phase_is_named_with_the_fix(self):
        problems = es.ilm_policy_problems({"phases": {"hotter": {"actions": {}}}})
        assert problems == ["policy.phases.hotter: 'hotter' is not an ILM phase; the phases are hot, warm, cold, frozen, delete"]

    def test_an_action_its_phase_does_not_take(self):
        problems = es.ilm_policy_problems({"phases": {"warm": {"actions": {"rollover": {"max_age": "1d"}}}}})
        assert len(problems) == 1 and problems[0].startswith("policy.phases.warm.actions.rollover: the warm phase does not take the rollover action")

    @pytest.mark.parametrize("age", ["30", "1.5d", "thirty days", 30])
    def test_a_min_age_that_is_not_a_time_value(self, age):
        problems = es.ilm_policy_problems({"phases": {"delete": {"min_age": age, "actions": {"delete": {}}}}})
        assert len(problems) == 1 and "policy.phases.delete.min_age" in problems[0] and "such as 30d" in problems[0]

    def test_phases_out_of_order(self):
        problems = es.ilm_policy_problems({"phases": {"warm": {"min_age": "40d", "actions": {}}, "delete": {"min_age": "30d", "actions": {"delete": {}}}}})
        assert problems == ["policy.phases.warm.min_age 40d is later than policy.phases.delete.min_age 30d; phases run in the order hot, warm, "
                            "cold, frozen, delete, so give each a min_age no smaller than the one before"]

    def test_missing_actions_and_phases(self):
        assert es.ilm_policy_problems({"phases": {"hot": {"min_age": "0ms"}}}) == ["policy.phases.hot.actions must be a dictionary of actions ({} for none)"]
        assert es.ilm_policy_problems({}) == ["policy.phases must be a dictionary of at least one phase (hot, warm, cold, frozen, delete)"]
        assert es.ilm_policy_problems({"name": "x", "phases": {"hot": {"actions": {}}}})[0].startswith("policy.name is not a policy field")

    def test_a_template_without_index_patterns(self):
        problems = es.index_template_problems({"template": {"settings": {}}})
        assert problems == ["template.index_patterns is required: list the index or data stream names the template applies to, "
                            "such as ['logs-loyalty-*']"]

    @pytest.mark.parametrize("priority", [-1, 1.5, "high", True])
    def test_a_priority_that_is_not_a_whole_number_of_0_or_more(self, priority):
        assert es.index_template_problems({"index_patterns": ["a-*"], "priority": priority}) == [
            "template.priority must be a whole number of 0 or more (got %r)" % priority]

    def test_unknown_fields_bad_patterns_and_a_doubled_setting(self):
        problems = es.index_template_problems({"index_patterns": ["a b", "_x"], "settings": {}, "data_stream": {"hiden": True},
                                               "template": {"settings": {"index.number_of_shards": 1, "number_of_shards": 2}, "mapping": {}}})
        assert "template.settings is not an index template field; the fields are " + ", ".join(es.INDEX_TEMPLATE_KEYS) in problems
        assert "template.index_patterns: 'a b' must not contain ' '; only '*' is a wildcard" in problems
        assert "template.index_patterns: '_x' must not start with '_'" in problems
        assert "template.data_stream.hiden is not a data stream option; the options are hidden, allow_custom_routing" in problems
        assert "template.template.mapping is not a template field; the fields are settings, mappings, aliases" in problems
        assert any(p.startswith("template.template.settings: the setting index.number_of_shards is given twice") for p in problems)

    def test_names(self):
        assert es.name_problems("name", "loyalty-logs", lowercase=True) == []
        assert es.name_problems("name", "") == ["name must not be empty"]
        assert es.name_problems("name", "Logs", lowercase=True) == [
            "name 'Logs' must be lower case (Elasticsearch refuses upper-case template names); use 'logs'"]
        assert es.name_problems("name", "_a b") == ["name '_a b' must not contain ' '; use letters, digits, '-', '_' and '.'",
                                                    "name '_a b' must not start with '_', '-' or '+'"]

    def test_connection(self):
        good = {"url": "https://127.0.0.1:9200", "timeout": 30}
        assert es.connection_problems(good) == []
        assert es.connection_problems(dict(good, url="127.0.0.1:9200"))[0].startswith("url must be the http or https URL of Elasticsearch")
        assert es.connection_problems(dict(good, url="https://elastic:s3cret@127.0.0.1:9200")) == [
            "url must not carry credentials; give them as username and password, or api_key"]
        assert "s3cret" not in " ".join(es.connection_problems(dict(good, url="ftp://elastic:s3cret@127.0.0.1")))
        assert es.connection_problems(dict(good, timeout=0)) == ["timeout must be at least 1 second (got 0)"]


class FakeElasticsearch(Handler):
    """Records each request; answers from ``answers`` keyed by (method, path)."""

    seen = []
    answers = {}

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.seen.append((self.command, self.path, self.headers.get("Authorization"), body))
        status, answer = self.answers.get((self.command, self.path), (404, {"error": {"type": "resource_not_found_exception", "reason": "gone"},
                                                                            "status": 404}))
        self.reply(status, answer)

    do_GET = do_PUT = do_DELETE = _answer


@pytest.fixture
def fake():
    FakeElasticsearch.seen = []
    FakeElasticsearch.answers = {}
    with serving(FakeElasticsearch) as url:
        yield url, FakeElasticsearch


class TestClient:
    def test_basic_auth_and_json(self, fake):
        url, handler = fake
        handler.answers[("PUT", "/_ilm/policy/p")] = (200, {"acknowledged": True})
        client = es.ElasticsearchClient(url, username="elastic", password="pw")
        assert client.request("PUT", "/_ilm/policy/p", {"policy": {"phases": {}}}) == (200, {"acknowledged": True})
        method, path, auth, body = handler.seen[0]
        assert (method, path, json.loads(body)) == ("PUT", "/_ilm/policy/p", {"policy": {"phases": {}}})
        assert auth == "Basic " + base64.b64encode(b"elastic:pw").decode()

    def test_api_key_header(self, fake):
        url, handler = fake
        handler.answers[("GET", "/")] = (200, {"version": {"number": "8.17.0"}})
        es.ElasticsearchClient(url, api_key="aWQ6a2V5").request("GET", "/")
        assert handler.seen[0][2] == "ApiKey aWQ6a2V5"

    def test_an_error_carries_elasticsearchs_reason_and_the_status(self, fake):
        url, handler = fake
        reason = "unable to authenticate user [elastic] for REST request [/]"
        handler.answers[("GET", "/")] = (401, {"error": {"type": "security_exception", "reason": reason}, "status": 401})
        with pytest.raises(es.ElasticsearchError) as caught:
            es.ElasticsearchClient(url, username="elastic", password="wrong-pw").request("GET", "/")
        assert caught.value.status == 401 and caught.value.error_type == "security_exception"
        assert caught.value.msg == ("Elasticsearch at %s answered HTTP 401 to GET /: security_exception: unable to authenticate user [elastic] "
                                    "for REST request [/]" % url)
        assert "wrong-pw" not in caught.value.msg

    def test_a_404_is_returned_only_when_allowed(self, fake):
        url = fake[0]
        client = es.ElasticsearchClient(url)
        assert client.request("GET", "/_ilm/policy/none", missing_ok=True)[0] == 404
        with pytest.raises(es.ElasticsearchError, match="HTTP 404 to GET /_ilm/policy/none: resource_not_found_exception: gone"):
            client.request("GET", "/_ilm/policy/none")

    def test_an_unreachable_server(self):
        with pytest.raises(es.ElasticsearchError, match="could not be reached for GET /"):
            es.ElasticsearchClient("http://127.0.0.1:9", timeout=2).request("GET", "/")


class TestApplyState:
    POLICY = {"phases": {"delete": {"min_age": "30d", "actions": {"delete": {}}}}}
    STORED = {"p": {"version": 1, "modified_date": "2026-01-01T00:00:00.000Z",
                    "policy": {"phases": {"delete": {"min_age": "30d", "actions": {"delete": {"delete_searchable_snapshot": True}}}}}}}

    def test_an_equal_policy_is_not_written(self, fake):
        url, handler = fake
        handler.answers[("GET", "/_ilm/policy/p")] = (200, self.STORED)
        outcome = es.apply_state(es.ElasticsearchClient(url), es.IlmPolicy("p"), self.POLICY, "present", check_mode=False)
        assert outcome["changed"] is False and outcome["changes"] == []
        assert [seen[0] for seen in handler.seen] == ["GET"]

    def test_check_mode_reads_only(self, fake):
        url, handler = fake
        outcome = es.apply_state(es.ElasticsearchClient(url), es.IlmPolicy("p"), self.POLICY, "present", check_mode=True)
        assert outcome["changed"] is True and outcome["before"] == {} and outcome["after"] == es.normalize_ilm_policy(self.POLICY)
        assert [seen[0] for seen in handler.seen] == ["GET"]

    def test_a_write_is_read_back_and_drift_is_warned(self, fake):
        url, handler = fake
        handler.answers[("PUT", "/_ilm/policy/p")] = (200, {"acknowledged": True})
        drifted = {"p": {"version": 1, "policy": {"phases": {"delete": {"min_age": "30d", "actions": {"delete": {
            "delete_searchable_snapshot": True, "added_by_server": 1}}}}}}}
        handler.answers[("GET", "/_ilm/policy/p")] = (200, drifted)
        outcome = es.apply_state(es.ElasticsearchClient(url), es.IlmPolicy("p"), {"phases": {"delete": {"min_age": "30d", "actions": {
            "delete": {}}}}}, "present", check_mode=False)
        assert [seen[0] for seen in handler.seen] == ["GET", "PUT", "GET"]
        assert outcome["stored"] == drifted["p"]["policy"]
        assert len(outcome["warnings"]) == 1 and "phases.delete.actions.delete.added_by_server" in outcome["warnings"][0]

    def test_absent_deletes_only_what_exists(self, fake):
        url, handler = fake
        client = es.ElasticsearchClient(url)
        assert es.apply_state(client, es.IndexTemplate("t"), None, "absent", check_mode=False)["changed"] is False
        assert [seen[0] for seen in handler.seen] == ["GET"]
        handler.answers[("GET", "/_index_template/t")] = (200, {"index_templates": [{"name": "t", "index_template": {"index_patterns": ["a"]}}]})
        handler.answers[("DELETE", "/_index_template/t")] = (200, {"acknowledged": True})
        outcome = es.apply_state(client, es.IndexTemplate("t"), None, "absent", check_mode=False)
        assert outcome["changed"] is True and outcome["after"] == {} and outcome["before"]["index_patterns"] == ["a"]
        assert [seen[0] for seen in handler.seen] == ["GET", "GET", "DELETE"]

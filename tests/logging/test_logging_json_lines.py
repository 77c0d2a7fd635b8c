"""Spring Boot's ECS JSON lines: parsed as JSON, renamed to the pattern lines' fields, never grokked."""

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.logformat import ECS_RENAMES, pipeline_spec
from log_samples import STACK_TRACE, sample_lines, samples

JSON_SAMPLES = [sample for sample in samples() if sample["kind"] == "json"]
# The fields every parsed line has, whatever its kind.
COMMON_FIELDS = {"timestamp", "@timestamp", "level", "thread", "logger", "log_message"}


@pytest.fixture(name="events")
def fixture_events(harness):
    answer = harness(pipeline_spec(), sample_lines())
    return {sample["name"]: event for sample, event in zip(samples(), answer["events"])}


@pytest.mark.parametrize("sample", JSON_SAMPLES, ids=[sample["name"] for sample in JSON_SAMPLES])
def test_an_ecs_line_is_parsed_as_json_and_renamed(events, sample):
    event = events[sample["name"]]
    assert event["tags"] == sample["tags"]
    assert "_grokparsefailure_springboot" not in event["tags"]
    for field, value in sample["fields"].items():
        assert event[field] == value, field
    # The ECS keys are gone, renamed; the keys the pipeline does not rename stay as they came.
    assert not set(ECS_RENAMES) - {"@timestamp"} & set(event)
    assert event["process.pid"] == 1
    assert event["service.version"] == "1.8.2"


def test_json_and_pattern_lines_end_up_with_the_same_fields(events):
    assert COMMON_FIELDS <= set(events["json_startup"]) and COMMON_FIELDS <= set(events["startup"])
    assert events["json_startup"]["log_message"] == events["startup"]["log_message"]
    assert events["json_startup"]["level"] == events["startup"]["level"]
    for field in ("trace_id", "span_id"):
        assert events["json_balance"][field] == events["redemption_refused"][field]


def test_the_json_time_keeps_its_milliseconds(events):
    assert events["json_balance"]["timestamp"] == "2026-03-14T09:26:53.412807Z"
    assert events["json_balance"]["@timestamp"] == "2026-03-14T09:26:53.412Z"


def test_a_json_stack_trace_stays_one_field(events):
    event = events["json_error"]
    assert event["error.stack_trace"] == STACK_TRACE
    assert event["log_message"] == "Posting failed for member M-2231"
    assert event["tags"] == []


def test_no_json_line_is_grokked(events):
    for sample in JSON_SAMPLES:
        assert not [tag for tag in events[sample["name"]]["tags"] if tag.startswith("_grok")], sample["name"]

"""Lines in the services' configured Logback pattern, parsed back by the corrected chain in a real grok engine."""

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.logformat import GUIDE_SPEC, pipeline_spec
from log_samples import PRETTY_BODY, STACK_TRACE, WHEN_UTC, sample_lines, samples

PATTERN_SAMPLES = [sample for sample in samples() if sample["kind"] == "pattern"]
UNPARSED_SAMPLES = [sample for sample in samples() if sample["kind"] == "unparsed"]
BAD_JSON_SAMPLES = [sample for sample in samples() if sample["kind"] == "bad_json"]


@pytest.fixture(name="events")
def fixture_events(harness):
    """The corrected chain's event of every sample, by sample name."""
    answer = harness(pipeline_spec(), sample_lines())
    return {sample["name"]: event for sample, event in zip(samples(), answer["events"])}


def test_the_samples_are_what_logback_writes():
    lines = {sample["name"]: sample["line"] for sample in samples()}
    # %-5level pads INFO and WARN with a space; empty MDC values leave "[,]"; %logger{36} shortens the packages.
    assert lines["startup"] == ("2026-03-14 09:26:53 [main] INFO  [,] c.l.p.points.PointsApplication - Started "
                                "PointsApplication in 4.213 seconds (process running for 4.9)")
    assert lines["redemption_refused"] == (
        "2026-03-14 09:26:53 [http-nio-8080-exec-7] WARN  [6f1c2a9e4b7d3c10a5e8f2b4c6d8e0a1,a5e8f2b4c6d8e0a1] "
        "c.l.p.p.web.RedemptionController - Redemption refused - balance 120 < cost 500 [member=M-1042, reward=R-77]")
    assert lines["sql_debug"].startswith("2026-03-14 09:26:53 [Batch Worker 3] DEBUG [6f1c2a9e4b7d3c10a5e8f2b4c6d8e0a1,] ")
    assert lines["posting_failed"].split("\n")[1:] == STACK_TRACE.split("\n")


@pytest.mark.parametrize("sample", PATTERN_SAMPLES, ids=[sample["name"] for sample in PATTERN_SAMPLES])
def test_a_pattern_line_parses_back_to_what_was_rendered(events, sample):
    event = events[sample["name"]]
    assert event["tags"] == sample["tags"]
    # Exactly the rendered fields: nothing missing, nothing extra (an empty MDC value is no field at all).
    assert set(event) == {"message", "tags"} | set(sample["fields"])
    for field, value in sample["fields"].items():
        assert event[field] == value, field
    assert event["message"] == sample["line"]


def test_padded_levels_lose_their_padding(events):
    assert events["startup"]["level"] == "INFO"
    assert events["redemption_refused"]["level"] == "WARN"
    assert events["posting_failed"]["level"] == "ERROR"


def test_empty_mdc_values_are_no_fields(events):
    assert "trace_id" not in events["startup"] and "span_id" not in events["startup"]
    assert events["sql_debug"]["trace_id"] == "6f1c2a9e4b7d3c10a5e8f2b4c6d8e0a1"
    assert "span_id" not in events["sql_debug"]


def test_a_stack_trace_joined_to_its_line_stays_in_the_message(events):
    event = events["posting_failed"]
    assert event["tags"] == []
    assert event["log_message"] == "Posting failed for member M-2231\n" + STACK_TRACE
    assert event["log_message"].count("\n") == STACK_TRACE.count("\n") + 1
    assert event["log_message"].endswith("\t... 47 common frames omitted")
    assert event["logger"] == "c.l.platform.ledger.LedgerService"


def test_a_continuation_line_that_starts_with_a_brace_does_not_make_the_event_json(events):
    # The json branch's condition is a Ruby regular expression in Logstash, where ^ matches after every newline:
    # only the event's first line may send it to the json filter.
    event = events["pretty_body"]
    assert event["tags"] == []
    assert event["log_message"] == PRETTY_BODY


def test_only_the_security_logger_is_tagged_security(events):
    tagged = sorted(name for name, event in events.items() if "security" in event["tags"])
    assert tagged == ["json_security", "security_login"]
    assert events["security_login"]["logger"] == "SECURITY"


@pytest.mark.parametrize("sample", UNPARSED_SAMPLES, ids=[sample["name"] for sample in UNPARSED_SAMPLES])
def test_a_line_in_another_format_carries_the_grok_failure_tag(events, sample):
    event = events[sample["name"]]
    assert event == {"message": sample["line"], "tags": ["_grokparsefailure_springboot"]}


@pytest.mark.parametrize("sample", BAD_JSON_SAMPLES, ids=[sample["name"] for sample in BAD_JSON_SAMPLES])
def test_malformed_json_carries_the_json_failure_tag_and_is_not_grokked(events, sample):
    event = events[sample["name"]]
    assert event == {"message": sample["line"], "tags": ["_jsonparsefailure"]}


def test_the_failed_share_counts_the_lines_that_are_not_parsed(harness):
    answer = harness(pipeline_spec(), sample_lines())
    failed = len(UNPARSED_SAMPLES) + len(BAD_JSON_SAMPLES)
    assert answer["failed_share"] == pytest.approx(failed / len(samples()))
    assert answer["events_per_second"] > 0


def test_a_utc_time_is_the_same_instant_whatever_the_jvm_default_zone(harness):
    lines = [sample["line"] for sample in PATTERN_SAMPLES]
    in_utc = harness(pipeline_spec(), lines, timezone="UTC")["events"]
    in_new_york = harness(pipeline_spec(), lines, timezone="America/New_York")["events"]
    assert [event["@timestamp"] for event in in_new_york] == [WHEN_UTC] * len(lines)
    assert in_new_york == in_utc
    # The JVM did run in New York time: a chain without a zone (the guide's) reads a local time there, 4 h later (EDT).
    local = next(sample["line"] for sample in samples() if sample["name"] == "guide_format_local")
    guide = harness(GUIDE_SPEC, [local], timezone="America/New_York")["events"][0]
    assert guide["@timestamp"] == "2026-03-14T13:26:53.412Z"


def test_a_zone_given_to_the_chain_moves_the_instant(harness):
    line = PATTERN_SAMPLES[0]["line"]
    event = harness(pipeline_spec(timezone="Europe/Berlin"), [line])["events"][0]
    assert event["@timestamp"] == "2026-03-14T08:26:53.000Z"

"""The reference guide's chain (GUIDE_SPEC) run by the same engine: what it gets wrong, asserted."""

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.logformat import GUIDE_SPEC
from log_samples import sample_lines, samples

KINDS = {sample["name"]: sample["kind"] for sample in samples()}


@pytest.fixture(name="events")
def fixture_events(harness):
    answer = harness(GUIDE_SPEC, sample_lines())
    return {sample["name"]: event for sample, event in zip(samples(), answer["events"])}


def test_the_guide_matches_no_line_in_the_configured_format(events):
    for name, kind in KINDS.items():
        if kind == "pattern":
            event = events[name]
            assert "_grokparsefailure" in event["tags"], name
            assert set(event) == {"message", "tags"}, name


def test_the_guide_groks_every_json_line_and_tags_it(events):
    for name, kind in KINDS.items():
        if kind == "json":
            event = events[name]
            assert "_grokparsefailure" in event["tags"], name
            # Nothing renamed: the ECS keys stay, the fields of the pattern lines never appear.
            assert "log.level" in event and "level" not in event and "log_message" not in event, name


def test_the_guide_parses_its_own_format(events):
    # The harness does run the guide's chain: the lines in the format it expects parse.
    for sample in samples():
        if sample.get("guide_fields"):
            event = events[sample["name"]]
            assert event["tags"] == [], sample["name"]
            for field, value in sample["guide_fields"].items():
                assert event[field] == value, (sample["name"], field)


def test_the_guide_reads_a_time_without_offset_in_the_jvm_zone(harness):
    local = next(sample["line"] for sample in samples() if sample["name"] == "guide_format_local")
    in_utc = harness(GUIDE_SPEC, [local], timezone="UTC")["events"][0]
    in_new_york = harness(GUIDE_SPEC, [local], timezone="America/New_York")["events"][0]
    assert in_utc["@timestamp"] == "2026-03-14T09:26:53.412Z"
    assert in_new_york["@timestamp"] == "2026-03-14T13:26:53.412Z"


def test_the_guide_fails_on_all_but_its_own_lines(harness):
    answer = harness(GUIDE_SPEC, sample_lines())
    own = sum(1 for sample in samples() if sample.get("guide_fields"))
    assert answer["failed_share"] == pytest.approx((len(samples()) - own) / len(samples()))

"""The disaster_recovery role's filters: UTC times as seconds, and a drill's SQL checks judged and their definitions checked."""

import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.filter import drill_check_problem as check_plugin
from ansible_collections.loyalty.platform.plugins.filter import utc_seconds as seconds_plugin

utc_seconds = seconds_plugin.FilterModule().filters()["utc_seconds"]
drill_check_problem = check_plugin.FilterModule().filters()["drill_check_problem"]


@pytest.mark.parametrize("text, expected", [
    ("1970-01-01T00:00:00Z", 0.0),
    ("2026-12-03T17:00:00Z", 1796317200.0),
    ("2026-12-03T17:00:00.250000Z", 1796317200.25),
    ("2026-12-03T18:00:00+01:00", 1796317200.0),
    # The backup modules write UTC; a time without offset is UTC, never the controller's zone.
    ("2026-12-03T17:00:00", 1796317200.0),
])
def test_utc_seconds(text, expected):
    assert utc_seconds(text) == expected


def test_utc_seconds_of_a_datetime():
    when = datetime.datetime(2026, 12, 3, 17, 0, tzinfo=datetime.timezone.utc)
    assert utc_seconds(when) == 1796317200.0


def test_a_backup_age_is_a_difference():
    assert utc_seconds("2026-12-03T17:00:30.5Z") - utc_seconds("2026-12-03T16:59:00Z") == 90.5


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z"])
def test_utc_seconds_refuses_what_is_not_a_time(text):
    with pytest.raises(AnsibleFilterError, match="ISO 8601"):
        utc_seconds(text)


@pytest.mark.parametrize("value, check", [
    (5, {"min": 1}),
    (1, {"min": 1}),
    ("12", {"min": 1, "max": 12}),
    (0, {"equals": 0}),
    ("0", {"equals": 0}),
    ("ok", {"equals": "ok"}),
    (True, {}),
    (3, {}),
    (2.5, {"max": 3}),
])
def test_a_check_that_passes(value, check):
    assert drill_check_problem(value, dict(check, name="c", query="select 1")) == ""


@pytest.mark.parametrize("value, check, problem", [
    (0, {"min": 1}, "returned 0, below min 1"),
    (13, {"max": 12}, "returned 13, above max 12"),
    (1, {"equals": 0}, "returned 1, expected 0"),
    ("abc", {"min": 1}, "not a number"),
    (None, {"min": 1}, "not a number"),
    (False, {}, "expected true or a number above 0"),
    (0, {}, "expected true or a number above 0"),
    (None, {}, "expected true or a number above 0"),
    # A boolean is no number: count(*) > 0 that returned false does not pass min 0.
    (False, {"min": 0}, "not a number"),
])
def test_a_check_that_fails_says_why(value, check, problem):
    assert problem in drill_check_problem(value, dict(check, name="c", query="select 1"))


def test_sound_definitions():
    assert drill_check_problem([]) == ""
    assert drill_check_problem([{"name": "members", "query": "select count(*) from members", "min": 1},
                                {"name": "orphans", "query": "select count(*) from points", "equals": 0}]) == ""


@pytest.mark.parametrize("checks, problem", [
    ("select 1", "must be a list"),
    ({"name": "a", "query": "b"}, "must be a list"),
    (["select 1"], "disaster_recovery_drill_checks[0] must be a dict"),
    ([{"name": "a", "query": "select 1"}, {"query": "select 1"}], "disaster_recovery_drill_checks[1] needs name"),
    ([{"name": "a", "query": " "}], "disaster_recovery_drill_checks[0] needs query"),
    ([{"name": "a", "query": "q", "minimum": 1}], "unknown keys minimum"),
    ([{"name": "a", "query": "q", "min": "one"}], "min='one' is not a number"),
    ([{"name": "a", "query": "q", "min": 1, "equals": 2}], "not both"),
])
def test_unusable_definitions_are_named(checks, problem):
    assert problem in drill_check_problem(checks)


def test_every_unusable_definition_is_named():
    message = drill_check_problem([{"name": "a"}, {"name": "b", "query": "q"}, {"query": "q"}])
    assert "[0] needs query" in message and "[2] needs name" in message and "[1]" not in message


def test_the_check_must_be_a_dict():
    with pytest.raises(AnsibleFilterError, match="check must be a dict"):
        drill_check_problem(1, "min 1")

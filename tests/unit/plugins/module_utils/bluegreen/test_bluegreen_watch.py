"""The watch schedule of prometheus_gates_info: when the gates are evaluated, and when the watch stops."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen import gates, watch
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError

GATE = {"name": "error-rate", "query": 'rate{color="{color}"}', "threshold": 0.05, "comparison": "<="}
CONTEXT = {"namespace": "ns", "color": "green", "previous_color": "blue", "services": ["a", "b"]}


def vector(value):
    return {"resultType": "vector", "result": [{"metric": {}, "value": [0, str(value)]}]}


class Clock:
    """A fake monotonic clock that only moves when the watch sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def run(values, duration, interval, gates=(GATE,)):
    """Watch with a fetch that answers ``values[i]`` in round i (the last value repeats); returns (outcome, clock, queries)."""
    clock, queries = Clock(), []

    def fetch(query, name):
        queries.append((clock.now, query))
        return vector(values[min(len(queries) - 1, len(values) - 1)])

    outcome = watch.watch_gates(list(gates), fetch, CONTEXT, duration, interval, sleep=clock.sleep, monotonic=clock.monotonic)
    return outcome, clock, queries


def test_duration_zero_evaluates_once_without_sleeping():
    outcome, clock, queries = run([0], 0, 10)
    assert outcome["passed"] and outcome["rounds"] == 1 and clock.sleeps == []
    assert [query for _at, query in queries] == ['rate{color="green"}']


def test_rounds_at_every_interval_and_one_at_the_end_of_the_window():
    outcome, clock, queries = run([0], 10, 3)
    assert outcome["passed"] and outcome["rounds"] == 5
    assert [at for at, _query in queries] == [0, 3, 6, 9, 10]
    assert clock.sleeps == [3, 3, 3, 1]
    assert outcome["elapsed"] == 10


def test_stops_at_the_first_failing_round_with_its_results():
    outcome, clock, _queries = run([0, 0.01, 0.5, 0], 300, 30)
    assert not outcome["passed"]
    assert outcome["rounds"] == 3 and clock.now == 60
    assert outcome["results"][0]["observed"] == [0.5]
    assert outcome["problems"] == ['gate error-rate: 0.5 is not <= 0.05 (query rate{color="green"})']
    assert watch.summary(outcome, 300).startswith("A gate failed in round 3 after 60.0s: gate error-rate: 0.5")


def test_no_gates_pass_at_once_without_waiting():
    outcome, clock, queries = run([0], 300, 30, gates=())
    assert outcome == {"passed": True, "rounds": 0, "elapsed": 0.0, "results": [], "problems": []}
    assert clock.sleeps == [] and queries == []
    assert watch.summary(outcome, 300) == "No gate to watch."


def test_an_unreachable_prometheus_ends_the_watch():
    clock = Clock()

    def fetch(query, name):
        if clock.now >= 20:
            raise BlueGreenError("Prometheus at http://p:9090 is unreachable (refused), so gate %s cannot be evaluated." % name)
        return vector(0)

    with pytest.raises(BlueGreenError, match="unreachable"):
        watch.watch_gates([GATE], fetch, CONTEXT, 60, 10, sleep=clock.sleep, monotonic=clock.monotonic)
    assert clock.now == 20


def test_per_service_gates_run_for_each_service_every_round():
    gate = dict(GATE, query='rate{service="{service}",color="{color}"}')
    _outcome, _clock, queries = run([0], 1, 1, gates=(gate,))
    assert [query for _at, query in queries] == ['rate{service="a",color="green"}', 'rate{service="b",color="green"}'] * 2


@pytest.mark.parametrize("duration,interval,message", [(-1, 10, "duration must be 0 or more"), (10, 0, "interval must be at least 1")])
def test_invalid_schedules_are_refused(duration, interval, message):
    with pytest.raises(BlueGreenError, match=message):
        watch.watch_gates([GATE], lambda query, name: vector(0), CONTEXT, duration, interval)


def test_gate_spec_offers_the_same_comparisons_as_the_gates():
    assert gates.GATE_SPEC["comparison"]["choices"] == ["<", "<=", ">", ">=", "==", "!="]
    assert gates.GATE_SPEC["comparison"]["choices"] == list(gates.COMPARISONS)


@given(st.integers(min_value=0, max_value=3600), st.integers(min_value=1, max_value=600))
def test_a_passing_watch_covers_exactly_the_window(duration, interval):
    outcome, clock, _queries = run([0], duration, interval)
    assert outcome["passed"]
    assert clock.now == duration
    assert all(0 < seconds <= interval for seconds in clock.sleeps)
    assert outcome["rounds"] == 1 + math.ceil(duration / interval)

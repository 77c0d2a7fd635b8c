# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Watch the Prometheus gates for a while: the same gates k8s_bluegreen evaluates before a switch, evaluated every
``interval`` seconds until ``duration`` has passed, stopping at the first round in which a gate fails.

The gate logic itself (templating, comparison, parsing) is gates.py's; this file only repeats it over time, with the
clock and the sleep injected so the schedule can be tested without waiting.
"""

from __future__ import annotations

import time

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.gates import evaluate_gates


def validate_schedule(duration, interval):
    """``duration`` 0 means one round; a positive ``interval`` is needed so the watch ends."""
    problems = []
    if duration < 0:
        problems.append("duration must be 0 or more (got %s)" % duration)
    if interval <= 0:
        problems.append("interval must be at least 1 second (got %s)" % interval)
    if problems:
        raise BlueGreenError("Invalid options: %s." % "; ".join(problems))


def watch_gates(gates, fetch, context, duration, interval, sleep=time.sleep, monotonic=time.monotonic):
    """Evaluate ``gates`` at once, then every ``interval`` seconds, the last round at ``duration``.

    ``context`` has the placeholder values: ``namespace``, ``color``, ``previous_color`` and ``services``.
    ``fetch(query, gate_name)`` returns a query's ``data`` or raises BlueGreenError (Prometheus unreachable,
    query rejected), which ends the watch: a watch that cannot see the gates has not shown them passing.

    Returns ``{passed, rounds, elapsed, results, problems}``; ``results`` and ``problems`` are those of the
    last round, the one that failed when ``passed`` is false.
    """
    validate_schedule(duration, interval)
    if not gates:
        # Nothing to watch: waiting out the window would prove nothing.
        return {"passed": True, "rounds": 0, "elapsed": 0.0, "results": [], "problems": []}
    start = monotonic()
    deadline = start + duration
    rounds = 0
    while True:
        rounds += 1
        results, problems = evaluate_gates(
            gates, fetch, context.get("namespace"), context.get("color"), context.get("previous_color"), context.get("services") or []
        )
        remaining = deadline - monotonic()
        if problems or remaining <= 0:
            return {
                "passed": not problems,
                "rounds": rounds,
                "elapsed": round(monotonic() - start, 3),
                "results": results,
                "problems": problems,
            }
        sleep(min(interval, remaining))


def summary(outcome, duration):
    """One line for the result's ``msg``."""
    if not outcome["rounds"]:
        return "No gate to watch."
    if outcome["passed"]:
        return "Every gate passed in each of %d round(s) over %ss." % (outcome["rounds"], duration)
    return "A gate failed in round %d after %.1fs: %s." % (outcome["rounds"], outcome["elapsed"], "; ".join(outcome["problems"]))

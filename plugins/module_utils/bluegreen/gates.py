# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Prometheus gates: PromQL instant queries whose every sample must compare true against a threshold.

A gate is a dict ``{name, query, threshold, comparison, allow_empty}``. The
placeholders ``{color}``, ``{previous_color}``, ``{namespace}`` and
``{service}`` are replaced literally (PromQL's own braces are left alone); a
query that mentions ``{service}`` is evaluated once per switched Service.
"""

from __future__ import annotations

import math
import operator

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError

COMPARISONS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

PLACEHOLDERS = ("color", "previous_color", "namespace", "service")

# The argument spec of one gate, shared by every module that takes gates.
GATE_SPEC = dict(
    name=dict(type="str", required=True),
    query=dict(type="str", required=True),
    threshold=dict(type="float", required=True),
    comparison=dict(type="str", default="<=", choices=list(COMPARISONS)),
    allow_empty=dict(type="bool", default=False),
)


def render_query(query, **values):
    for key in PLACEHOLDERS:
        if values.get(key) is not None:
            query = query.replace("{%s}" % key, str(values[key]))
    return query


def is_per_service(query):
    return "{service}" in query


def compare(value, comparison, threshold):
    """True when ``value <comparison> threshold``; NaN never passes."""
    if comparison not in COMPARISONS:
        raise BlueGreenError("Unknown gate comparison %r; use one of %s." % (comparison, ", ".join(COMPARISONS)))
    if value is None or math.isnan(value):
        return False
    return COMPARISONS[comparison](value, float(threshold))


def samples_of(data):
    """``[(labels, value)]`` of an instant query's ``data`` (vector or scalar)."""
    result_type = data.get("resultType")
    result = data.get("result")
    if result_type == "scalar":
        return [({}, float(result[1]))]
    if result_type == "vector":
        return [(sample.get("metric") or {}, float(sample["value"][1])) for sample in result or []]
    raise BlueGreenError("A gate query must return an instant vector or a scalar, got %s." % result_type)


def evaluate_gate(gate, data, service=None, query=None):
    samples = samples_of(data)
    comparison = gate.get("comparison") or "<="
    threshold = float(gate["threshold"])
    failing = [(labels, value) for labels, value in samples if not compare(value, comparison, threshold)]
    passed = not failing and (bool(samples) or bool(gate.get("allow_empty")))
    return {
        "name": gate["name"],
        "service": service,
        "query": query,
        "comparison": comparison,
        "threshold": threshold,
        "observed": [value for _labels, value in samples],
        "passed": passed,
        "failing": [{"labels": labels, "value": value} for labels, value in failing],
    }


def gate_problem(result):
    where = " for Service %s" % result["service"] if result["service"] else ""
    if not result["observed"]:
        return "gate %s%s: query %s returned no samples (set allow_empty: true if that is a pass)" % (result["name"], where, result["query"])
    shown = ", ".join("%g" % item["value"] for item in result["failing"][:5])
    return "gate %s%s: %s is not %s %g (query %s)" % (result["name"], where, shown, result["comparison"], result["threshold"], result["query"])


def evaluate_gates(gates, fetch, namespace, color, previous_color, services):
    """Run every gate; returns ``(results, problems)``. ``fetch(query)`` returns the query's ``data``."""
    results, problems = [], []
    for gate in gates or []:
        scopes = services if is_per_service(gate["query"]) else [None]
        for service in scopes:
            query = render_query(gate["query"], color=color, previous_color=previous_color, namespace=namespace, service=service)
            result = evaluate_gate(gate, fetch(query, gate["name"]), service=service, query=query)
            results.append(result)
            if not result["passed"]:
                problems.append(gate_problem(result))
    return results, problems

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure rules of loyalty.platform.disaster_recovery: UTC times as seconds, and a drill's SQL check judged."""

from __future__ import annotations

import numbers

from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.naming import parse_iso

BOUNDS = ("min", "max", "equals")


def utc_seconds(text):
    """Seconds since the epoch of an ISO 8601 UTC time (``2026-12-03T17:00:00Z``, fractions and offsets allowed; a
    naive time is UTC). ValueError names a text that is no such time."""
    try:
        return parse_iso(text).timestamp()
    except BackupError as exc:
        raise ValueError(str(exc)) from exc


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Number):
        return value
    try:
        return float(str(value))
    except ValueError:
        return None


def check_definition_problem(check, index):
    """Why a drill check (a dict of name, query and optional min, max, equals) is unusable, or None."""
    where = "disaster_recovery_drill_checks[%d]" % index
    if not isinstance(check, dict):
        return "%s must be a dict with name and query, for example {name: members exist, query: select count(*) from members, min: 1}" % where
    unknown = sorted(set(check) - {"name", "query"} - set(BOUNDS))
    if unknown:
        return "%s has unknown keys %s: use name, query, min, max and equals" % (where, ", ".join(unknown))
    for key in ("name", "query"):
        if not isinstance(check.get(key), str) or not check[key].strip():
            return "%s needs %s (a non-empty string)" % (where, key)
    for key in ("min", "max"):
        if key in check and _number(check[key]) is None:
            return "%s: %s=%r is not a number" % (where, key, check[key])
    if "equals" in check and ("min" in check or "max" in check):
        return "%s: give equals, or min and/or max, not both" % where
    return None


def checks_problem(checks):
    """Why a list of drill checks is unusable (every entry's problem, joined), or None."""
    if not isinstance(checks, (list, tuple)):
        return "disaster_recovery_drill_checks must be a list of checks (name, query, and optionally min, max or equals)"
    problems = [check_definition_problem(check, index) for index, check in enumerate(checks)]
    return "; ".join(problem for problem in problems if problem) or None


def check_problem(value, check):
    """Why the first value ``value`` of a drill check's query fails ``check``, or None when it passes."""
    shown = "%r" % (value,)
    if "equals" in check:
        expected = check["equals"]
        if value == expected or (_number(value) is not None and _number(expected) is not None and _number(value) == _number(expected)):
            return None
        if str(value) == str(expected):
            return None
        return "returned %s, expected %r" % (shown, expected)
    if "min" in check or "max" in check:
        number = _number(value)
        if number is None:
            return "returned %s, not a number" % shown
        if "min" in check and number < _number(check["min"]):
            return "returned %s, below min %s" % (shown, check["min"])
        if "max" in check and number > _number(check["max"]):
            return "returned %s, above max %s" % (shown, check["max"])
        return None
    if value is True:
        return None
    number = _number(value)
    if number is not None and number > 0:
        return None
    return "returned %s, expected true or a number above 0" % shown

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: drill_check_problem
short_description: Why a recovery drill's SQL check fails, or why its definition is unusable
version_added: 0.1.0
description:
  - With O(check), judges the first value a drill check's query returned. With C(min) and/or C(max) in the check the value
    must be a number within them, with C(equals) equal to it; with none of them it must be V(true) or a number above 0.
  - Without O(check), checks the definitions instead. The input is then the whole list C(disaster_recovery_drill_checks),
    each a dict of C(name), C(query) and optionally C(min), C(max), C(equals), and every entry at fault is named.
  - Returns an empty string when the value passes (or the definitions are sound).
options:
  _input:
    description: The value the query returned first, or without O(check) the list of checks.
    type: raw
    required: true
  check:
    description: The check the value is judged by.
    type: dict
"""

EXAMPLES = r"""
- name: Fail when members are missing
  ansible.builtin.assert:
    that: result.query_result[0].values() | first | loyalty.platform.drill_check_problem(check) | length == 0
  vars:
    check: {name: members exist, query: select count(*) from members, min: 1}
"""

RETURN = r"""
_value:
  description: The problem, or an empty string.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.module_utils.recovery import check_problem, checks_problem


def drill_check_problem(value, check=None):
    if check is None:
        return checks_problem(value) or ""
    if not isinstance(check, dict):
        raise AnsibleFilterError("loyalty.platform.drill_check_problem: check must be a dict (name, query, min, max, equals)")
    return check_problem(value, check) or ""


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"drill_check_problem": drill_check_problem}

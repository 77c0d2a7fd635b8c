# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_infra_plan
short_description: A readable plan (create, change, no change per resource) from the results of a check-mode run
version_added: 0.3.0
description:
  - Takes a list of C(what) (a label), C(result) (a registered task result) and optionally C(in_sync) (a bool, or one per
    loop item; true when the resource was found as wanted, so its skipped task is no change) and returns one line per resource,
    C(+ create), C(~ change) (with the changed fields when the module reports them) or C(no change), then a count.
  - A resource is planned as created when its task would change it and its result names no existing resource, or when
    the task was skipped because its parent does not exist yet. A loop's items are one resource each.
options:
  _input:
    description: The resources, in order, each a mapping with C(what) and C(result).
    type: list
    elements: dict
    required: true
author:
  - Loyalty platform team (@loyalty-platform)
"""

EXAMPLES = r"""
- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ [{'what': 'VPC', 'result': vpc_result}] | loyalty.platform.aws_infra_plan }}"
"""

RETURN = r"""
_value:
  description: One line per resource, then a line with the counts.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.module_utils.aws_infra.plan import plan


def aws_infra_plan(entries):
    """Filter entry point: the lines of plan.plan()."""
    if not isinstance(entries, list) or not all(isinstance(entry, dict) and "what" in entry for entry in entries):
        raise AnsibleFilterError("aws_infra_plan: the input must be a list of mappings with 'what' and 'result'")
    return plan(entries)[0]


class FilterModule:
    """loyalty.platform.aws_infra_plan."""

    def filters(self):
        return {"aws_infra_plan": aws_infra_plan}

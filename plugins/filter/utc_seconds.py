# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: utc_seconds
short_description: Seconds since the epoch of an ISO 8601 UTC time
version_added: 0.1.0
description:
  - Turns a time such as V(2026-12-03T17:00:00Z) (the backup modules' times, or C(now(utc=true)) formatted so) into seconds
    since the epoch, so ages and durations are differences of two numbers.
  - A time without offset is taken as UTC.
options:
  _input:
    description: The time.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Age of the backup in seconds
  ansible.builtin.debug:
    msg: "{{ now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ') | loyalty.platform.utc_seconds - backup.time | loyalty.platform.utc_seconds }}"
"""

RETURN = r"""
_value:
  description: Seconds since 1970-01-01T00:00:00Z.
  type: float
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.module_utils.recovery import utc_seconds as _utc_seconds


def utc_seconds(value):
    try:
        return _utc_seconds(value)
    except ValueError as exc:
        raise AnsibleFilterError("loyalty.platform.utc_seconds: %s" % exc) from exc


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"utc_seconds": utc_seconds}

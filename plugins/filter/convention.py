# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: convention
short_description: One of the naming and layout conventions the collection's roles share
version_added: 0.1.0
description:
  - Returns a convention of the collection by name, so that C(loyalty.platform.eks_apps), which creates the objects,
    and C(loyalty.platform.bluegreen_deploy), which finds and switches them, read the same value.
  - "Names: V(environments), V(colors), V(first_color), V(color_label), V(deployment_name) (with C({service}) and
    C({color})), V(colored_kinds) (C(apiVersion), C(kind), C(suffix) of the objects made per color), V(default_services)
    (C(name), C(ingress_path)), V(context_path), V(liveness_suffix), V(readiness_suffix), V(config_suffix),
    V(tag_pattern), V(floating_tags), V(log_pattern) (the services' Logback console pattern) and V(log_structured_format)
    (their structured console logging format, V(ecs))."
options:
  _input:
    description: The name of the convention.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The two colors
  ansible.builtin.debug:
    msg: "{{ 'colors' | loyalty.platform.convention }}"
"""

RETURN = r"""
_value:
  description: The convention's value (a string, or a list of strings or dicts).
  type: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.module_utils.conventions import convention as _convention


def convention(name):
    try:
        return _convention(str(name))
    except KeyError as exc:
        raise AnsibleFilterError("loyalty.platform.convention: %s" % exc.args[0]) from exc


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"convention": convention}

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: colored_name
short_description: The name of a service's object of one color
version_added: 0.1.0
description:
  - The collection's naming rule for what is made once per color (C({service}-{color}), the V(deployment_name)
    convention), followed by an optional suffix such as V(-config) for the color's ConfigMap.
  - The one place eks_apps, which creates these objects, and bluegreen_deploy, which scales, switches and deletes
    them, take the names from.
options:
  _input:
    description: The service name.
    type: str
    required: true
  color:
    description: The color.
    type: str
    required: true
  suffix:
    description: Appended to the name.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: The green ConfigMap of user-service
  ansible.builtin.debug:
    msg: "{{ 'user-service' | loyalty.platform.colored_name('green', '-config') }}"
"""

RETURN = r"""
_value:
  description: The name, for example V(user-service-green-config).
  type: str
"""

from ansible_collections.loyalty.platform.plugins.module_utils.conventions import colored_name


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"colored_name": colored_name}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_bluegreen_info
short_description: Report which color a group of Kubernetes Services selects, and the state of each color
version_added: 0.1.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Reads a blue/green group of Services and reports, for each Service, its selector, active color, annotations and the
    number of ready and not-ready endpoints in its EndpointSlices.
  - Reports the group's active color (or V(mixed)), the color recorded by the last switch, for each color the replica counts
    of every Service's Deployment and of its HorizontalPodAutoscaler (named like the Deployment), and the holder of the
    C(bluegreen-lock) Lease.
  - Never changes anything. Missing Services are reported, not an error.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  namespace:
    description:
      - Namespace of the group.
    type: str
    required: true
  services:
    description:
      - Names of the Services of the group.
    type: list
    elements: str
    required: true
  color_label:
    description:
      - The selector key (and Pod label) that tells the colors apart.
    type: str
    default: color
  deployment_name:
    description:
      - Name of a Service's Deployment (and HorizontalPodAutoscaler) of a given color; C({service}) and C({color}) are replaced.
    type: str
    default: "{service}-{color}"
  colors:
    description:
      - Colors to report Deployments for. Colors the Services select or record as previous are added.
    type: list
    elements: str
    default: [blue, green]
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
notes:
  - "API requests: 5 whatever the number of Services (list Services, list EndpointSlices, list Deployments, list
    HorizontalPodAutoscalers, get Lease)."
seealso:
  - module: loyalty.platform.k8s_bluegreen
"""

EXAMPLES = r"""
- name: Find the active color of the loyalty services
  loyalty.platform.k8s_bluegreen_info:
    namespace: loyalty-system-production
    services: [user-service, point-service, rewards-service, admin-service]
  register: bluegreen

- name: Deploy to the other color
  ansible.builtin.debug:
    msg: "active {{ bluegreen.active_color }}, deploy to {{ 'green' if bluegreen.active_color == 'blue' else 'blue' }}"

- name: Show the replicas each active Deployment runs now (the HPA's current count when it has one)
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.hpa_current_replicas | default(item.value.ready_replicas, true) }}"
  loop: "{{ bluegreen.colors[bluegreen.active_color].deployments | dict2items }}"
  when: bluegreen.active_color not in ['mixed', None]
"""

RETURN = r"""
namespace:
  description: The namespace read.
  returned: always
  type: str
  sample: loyalty-system-production
services:
  description: Each requested Service.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Service name.
      type: str
      sample: user-service
    exists:
      description: Whether the Service exists.
      type: bool
    selector:
      description: The Service's selector.
      type: dict
      sample: {"app": "user-service", "color": "blue"}
    color:
      description: The value of O(color_label) in the selector, null when absent.
      type: str
      sample: blue
    annotations:
      description: The Service's annotations, including the C(loyalty.platform/*) audit record.
      type: dict
    endpoints:
      description: Ready and not-ready endpoint counts over the Service's EndpointSlices.
      type: dict
      sample: {"ready": 2, "not_ready": 0}
missing_services:
  description: Requested Services that do not exist.
  returned: always
  type: list
  elements: str
active_color:
  description: The color every existing Service selects, V(mixed) when they disagree (or a selector lacks the key), null when none exists.
  returned: always
  type: str
  sample: blue
previous_color:
  description: The C(loyalty.platform/previous-color) the Services agree on, null otherwise.
  returned: always
  type: str
  sample: green
inactive_colors:
  description: The reported colors other than the active one.
  returned: always
  type: list
  elements: str
  sample: [green]
colors:
  description:
    - Per color, per Service, the Deployment's replica counts and its HorizontalPodAutoscaler's current and desired replicas.
    - C(ready) is true when every Service's Deployment of that color exists and is fully rolled out and ready.
  returned: always
  type: dict
  sample:
    blue:
      ready: true
      exists: true
      deployments:
        user-service:
          name: user-service-blue
          exists: true
          replicas: 3
          updated_replicas: 3
          ready_replicas: 3
          available_replicas: 3
          ready: true
          hpa: user-service-blue
          hpa_current_replicas: 4
          hpa_desired_replicas: 4
last_switch:
  description: The switch id, time and action the Services agree on, null when they do not or were never switched.
  returned: always
  type: dict
  sample: {"switch_id": "0b6e1c7e-4d3f-4c1e-9d59-1f3f0e0e9a11", "switched_at": "2025-03-01T12:00:00Z", "action": "switched"}
lease:
  description: The C(bluegreen-lock) Lease, null when there is none.
  returned: always
  type: dict
  sample: {"name": "bluegreen-lock", "holder": "ci-runner:4242", "acquired_at": "2025-03-01T12:00:00Z",
           "renewed_at": "2025-03-01T12:00:00Z", "duration_seconds": 300, "expires_at": "2025-03-01T12:05:00Z", "expired": false}
api_requests:
  description: Number of Kubernetes API requests the task made.
  returned: always
  type: int
  sample: 5
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.api import ApiError, BlueGreenApi
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.info import collect_info
from ansible_collections.loyalty.platform.plugins.module_utils.conventions import COLOR_LABEL, COLORS, DEPLOYMENT_NAME


def argument_spec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        namespace=dict(type="str", required=True),
        services=dict(type="list", elements="str", required=True),
        color_label=dict(type="str", default=COLOR_LABEL),
        deployment_name=dict(type="str", default=DEPLOYMENT_NAME),
        colors=dict(type="list", elements="str", default=list(COLORS)),
    )
    return spec


def main():
    module = AnsibleK8SModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        api = BlueGreenApi(get_api_client(module=module).client)
        result = collect_info(api, module.params)
    except ApiError as exc:
        module.fail_json(msg="Could not read the blue/green group in namespace %s: %s" % (module.params["namespace"], exc))
    except CoreException as exc:
        module.fail_from_exception(exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

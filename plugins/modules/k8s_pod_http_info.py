#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_pod_http_info
short_description: HTTP checks against every Pod a label selector matches, through the API server's pods proxy
version_added: 0.1.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - For each label selector in O(selectors), lists the Pods it matches in O(namespace) and sends an HTTP GET for O(path) to each
    of them through the Kubernetes API server's pods proxy (C(/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH)), so the
    controller needs no network route to the Pods, only the C(get) permission on C(pods/proxy).
  - A Pod passes when it is Ready (with O(require_ready=true)), answers with one of O(expected_status) and, when
    O(expected_json) is set, with a JSON object holding those keys and values. Each selector must match at least O(min_pods)
    Pods. Terminating and finished Pods are not checked.
  - "A failing Pod is reported in RV(passed) and RV(msg), not as a task failure, so the task can be retried with C(until)
    (C(until: result.passed)), and a retried task that runs out of attempts fails with RV(msg) naming every failing Pod.
    Only an API server that cannot be reached, or Pods that cannot be listed, fail the task at once."
  - Never changes anything.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads (HTTP GET); check mode runs the same checks.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  namespace:
    description:
      - Namespace of the Pods.
    type: str
    required: true
  selectors:
    description:
      - Label selectors, for example V(app=user-service,color=green). Each is listed and judged on its own, so one selector
        per Service makes sure every Service has Pods that answer.
    type: list
    elements: str
    required: true
  port:
    description:
      - Container port to call, by name (looked up in each Pod's containers, for example V(http)) or by number.
    type: str
    default: http
  scheme:
    description:
      - Scheme the API server uses to reach the Pod.
    type: str
    choices: [http, https]
    default: http
  path:
    description:
      - HTTP path on the Pod, for example V(/api/v1/actuator/health/readiness). No query string.
    type: str
    default: /
  expected_status:
    description:
      - The HTTP status codes that pass.
    type: list
    elements: int
    default: [200]
  expected_json:
    description:
      - 'Keys and values the answer''s JSON object must hold, for example V({"status": "UP"}). Other keys are ignored.'
    type: dict
  require_ready:
    description:
      - A Pod whose C(Ready) condition is not C(True) fails without being called.
    type: bool
    default: true
  min_pods:
    description:
      - The fewest Pods each selector must match.
    type: int
    default: 1
  request_timeout:
    description:
      - Seconds to wait for each answer.
    type: int
    default: 10
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
notes:
  - "API requests: one list per selector and one GET per Ready Pod."
seealso:
  - module: loyalty.platform.k8s_bluegreen
  - module: kubernetes.core.k8s_info
  - name: Manually constructing apiserver proxy URLs
    description: The Kubernetes documentation of the proxy paths this module uses.
    link: https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/#manually-constructing-apiserver-proxy-urls
"""

EXAMPLES = r"""
- name: Every green Pod of every service answers its readiness endpoint with status UP
  loyalty.platform.k8s_pod_http_info:
    namespace: loyalty-system-production
    selectors:
      - app=user-service,color=green
      - app=point-service,color=green
      - app=rewards-service,color=green
      - app=admin-service,color=green
    port: http
    path: /api/v1/actuator/health/readiness
    expected_json:
      status: UP
  register: readiness
  until: readiness.passed
  retries: 10
  delay: 6

- name: Show which Pods failed
  ansible.builtin.debug:
    msg: "{{ readiness.problems }}"
  when: not readiness.passed
"""

RETURN = r"""
passed:
  description: Whether every selector matched enough Pods and every Pod passed.
  returned: always
  type: bool
  sample: true
msg:
  description: A summary; when a check failed, every failing Pod (or selector) and why.
  returned: always
  type: str
  sample: "HTTP checks failed in namespace loyalty-system-production: Pod user-service-green-7d9f-abcde answered HTTP 503, expected 200."
problems:
  description: One message per failing Pod or selector.
  returned: always
  type: list
  elements: str
selectors:
  description: Per selector, how many Pods it matched and how many passed.
  returned: success
  type: list
  elements: dict
  contains:
    selector:
      description: The label selector.
      type: str
      sample: app=user-service,color=green
    pods:
      description: Pods matched (terminating and finished ones left out).
      type: int
    passed_pods:
      description: Pods that passed.
      type: int
    passed:
      description: Whether the selector matched at least O(min_pods) Pods and all of them passed.
      type: bool
pods:
  description: Each Pod checked.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Pod name.
      type: str
    selector:
      description: The selector that matched it.
      type: str
    ready:
      description: Whether its C(Ready) condition is C(True).
      type: bool
    port:
      description: The port number called (null when the Pod was not called).
      type: int
    status:
      description: The HTTP status of the answer (null when the Pod was not called).
      type: int
      sample: 200
    body:
      description: The first 512 characters of the answer.
      type: str
      sample: '{"status": "UP"}'
    passed:
      description: Whether the Pod passed.
      type: bool
    problem:
      description: Why it did not pass, null when it did.
      type: str
api_requests:
  description: Number of Kubernetes API requests the task made (proxied GETs included).
  returned: success
  type: int
  sample: 5
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

from ansible_collections.loyalty.platform.plugins.module_utils.k8s_pod_http import PodHttpError, run_checks
from ansible_collections.loyalty.platform.plugins.module_utils.kube_api import KubeApi


def argument_spec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        namespace=dict(type="str", required=True),
        selectors=dict(type="list", elements="str", required=True),
        port=dict(type="str", default="http"),
        scheme=dict(type="str", default="http", choices=["http", "https"]),
        path=dict(type="str", default="/"),
        expected_status=dict(type="list", elements="int", default=[200]),
        expected_json=dict(type="dict"),
        require_ready=dict(type="bool", default=True),
        min_pods=dict(type="int", default=1),
        request_timeout=dict(type="int", default=10),
    )
    return spec


def main():
    module = AnsibleK8SModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        api = KubeApi(get_api_client(module=module).client, request_timeout=module.params["request_timeout"])
        result = run_checks(api, module.params)
    except PodHttpError as exc:
        module.fail_json(msg=str(exc), passed=False, problems=[str(exc)])
    except CoreException as exc:
        module.fail_from_exception(exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

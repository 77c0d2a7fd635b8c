#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: prometheus_gates_info
short_description: Evaluate Prometheus gates once, or repeatedly over a watch window
version_added: 0.1.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Evaluates the same gates as M(loyalty.platform.k8s_bluegreen) (PromQL instant queries whose every sample must compare
    true against a threshold) against the Prometheus HTTP API, with the same placeholders, the same rules and the same
    Prometheus options.
  - Prometheus is reached through the API server's services proxy (O(prometheus_service), with the kubeconfig options
    below) or at O(prometheus_url); one of the two is required. The kubeconfig options are only used with
    O(prometheus_service).
  - The option names are those of M(loyalty.platform.k8s_bluegreen); C(validate_certs) is the kubeconfig's (the API
    server's certificate), the Prometheus URL's is O(prometheus_validate_certs).
  - In a gate query C({color}) is O(color), C({previous_color}) O(previous_color), C({namespace}) O(namespace) and
    C({service}) each of O(services) in turn.
  - With O(duration=0) the gates are evaluated once. Otherwise they are evaluated at once, then every O(interval) seconds, the
    last round at O(duration) seconds; the watch stops at the first round in which a gate fails.
  - A failing gate is reported in RV(passed), not as a task failure, so a playbook can decide what to do (roll back, for
    example). A Prometheus that cannot be reached, or that rejects a query, fails the task, naming the gate and where Prometheus was looked for.
  - Never changes anything.
extends_documentation_fragment:
  - loyalty.platform.prometheus
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode evaluates the gates the same way.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  color:
    description:
      - Value of the C({color}) placeholder, typically the color that serves the traffic now.
    type: str
  previous_color:
    description:
      - Value of the C({previous_color}) placeholder.
    type: str
  namespace:
    description:
      - Value of the C({namespace}) placeholder.
    type: str
  services:
    description:
      - Values of the C({service}) placeholder; a query that contains it is evaluated once per Service.
    type: list
    elements: str
    default: []
  duration:
    description:
      - Seconds to keep watching. V(0) evaluates the gates once.
    type: int
    default: 0
  interval:
    description:
      - Seconds between two rounds of evaluation. Must be at least 1.
    type: int
    default: 10
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0 (with O(prometheus_service) only)
notes:
  - The task runs for up to O(duration) seconds. Give it an C(async) longer than that if the connection to the managed host
    could time out; on the controller (C(connection=local)) that is not needed.
seealso:
  - module: loyalty.platform.k8s_bluegreen
  - name: Prometheus HTTP API, instant queries
    description: The API the gates are evaluated through.
    link: https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries
"""

EXAMPLES = r"""
- name: Check green's error rate once
  loyalty.platform.prometheus_gates_info:
    prometheus_service: {namespace: monitoring, name: prometheus-server, port: "9090"}
    color: green
    namespace: loyalty-system-production
    gates:
      - name: error-rate
        query: >-
          sum(rate(http_requests_total{namespace="{namespace}",color="{color}",status=~"5.."}[5m]))
          / sum(rate(http_requests_total{namespace="{namespace}",color="{color}"}[5m]))
        threshold: 0.05
        allow_empty: true
  register: gates

- name: Watch green for five minutes after the switch, every 30 seconds, per Service (a Prometheus behind TLS and a token)
  loyalty.platform.prometheus_gates_info:
    prometheus_url: https://prometheus.example.com
    prometheus_ca_path: /etc/pki/prometheus-ca.pem
    prometheus_token: "{{ vault_prometheus_token }}"
    color: green
    previous_color: blue
    namespace: loyalty-system-production
    services: [user-service, point-service, rewards-service, admin-service]
    duration: 300
    interval: 30
    gates:
      - name: p95-latency
        query: >-
          histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{namespace="{namespace}",service="{service}",color="{color}"}[5m])) by (le))
        threshold: 2
        allow_empty: true
  register: watch

- name: Roll back when a gate failed
  loyalty.platform.k8s_bluegreen:
    namespace: loyalty-system-production
    services: [user-service, point-service, rewards-service, admin-service]
    state: rolled_back
  when: not watch.passed
"""

RETURN = r"""
passed:
  description: Whether every gate passed in every round.
  returned: always
  type: bool
  sample: true
msg:
  description: A one-line summary; names the failing gates and their values when a gate failed.
  returned: always
  type: str
  sample: "Every gate passed in each of 11 round(s) over 300s."
rounds:
  description: How many rounds of evaluation ran (0 when O(gates) is empty).
  returned: always
  type: int
  sample: 11
elapsed:
  description: Seconds from the first round to the last.
  returned: always
  type: float
  sample: 300.02
results:
  description: The result of each gate in the last round (the failing round when RV(passed) is false).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Gate name.
      type: str
    service:
      description: The Service the query was evaluated for, when the query uses C({service}).
      type: str
    query:
      description: The query as sent, placeholders replaced.
      type: str
    comparison:
      description: The comparison applied.
      type: str
    threshold:
      description: The threshold.
      type: float
    observed:
      description: The value of every sample returned.
      type: list
      elements: float
    passed:
      description: Whether the gate passed.
      type: bool
    failing:
      description: The samples that did not satisfy the comparison, with their labels.
      type: list
      elements: dict
problems:
  description: One message per failing gate of the last round.
  returned: always
  type: list
  elements: str
  sample: ["gate error-rate: 0.12 is not <= 0.05 (query sum(rate(...)))"]
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.kube_api import KubeApi
from ansible_collections.loyalty.platform.plugins.module_utils.prometheus_api import (
    PROMETHEUS_MUTUALLY_EXCLUSIVE,
    make_fetcher,
    prometheus_spec,
    validate_prometheus,
)
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.watch import summary, watch_gates


def argument_spec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(prometheus_spec())
    spec.update(
        color=dict(type="str"),
        previous_color=dict(type="str"),
        namespace=dict(type="str"),
        services=dict(type="list", elements="str", default=[]),
        duration=dict(type="int", default=0),
        interval=dict(type="int", default=10),
    )
    return spec


def main():
    # The kubernetes library is only needed for the services proxy; get_api_client reports it missing then.
    module = AnsibleK8SModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=PROMETHEUS_MUTUALLY_EXCLUSIVE,
        required_one_of=[("prometheus_service", "prometheus_url")],
        check_k8s=False,
    )
    params = module.params
    context = dict((key, params[key]) for key in ("namespace", "color", "previous_color", "services"))
    try:
        problems = validate_prometheus(params)
        if problems:
            raise BlueGreenError("Invalid options: %s." % "; ".join(problems))
        fetch = make_fetcher(params, lambda timeout: KubeApi(get_api_client(module=module).client, request_timeout=timeout))
        outcome = watch_gates(params["gates"], fetch, context, params["duration"], params["interval"])
    except BlueGreenError as exc:
        module.fail_json(msg=exc.msg, passed=False)
    except CoreException as exc:
        module.fail_from_exception(exc)
    module.exit_json(changed=False, msg=summary(outcome, params["duration"]), **outcome)


if __name__ == "__main__":
    main()

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
    true against a threshold) against the Prometheus HTTP API, with the same placeholders and the same rules.
  - With O(duration=0) the gates are evaluated once. Otherwise they are evaluated at once, then every O(interval) seconds, the
    last round at O(duration) seconds; the watch stops at the first round in which a gate fails.
  - A failing gate is reported in RV(passed), not as a task failure, so a playbook can decide what to do (roll back, for
    example). A Prometheus that cannot be reached, or that rejects a query, fails the task, naming the gate and the URL.
  - Never changes anything.
extends_documentation_fragment:
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
  prometheus_url:
    description:
      - Base URL of the Prometheus HTTP API, for example V(http://prometheus.monitoring:9090).
    type: str
    required: true
  gates:
    description:
      - PromQL instant queries. Every sample a query returns must satisfy O(gates[].comparison) against
        O(gates[].threshold).
      - In the query, C({color}) is replaced by O(color), C({previous_color}) by O(previous_color), C({namespace}) by
        O(namespace) and C({service}) by each of O(services) in turn (the query is then evaluated once per Service);
        other braces (PromQL label matchers) are left alone.
      - An empty list passes at once, without waiting.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - A name for the gate, used in messages and in the result.
        type: str
        required: true
      query:
        description:
          - The PromQL instant query. It must return a vector or a scalar.
        type: str
        required: true
      threshold:
        description:
          - The value each sample is compared with.
        type: float
        required: true
      comparison:
        description:
          - How a sample must compare to O(gates[].threshold) for the gate to pass.
        type: str
        choices: ["<", "<=", ">", ">=", "==", "!="]
        default: "<="
      allow_empty:
        description:
          - Whether a query that returns no sample passes. By default an empty answer fails the gate.
        type: bool
        default: false
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
  timeout:
    description:
      - Seconds to wait for each Prometheus answer.
    type: int
    default: 10
  validate_certs:
    description:
      - Verify the TLS certificate of an V(https) O(prometheus_url).
    type: bool
    default: true
requirements:
  - python >= 3.9
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
    prometheus_url: http://prometheus.monitoring:9090
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

- name: Watch green for five minutes after the switch, every 30 seconds, per Service
  loyalty.platform.prometheus_gates_info:
    prometheus_url: http://prometheus.monitoring:9090
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.gates import prometheus_fetcher
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.gates import GATE_SPEC
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.watch import summary, watch_gates


def argument_spec():
    return dict(
        prometheus_url=dict(type="str", required=True),
        gates=dict(type="list", elements="dict", required=True, options=GATE_SPEC),
        color=dict(type="str"),
        previous_color=dict(type="str"),
        namespace=dict(type="str"),
        services=dict(type="list", elements="str", default=[]),
        duration=dict(type="int", default=0),
        interval=dict(type="int", default=10),
        timeout=dict(type="int", default=10),
        validate_certs=dict(type="bool", default=True),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    fetch = prometheus_fetcher(params["prometheus_url"], timeout=params["timeout"], validate_certs=params["validate_certs"])
    context = dict((key, params[key]) for key in ("namespace", "color", "previous_color", "services"))
    try:
        outcome = watch_gates(params["gates"], fetch, context, params["duration"], params["interval"])
    except BlueGreenError as exc:
        module.fail_json(msg=exc.msg, passed=False)
    module.exit_json(changed=False, msg=summary(outcome, params["duration"]), **outcome)


if __name__ == "__main__":
    main()

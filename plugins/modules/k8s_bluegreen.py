#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_bluegreen
short_description: Switch a group of Kubernetes Services between two colors, all or nothing
version_added: 0.1.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Points every Service of a group at the O(target_color) Deployments by changing the O(color_label) key of each Service's
    selector, or, with O(state=rolled_back), back at the color recorded by the last switch.
  - The group moves as one. Before any write the module reads the group once and refuses, writing nothing, when a Service is
    missing, the Services disagree on the active color (unless O(repair=true)), a target Deployment is missing or not fully
    rolled out and ready, the target color has fewer ready replicas than the active one (with O(require_replica_parity=true)),
    the switched selector would select no ready Pod, another switch holds the lock, or a Prometheus gate fails.
  - The switch is serialised by a C(coordination.k8s.io/v1) Lease named C(bluegreen-lock) in O(namespace). A Lease held by
    another holder fails the task at once, naming the holder and when its lease expires; a Lease older than its duration is
    taken over. The Lease is released on every exit path.
  - Each Service is patched with its C(resourceVersion) as precondition (a JSON merge patch carrying C(metadata.resourceVersion)),
    so a concurrent edit is refused with 409 rather than overwritten. The same patch writes the audit annotations
    C(loyalty.platform/active-color), C(loyalty.platform/previous-color), C(loyalty.platform/switched-at) (UTC, ISO 8601),
    C(loyalty.platform/switch-id) and C(loyalty.platform/last-action).
  - Every switch, rollback or repair writes the same record (those five annotations) to every Service of the group, so after
    it each Service's annotations agree with each other and with its selector. A Service that already selects O(target_color)
    (only possible with O(repair=true)) gets the record alone, with the same C(resourceVersion) precondition and its selector
    untouched; these annotation-only patches are written first, before any selector moves.
  - After the last patch every Service is read back (selector and switch id) and, with O(verify_endpoints=true), the
    EndpointSlices of every Service that moved must hold ready endpoints that are all Pods of the target color, within
    O(wait_timeout) seconds.
  - If a patch or the verification fails, every Service already patched (or whose write may have landed) is put back to its
    previous selector and annotations, retrying with a fresh C(resourceVersion), and the task fails; a Service that got the
    record alone has its previous annotations put back, so a failed switch leaves no Service with a half-written record.
    A write that was refused, or that a re-read shows never landed, needs no revert. If a revert cannot be written, the
    failure message states exactly which Service selects which color, and names any Service whose annotations may still
    carry the failed switch's id (its selector is unchanged; a new O(repair=true) run writes one record again).
  - O(gates) are evaluated for the target color before any write (set O(prometheus_service) or O(prometheus_url) with
    them); a failing gate, or a Prometheus that cannot be reached,
    switches nothing. In a gate query C({color}) is the target color, C({previous_color}) the active color, C({namespace})
    O(namespace) and C({service}) each switched Service in turn.
  - Every switch, rollback or failed switch is recorded as a Kubernetes Event (reason C(BlueGreenSwitched),
    C(BlueGreenRolledBack) or C(BlueGreenSwitchFailed)) on the first Service, and in the module result.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - loyalty.platform.prometheus
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads and checks everything, then reports what would change; writes nothing, not even the Lease.
  diff_mode:
    support: full
    details: >-
      The diff shows the selector of each Service before and after. A Service whose record alone would be rewritten
      (O(repair=true)) shows no selector change; the message names it.
  platform:
    platforms: posix
options:
  namespace:
    description:
      - Namespace of the Services, Deployments and the C(bluegreen-lock) Lease.
    type: str
    required: true
  services:
    description:
      - Names of the Services switched as one group. Every one must exist.
    type: list
    elements: str
    required: true
  color_label:
    description:
      - The selector key (and Pod label) that tells the colors apart.
    type: str
    default: color
  target_color:
    description:
      - The color to switch the group to. Required with O(state=switched).
      - With O(state=rolled_back) it is optional; when given it must equal the recorded previous color.
    type: str
  state:
    description:
      - V(switched) puts every Service on O(target_color); nothing is written when the group already is there (with
        O(repair=true), when it is there with one true record; see O(repair)).
      - V(rolled_back) puts every Service back on the color recorded in their C(loyalty.platform/previous-color) annotation
        (which must agree), with the same checks. Rolling back a group that was already rolled back changes nothing.
    type: str
    choices: [switched, rolled_back]
    default: switched
  deployment_name:
    description:
      - Name of a Service's Deployment of a given color. C({service}) and C({color}) are replaced; C({color}) is required.
    type: str
    default: "{service}-{color}"
  wait_timeout:
    description:
      - Seconds to wait after the last patch for the EndpointSlices of every switched Service to hold only ready Pods of the
        target color. The EndpointSlice controller follows a selector change asynchronously; the slices are polled only
        while they have not converged, so a switch that converges at once does not sleep.
      - V(0) checks once.
    type: int
    default: 60
  patch_concurrency:
    description:
      - How many Service patches may be in flight at once. With V(1) the Services are patched one after the other, and
        after a refused patch none of the later ones is sent.
      - A higher value shortens the time during which the group selects both colors (a group of 40 Services moves in
        about as many round trips as this divides it into). The annotation-only patches of a repair still all end before
        the first selector patch is sent. After a refused patch no further one is sent; those already in flight are
        awaited and, like every patch that landed, reverted.
      - Between V(1) and V(32).
    type: int
    default: 1
  require_replica_parity:
    description:
      - Refuse to switch a Service whose target Deployment has fewer ready replicas than the Deployment of its active color.
    type: bool
    default: true
  verify_endpoints:
    description:
      - Verify the EndpointSlices (label C(kubernetes.io/service-name)) of each switched Service after the patches.
      - When V(false) only the selectors and switch ids are read back.
    type: bool
    default: true
  lease_ttl:
    description:
      - C(leaseDurationSeconds) of the C(bluegreen-lock) Lease. Another run may take over a lease older than this.
      - Must be longer than O(wait_timeout).
    type: int
    default: 300
  lease_holder:
    description:
      - Holder identity written to the Lease and to the Event. Defaults to the host name and process id of the module.
      - A run with the same identity may re-enter a lease it holds.
    type: str
  repair:
    description:
      - Allow switching a group whose Services disagree on the active color (or lack the O(color_label) key); every Service not
        already on O(target_color) is switched to it, and every Service of the group, moved or not, gets the new record.
      - The C(loyalty.platform/previous-color) a repair records (the color a later O(state=rolled_back) returns to, reported as
        RV(audit.rollback_color)) is the color the moved Services left when they all selected one; otherwise (they selected
        several, or lacked the key) the previous color the Services had recorded, when they all agree on one other than
        O(target_color); otherwise none, the annotation is removed from every Service, and a rollback is refused until a
        switch records one. RV(previous_color) of a repair of a mixed group is V(mixed).
      - With O(repair=true) a group that already selects O(target_color) everywhere is left alone only when its record is one
        true record (the same five annotations on every Service, naming the color each selects); otherwise the record alone
        is rewritten on every Service. Without O(repair), such a group is never written to.
    type: bool
    default: false
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
notes:
  - "API requests: a switch, rollback or repair of a group of N Services makes N + 10 requests when the EndpointSlices have
    converged by the first read-back: 4 reads (list Services, get Lease, list Deployments, list Pods of the target color),
    1 Lease create, N Service patches (one per Service of the group, also those a repair only re-records), 3 reads to
    verify (list Services, list EndpointSlices, list Pods; repeated per poll while the slices converge), 1 Event and
    1 Lease delete. Every list is one request per namespace, narrowed by a label selector where one
    applies. A request that changes nothing costs 1 request (list Services). Gate queries are not counted: through
    O(prometheus_service) each is one more (proxied) API request, through O(prometheus_url) none.
    The first run against a new API server also makes the Kubernetes client's discovery requests, which are cached."
  - The result key RV(api_requests) reports the number of API requests the run made.
  - "Objects the module expects: Services with a selector such as C(app: user-service, color: blue), Deployments named by
    O(deployment_name) whose Pods carry the O(color_label) label. The C(loyalty.platform.eks_apps) role creates them."
seealso:
  - module: loyalty.platform.k8s_bluegreen_info
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Switch the four loyalty services to green, all or nothing
  loyalty.platform.k8s_bluegreen:
    namespace: loyalty-system-production
    services: [user-service, point-service, rewards-service, admin-service]
    target_color: green

- name: Switch only if green's 5xx rate is low and every green pod is up (gates evaluated before any write)
  loyalty.platform.k8s_bluegreen:
    namespace: loyalty-system-production
    services: [user-service, point-service, rewards-service, admin-service]
    target_color: green
    prometheus_service: {namespace: monitoring, name: prometheus-server, port: "9090"}
    gates:
      - name: error-rate
        query: >-
          sum(rate(http_server_requests_seconds_count{namespace="{namespace}",color="{color}",status=~"5.."}[5m]))
          / sum(rate(http_server_requests_seconds_count{namespace="{namespace}",color="{color}"}[5m]))
        comparison: "<="
        threshold: 0.01
        allow_empty: true
      - name: pods-up
        query: min(up{namespace="{namespace}",service="{service}",color="{color}"})
        comparison: ">="
        threshold: 1

- name: Roll back to the color recorded by the last switch
  loyalty.platform.k8s_bluegreen:
    namespace: loyalty-system-production
    services: [user-service, point-service, rewards-service, admin-service]
    state: rolled_back

- name: Put a group left split by hand back on blue
  loyalty.platform.k8s_bluegreen:
    namespace: loyalty-system-staging
    services: [user-service, point-service, rewards-service, admin-service]
    target_color: blue
    repair: true
    kubeconfig: ~/.kube/staging
    context: staging

- name: Preview a switch
  loyalty.platform.k8s_bluegreen:
    namespace: loyalty-system-production
    services: [user-service, point-service, rewards-service, admin-service]
    target_color: green
  check_mode: true
  diff: true
  register: preview
"""

RETURN = r"""
msg:
  description: What was done, or why nothing was.
  returned: always
  type: str
  sample: "Switched Services user-service, point-service from user-service=blue, point-service=blue to green (switch-id 4c1f...)."
namespace:
  description: The namespace of the group.
  returned: success
  type: str
  sample: loyalty-system-production
state:
  description: The requested O(state).
  returned: success
  type: str
  sample: switched
target_color:
  description: The color the group was switched to (for O(state=rolled_back), the recorded previous color).
  returned: success
  type: str
  sample: green
active_color:
  description: The color every Service selects after the task, or V(mixed) when they disagree.
  returned: always
  type: str
  sample: green
previous_color:
  description:
    - The color the group selected before the switch (V(mixed) for a repaired group; the color such a repair records as the
      previous color is RV(audit.rollback_color)).
    - For a task that changed nothing, the color recorded in the C(loyalty.platform/previous-color) annotations, if they agree.
  returned: success
  type: str
  sample: blue
switch_id:
  description: UUID of this switch, also written to each Service's C(loyalty.platform/switch-id) annotation. Null when nothing was written.
  returned: always
  type: str
  sample: 0b6e1c7e-4d3f-4c1e-9d59-1f3f0e0e9a11
services:
  description: Each Service of the group with its selector and color before and after the task.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Service name.
      type: str
      sample: user-service
    before:
      description: Selector and color before the task.
      type: dict
      sample: {"selector": {"app": "user-service", "color": "blue"}, "color": "blue"}
    after:
      description: Selector and color after the task (on failure, the color each Service was left on).
      type: dict
      sample: {"selector": {"app": "user-service", "color": "green"}, "color": "green"}
gates:
  description: The result of each gate evaluation.
  returned: success
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
audit:
  description: The audit record of the switch, also written as annotations and as a Kubernetes Event.
  returned: when a switch was written
  type: dict
  contains:
    switch_id:
      description: UUID of the switch.
      type: str
    switched_at:
      description: UTC time of the switch, ISO 8601.
      type: str
      sample: "2025-03-01T12:00:00Z"
    action:
      description: V(switched) or V(rolled_back).
      type: str
    holder:
      description: The lease holder identity that made the switch.
      type: str
    from:
      description: The color before (V(mixed) for a repaired group).
      type: str
    to:
      description: The color after.
      type: str
    rollback_color:
      description:
        - The color written to every Service's C(loyalty.platform/previous-color) annotation, the one O(state=rolled_back)
          returns to. Equal to RV(audit.from) except after a repair (see O(repair)); null when no color could be recorded
          and the annotation was removed.
      type: str
      sample: blue
    services:
      description: The Services whose selector changed.
      type: list
      elements: str
    record_only:
      description: The Services that already selected the target color and got the record alone (a repair); empty otherwise.
      type: list
      elements: str
    event:
      description: The Event written (name, reason, type, message) and whether it could be recorded.
      type: dict
event:
  description: On failure, the C(BlueGreenSwitchFailed) Event written.
  returned: when a switch failed after the lock was taken
  type: dict
split:
  description:
    - On failure, whether the group was left on more than one color. After a failed switch or rollback, only when a revert
      could not be written; after a failed repair also when every revert was written, the group then being as split as the
      repair found it.
  returned: when a switch failed after the lock was taken
  type: bool
  sample: false
lease_released:
  description: Whether the C(bluegreen-lock) Lease was released.
  returned: when the lock was taken
  type: bool
  sample: true
api_requests:
  description: Number of Kubernetes API requests the task made.
  returned: always
  type: int
  sample: 14
diff:
  description: Selectors before and after, per Service (with C(--diff)).
  returned: when diff mode is on and something changed
  type: dict
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.api import BlueGreenApi
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.switch import default_holder, run_switch
from ansible_collections.loyalty.platform.plugins.module_utils.conventions import COLOR_LABEL, DEPLOYMENT_NAME
from ansible_collections.loyalty.platform.plugins.module_utils.kube_api import KubeApi
from ansible_collections.loyalty.platform.plugins.module_utils.prometheus_api import (
    PROMETHEUS_MUTUALLY_EXCLUSIVE,
    make_fetcher,
    prometheus_spec,
    validate_prometheus,
)


def argument_spec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        namespace=dict(type="str", required=True),
        services=dict(type="list", elements="str", required=True),
        color_label=dict(type="str", default=COLOR_LABEL),
        target_color=dict(type="str"),
        state=dict(type="str", default="switched", choices=["switched", "rolled_back"]),
        deployment_name=dict(type="str", default=DEPLOYMENT_NAME),
        wait_timeout=dict(type="int", default=60),
        patch_concurrency=dict(type="int", default=1),
        require_replica_parity=dict(type="bool", default=True),
        verify_endpoints=dict(type="bool", default=True),
        lease_ttl=dict(type="int", default=300),
        lease_holder=dict(type="str"),
        repair=dict(type="bool", default=False),
    )
    spec.update(prometheus_spec())
    return spec


def main():
    module = AnsibleK8SModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("state", "switched", ["target_color"])],
        mutually_exclusive=PROMETHEUS_MUTUALLY_EXCLUSIVE,
    )
    params = dict(module.params)
    params["lease_holder"] = params["lease_holder"] or default_holder()
    api = None
    try:
        problems = validate_prometheus(params)
        if problems:
            raise BlueGreenError("Invalid options: %s." % "; ".join(problems))
        client = get_api_client(module=module).client
        api = BlueGreenApi(client)
        fetch = make_fetcher(params, lambda timeout: KubeApi(client, request_timeout=timeout)) if params["gates"] else None
        result = run_switch(api, params, check_mode=module.check_mode, fetch=fetch)
    except BlueGreenError as exc:
        details = dict(exc.details)
        for warning in details.pop("warnings", []):
            module.warn(warning)
        details.setdefault("api_requests", api.requests if api else 0)
        details.setdefault("switch_id", None)
        module.fail_json(msg=exc.msg, **details)
    except CoreException as exc:
        module.fail_from_exception(exc)

    diff = result.pop("diff")
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if module._diff and result["changed"]:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()

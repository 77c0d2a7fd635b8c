# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The switch itself: read once, decide, lock, patch, verify, revert on any failure, audit.

Request budget of a switch of N Services (the figure DOCUMENTATION states):
reads before any write: list Services, get Lease, list Deployments, list Pods
of the target color (4); writes: create Lease, one patch per Service, one
Event, delete Lease (N + 3); verification: list Services, list EndpointSlices,
list Pods (3 per round, one round when the slices have converged). That is
N + 10 requests, a no-op is 1 request, and gates go to Prometheus, not the API.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen import plan
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.api import ApiError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.gates import evaluate_gates, prometheus_fetcher
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.lock import (
    LEASE_NAME,
    LeaseLock,
    acquire_decision,
    format_micro_time,
    format_time,
    utcnow,
)

REVERT_ATTEMPTS = 4
# Seconds between EndpointSlice polls after a switch: short first, then every half second.
VERIFY_INTERVALS = (0.02, 0.05, 0.1, 0.2, 0.5)
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
REASONS = {
    plan.ACTION_SWITCHED: "BlueGreenSwitched",
    plan.ACTION_ROLLED_BACK: "BlueGreenRolledBack",
}
REASON_FAILED = "BlueGreenSwitchFailed"
COMPONENT = "loyalty.platform.k8s_bluegreen"


def default_holder():
    """Lease holder identity of this run: host name and process id."""
    return "%s:%d" % (socket.gethostname(), os.getpid())


def validate_params(params):
    """Cross-field rules the argument spec cannot express."""
    problems = []
    services = params.get("services") or []
    if not services:
        problems.append("services must name at least one Service")
    duplicates = sorted(set(name for name in services if services.count(name) > 1))
    if duplicates:
        problems.append("services lists %s more than once" % ", ".join(duplicates))
    target = params.get("target_color")
    if target is not None and (not target or len(target) > 63 or not LABEL_VALUE.match(target)):
        problems.append("target_color %r is not a valid label value" % target)
    if "{color}" not in (params.get("deployment_name") or ""):
        problems.append("deployment_name %r must contain {color}, or both colors would name the same Deployment" % params.get("deployment_name"))
    if params.get("wait_timeout", 0) < 0:
        problems.append("wait_timeout must be 0 or more")
    if params.get("lease_ttl", 1) <= params.get("wait_timeout", 0):
        problems.append(
            "lease_ttl (%s) must be longer than wait_timeout (%s) so the lock outlives the verification"
            % (params.get("lease_ttl"), params.get("wait_timeout"))
        )
    if problems:
        raise BlueGreenError("Invalid options: %s." % "; ".join(problems))


def _color_or_mixed(views):
    color = plan.group_color(views)
    return color if color is not None else "mixed"


def _from_colors(changes):
    """`blue` when the switched Services shared one color, else each Service's color."""
    color = plan.group_color(changes)
    return color if color is not None else "(%s)" % plan.describe_colors(changes)


def _left_on(view, color_label, color):
    """Before/after of a Service a failed switch left on ``color`` (``unknown`` when it could not be read back)."""
    selector = dict(view["selector"])
    if color == "unknown":
        selector = None
    elif color is None:
        selector.pop(color_label, None)
    else:
        selector[color_label] = color
    return {"name": view["name"], "before": {"selector": dict(view["selector"]), "color": view["color"]},
            "after": {"selector": selector, "color": color}}


def _recorded_previous(views):
    recorded = set(view["annotations"].get(plan.ANNOTATION_PREVIOUS) for view in views)
    return recorded.pop() if len(recorded) == 1 else None


class Switch:
    """One run of k8s_bluegreen; ``run()`` returns the result dict or raises BlueGreenError."""

    def __init__(self, api, params, check_mode=False, fetch=None, clock=utcnow, new_id=None, sleep=time.sleep, monotonic=time.monotonic):
        validate_params(params)
        self.api = api
        self.params = params
        self.check_mode = check_mode
        self.namespace = params["namespace"]
        self.label = params["color_label"]
        self.fetch = fetch
        self.clock = clock
        self.new_id = new_id or (lambda: str(uuid.uuid4()))
        self.sleep = sleep
        self.monotonic = monotonic
        self.warnings = []
        self.lock = None
        self.released = None

    def run(self):
        try:
            return self._run()
        except ApiError as exc:
            # After the lock is taken _switch turns every error into a revert and a BlueGreenError, so this is a read.
            raise BlueGreenError(
                "A Kubernetes API request failed before anything was written: %s. Nothing was changed." % exc,
                api_requests=self.api.requests,
            ) from exc

    # Reading and deciding: no writes happen in this part.
    def _run(self):
        params, namespace, label = self.params, self.namespace, self.label
        services_by_name = plan.index_by_name(self.api.list_services(namespace))
        views = plan.group_views(services_by_name, params["services"], label, namespace)
        target, noop = plan.resolve_target(params["state"], params.get("target_color"), views, label)
        if noop:
            return self._result(False, "Nothing to do: %s." % noop, views, views, target, previous=_recorded_previous(views))

        changes = plan.services_to_switch(views, target, params["repair"], label)
        observed_lease = self.api.get_lease(namespace, LEASE_NAME)
        acquire_decision(observed_lease, params["lease_holder"], namespace, self.clock())

        deployments = plan.index_by_name(self.api.list_deployments(namespace))
        problems = plan.check_deployments(changes, target, deployments, params["deployment_name"], params["require_replica_parity"])
        pods = self.api.list_pods(namespace, label_selector="%s=%s" % (label, target))
        problems.extend(plan.endpoint_problems(changes, target, label, pods))
        plan.raise_problems(problems, "The %s color cannot take the traffic of %s" % (target, ", ".join(view["name"] for view in changes)))

        gate_results = []
        if params.get("gates"):
            fetch = self.fetch or prometheus_fetcher(params["prometheus_url"])
            gate_results, gate_problems = evaluate_gates(
                params["gates"], fetch, namespace, target, plan.group_color(views), [view["name"] for view in changes]
            )
            plan.raise_problems(gate_problems, "A gate refused the switch to %s" % target)

        planned = dict((view["name"], dict(view, selector=plan.switched_selector(view, label, target), color=target)) for view in changes)
        after_views = [planned.get(view["name"], view) for view in views]
        action = params["state"]
        verb = "switch" if action == plan.ACTION_SWITCHED else "roll back"
        if self.check_mode:
            msg = "Would %s %s from %s to %s." % (verb, ", ".join(planned), _from_colors(changes), target)
            return self._result(True, msg, views, after_views, target, previous=_color_or_mixed(views), gates=gate_results)

        self.lock = LeaseLock(self.api, namespace, params["lease_holder"], params["lease_ttl"], clock=self.clock)
        self.lock.acquire(observed_lease)
        try:
            result = self._switch(views, changes, target, action, gate_results)
        except BlueGreenError as exc:
            self._release()
            exc.details.update(self._bookkeeping())
            raise
        finally:
            # Every exit path, including ones nobody foresaw, gives the lock back.
            self._release()
        result.update(self._bookkeeping())
        return result

    def _release(self):
        if self.released is None:
            self.released = self.lock.release()
            if not self.released:
                self.warnings.append(self.lock.release_problem)
        return self.released

    def _bookkeeping(self):
        return {"api_requests": self.api.requests, "warnings": list(self.warnings), "lease_released": bool(self.released)}

    # Writing: every path out of here leaves the group on one color, or says exactly which Service is where.
    def _switch(self, views, changes, target, action, gate_results):
        namespace, label = self.namespace, self.label
        switch_id = self.new_id()
        switched_at = format_time(self.clock())
        outcomes = [(view["name"], plan.UNTOUCHED) for view in changes]
        returned = {}
        failure = None
        try:
            for index, view in enumerate(changes):
                patch = plan.switch_patch(view, target, label, switched_at, switch_id, action)
                # Until the API answers, the write may have landed: anything raised in between leaves it to be re-read and reverted.
                outcomes[index] = (view["name"], plan.AMBIGUOUS)
                try:
                    returned[view["name"]] = self.api.patch_service(namespace, view["name"], patch)
                    outcomes[index] = (view["name"], plan.APPLIED)
                except ApiError as exc:
                    outcomes[index] = (view["name"], plan.classify_patch_error(exc.status))
                    conflict = " (someone else changed it since it was read)" if exc.status == 409 else ""
                    failure = "patching Service %s failed%s: %s" % (view["name"], conflict, exc)
                    break
            if failure is None:
                problems = self._verify(changes, target, switch_id)
                if problems:
                    failure = "verification after the switch failed: %s" % "; ".join(problems)
        except ApiError as exc:
            failure = "re-reading the group after the switch failed: %s" % exc
        except Exception as exc:  # pylint: disable=broad-except
            # Whatever went wrong mid-switch, the Services already changed must go back before we fail.
            failure = "unexpected error during the switch: %r" % exc

        views_by_name = dict((view["name"], view) for view in views)
        previous = _color_or_mixed(views)
        if failure is None:
            after = dict((name, plan.service_view(obj, label)) for name, obj in returned.items())
            after_views = [after.get(view["name"], view) for view in views]
            verb = "Switched" if action == plan.ACTION_SWITCHED else "Rolled back"
            message = "%s Services %s from %s to %s (switch-id %s)." % (verb, ", ".join(after), _from_colors(changes), target, switch_id)
            event = self._event(views, REASONS[action], "Normal", message, switch_id)
            return self._result(
                True, message, views, after_views, target, previous=previous, switch_id=switch_id, switched_at=switched_at,
                gates=gate_results, event=event, action=action,
            )

        colors, reverted, unreverted = self._revert(views_by_name, outcomes, returned, switch_id)
        final = [dict(views_by_name[name], color=color) for name, color in colors.items()]
        split = plan.group_split(colors)
        state = ", ".join("%s=%s" % item for item in colors.items())
        if unreverted:
            outcome = (
                "Could not revert %s; the group is SPLIT: %s. Put it back on one color with state=switched, repair=true and "
                "target_color=%s." % ("; ".join("%s (%s)" % item for item in unreverted.items()), state, views_by_name[changes[0]["name"]]["color"])
            )
        else:
            outcome = "%s; every Service is back on its previous color (%s)." % (
                "Reverted %s" % ", ".join(reverted) if reverted else "Nothing had been changed", state,
            )
        message = "Switch of %s to %s failed: %s. %s" % (", ".join(view["name"] for view in changes), target, failure, outcome)
        event = self._event(views, REASON_FAILED, "Warning", message, switch_id)
        raise BlueGreenError(
            message,
            switch_id=switch_id,
            active_color="mixed" if split else _color_or_mixed(final),
            services=[_left_on(views_by_name[name], label, color) for name, color in colors.items()],
            split=split,
            event=event,
        )

    def _verify(self, changes, target, switch_id):
        """Re-read the Services and the target pods once, then poll the EndpointSlices until they converge or
        wait_timeout passes. The endpoint controller follows a selector within milliseconds to a second, so the
        polls start short and back off (VERIFY_INTERVALS), one request each."""
        namespace, label = self.namespace, self.label
        deadline = self.monotonic() + self.params["wait_timeout"]
        services_by_name = plan.index_by_name(self.api.list_services(namespace))
        problems = plan.verify_selectors(changes, target, label, switch_id, services_by_name)
        if problems or not self.params["verify_endpoints"]:
            return problems
        pods = self.api.list_pods(namespace, label_selector="%s=%s" % (label, target))
        attempt = 0
        while True:
            slices = self.api.list_endpointslices(namespace, label_selector=plan.SLICE_SERVICE_LABEL)
            problems = plan.verify_endpoints(changes, target, label, services_by_name, slices, pods)
            remaining = deadline - self.monotonic()
            if not problems or remaining <= 0:
                return problems
            self.sleep(min(VERIFY_INTERVALS[min(attempt, len(VERIFY_INTERVALS) - 1)], remaining))
            attempt += 1

    def _revert(self, views_by_name, outcomes, returned, switch_id):
        """Put back every Service the switch changed (or may have changed); returns ``({service: color}, {service: why not})``."""
        namespace, label = self.namespace, self.label
        colors = dict((name, view["color"]) for name, view in views_by_name.items())
        for name, outcome in outcomes:
            if outcome == plan.APPLIED:
                colors[name] = plan.service_view(returned[name], label)["color"]
        unreverted, reverted = {}, []
        for name in plan.revert_plan(outcomes):
            original = views_by_name[name]
            resource_version = (returned.get(name) or {}).get("metadata", {}).get("resourceVersion")
            last_error = None
            for attempt in range(REVERT_ATTEMPTS):
                try:
                    if resource_version is None:
                        current = plan.service_view(self.api.get_service(namespace, name), label)
                        colors[name] = current["color"]
                        if current["color"] == original["color"] and current["annotations"].get(plan.ANNOTATION_SWITCH_ID) != switch_id:
                            break
                        resource_version = current["resource_version"]
                    answer = self.api.patch_service(namespace, name, plan.revert_patch(original, label, resource_version))
                    colors[name] = plan.service_view(answer, label)["color"]
                    reverted.insert(0, name)
                    break
                except ApiError as exc:
                    last_error = exc
                    resource_version = None
                    if attempt + 1 < REVERT_ATTEMPTS:
                        self.sleep(0.2 * (attempt + 1))
            else:
                unreverted[name] = str(last_error)
                if outcomes and dict(outcomes).get(name) == plan.AMBIGUOUS and colors[name] == original["color"]:
                    colors[name] = "unknown"
        return colors, reverted, unreverted

    def _event(self, views, reason, event_type, message, switch_id):
        """One core/v1 Event per switch on the first Service; a failure to record it is a warning, not a failed switch."""
        first = views[0]
        now = format_micro_time(self.clock())
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "%s.%s" % (first["name"], switch_id.replace("-", "")[:16]), "namespace": self.namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Service", "name": first["name"], "namespace": self.namespace, "uid": first["uid"]},
            "reason": reason,
            "message": message[:1024],
            "type": event_type,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self.params["lease_holder"][:128],
            "firstTimestamp": now[:19] + "Z",
            "lastTimestamp": now[:19] + "Z",
            "count": 1,
        }
        record = {"name": body["metadata"]["name"], "reason": reason, "type": event_type, "message": body["message"], "recorded": True}
        try:
            self.api.create_event(self.namespace, body)
        except ApiError as exc:
            record["recorded"] = False
            self.warnings.append("could not record Event %s: %s" % (body["metadata"]["name"], exc))
        return record

    def _result(self, changed, msg, views, after_views, target, previous=None, switch_id=None, switched_at=None, gates=None, event=None, action=None):
        after_by_name = dict((view["name"], view) for view in after_views)
        services = [plan.service_report(view, after_by_name[view["name"]]) for view in views]
        result = {
            "changed": changed,
            "msg": msg,
            "namespace": self.namespace,
            "state": self.params["state"],
            "target_color": target,
            "active_color": _color_or_mixed(after_views) if not self.check_mode else _color_or_mixed(views),
            "previous_color": previous,
            "switch_id": switch_id,
            "services": services,
            "gates": gates or [],
            "api_requests": self.api.requests,
            "diff": plan.diff_of(views, after_views),
        }
        if switch_id:
            result["audit"] = {
                "switch_id": switch_id,
                "switched_at": switched_at,
                "action": action,
                "holder": self.params["lease_holder"],
                "from": previous,
                "to": target,
                "services": [item["name"] for item in services if item["before"]["color"] != item["after"]["color"]],
                "event": event,
            }
        return result


def run_switch(api, params, check_mode=False, **kwargs):
    return Switch(api, params, check_mode=check_mode, **kwargs).run()

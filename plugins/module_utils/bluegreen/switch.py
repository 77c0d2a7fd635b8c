# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The switch itself: read once, decide, lock, patch, verify, revert on any failure, audit.

Every switch (normal, rollback or repair) writes the same audit record to
every Service of the group: the selector and the record in one patch for a
Service that moves, the record alone for one that already selects the target
(a repair). All or nothing: a failure puts back the selectors and the records.

Request budget of a switch of a group of N Services (the figure DOCUMENTATION
states): reads before any write: list Services, then get Lease, list
Deployments and list Pods of the target color at once (4); writes: create
Lease, one patch per Service of the group (moved or re-recorded), in order, one
Event, delete Lease (N + 3); verification: list Services, list Pods and list
EndpointSlices at once, then one EndpointSlice list per further round until
they have converged (3 when the first reading shows them converged). That is
N + 10 requests; a no-op is 1 request. Gate queries are not counted here
(DOCUMENTATION says what they cost).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen import plan
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.api import ApiError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.gates import evaluate_gates
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.lock import (
    LEASE_NAME,
    LeaseLock,
    acquire_decision,
    format_micro_time,
    format_time,
    utcnow,
)

REVERT_ATTEMPTS = 4
# Independent reads (the Lease, the Deployments and the Pods before the switch; the Services, Pods and EndpointSlices
# after it) go out at once, each on its own connection: they do not depend on one another's answers.
PARALLEL_READS = 3
# The most Service patches option patch_concurrency may have in flight at once.
MAX_PATCH_CONCURRENCY = 32
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
    concurrency = params.get("patch_concurrency")
    if concurrency is not None and not 1 <= concurrency <= MAX_PATCH_CONCURRENCY:
        problems.append("patch_concurrency must be between 1 and %d (got %s)" % (MAX_PATCH_CONCURRENCY, params.get("patch_concurrency")))
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
    return plan.agreed(view["annotations"].get(plan.ANNOTATION_PREVIOUS) for view in views)


def _names(views):
    return ", ".join(view["name"] for view in views)


def _resource_version(obj):
    return ((obj or {}).get("metadata") or {}).get("resourceVersion")


def _patch_failure(name, exc):
    conflict = " (someone else changed it since it was read)" if exc.status == 409 else ""
    return "patching Service %s failed%s: %s" % (name, conflict, exc)


def _plan_message(verb, changes, target, record_only):
    """`switch a, b from blue to green`, and the Services whose record alone is rewritten (a repair)."""
    parts = []
    if changes:
        parts.append("%s %s from %s to %s" % (verb, _names(changes), _from_colors(changes), target))
    if record_only:
        parts.append("rewrite the audit record of %s (already on %s)" % (_names(record_only), target))
    return " and ".join(parts)


def _done_message(attempt):
    """What a switch that went through did, for the result and its Event."""
    if attempt.changes:
        verb = "Switched" if attempt.action == plan.ACTION_SWITCHED else "Rolled back"
        text = "%s Services %s from %s to %s" % (verb, _names(attempt.changes), _from_colors(attempt.changes), attempt.target)
        if attempt.record_only:
            text += "; rewrote the audit record of %s (already on %s)" % (_names(attempt.record_only), attempt.target)
    else:
        text = "Rewrote the audit record of Services %s (already on %s)" % (_names(attempt.record_only), attempt.target)
    return "%s (switch-id %s)." % (text, attempt.switch_id)


def _revert_outcome(attempt, colors, reverted, unreverted):
    """Where a failed switch left the group: reverted, SPLIT (a selector could not be put back), or a record left behind."""
    state = ", ".join("%s=%s" % item for item in colors.items())
    moved_left = [(name, why) for name, why in unreverted.items() if attempt.selector_changes(name)]
    record_left = [(name, why) for name, why in unreverted.items() if not attempt.selector_changes(name)]
    if moved_left:
        text = (
            "Could not revert %s; the group is SPLIT: %s. Put it back on one color with state=switched, repair=true and "
            "target_color=%s." % ("; ".join("%s (%s)" % item for item in moved_left), state, attempt.by_name()[attempt.changes[0]["name"]]["color"])
        )
    else:
        names = ", ".join(name if attempt.selector_changes(name) else "%s (audit record)" % name for name in reverted)
        text = "%s; every Service is back on its previous color (%s)." % ("Reverted %s" % names if reverted else "Nothing had been changed", state)
    if record_left:
        text += (
            " Could not restore the audit record of %s; its selector is unchanged but its annotations may still name switch-id %s: "
            "re-run with state=switched and repair=true to write one record." % ("; ".join("%s (%s)" % item for item in record_left), attempt.switch_id)
        )
    return text


class Attempt:
    """One switch being written: what moves, the record every Service gets, and how each write went."""

    def __init__(self, views, changes, target, action, switch_id, switched_at):
        self.views = views
        self.changes = changes
        self.target = target
        self.action = action
        self.switch_id = switch_id
        self.switched_at = switched_at
        self.rollback_color = plan.rollback_color(views, changes, target)
        self.record = plan.audit_annotations(target, self.rollback_color, switched_at, switch_id, action)
        self.record_only = plan.services_on_target(views, target)
        self.patched = plan.patch_order(views, target)
        # (name, outcome) in patch order, for plan.revert_plan; the API's answer to each patch that went through.
        self.outcomes = [(view["name"], plan.UNTOUCHED) for view in self.patched]
        self.returned = {}
        self._moved = set(view["name"] for view in changes)

    def selector_changes(self, name):
        """False for a Service whose patch writes only the record."""
        return name in self._moved

    def by_name(self):
        return dict((view["name"], view) for view in self.views)


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
        params = self.params
        views = plan.group_views(plan.index_by_name(self.api.list_services(self.namespace)), params["services"], self.label, self.namespace)
        target, noop = plan.resolve_target(params["state"], params.get("target_color"), views, self.label)
        if noop and not (params["repair"] and not plan.record_is_true(views)):
            # With repair, a group already on the target whose record is not one true record gets it rewritten.
            return self._result(False, "Nothing to do: %s." % noop, views, views, target, previous=_recorded_previous(views))

        changes = plan.services_to_switch(views, target, params["repair"], self.label)
        observed_lease, deployments, pods = self._together(
            lambda: self.api.get_lease(self.namespace, LEASE_NAME),
            lambda: self.api.list_deployments(self.namespace),
            lambda: self.api.list_pods(self.namespace, label_selector="%s=%s" % (self.label, target)),
        )
        acquire_decision(observed_lease, params["lease_holder"], self.namespace, self.clock())
        self._check_target(changes, target, plan.index_by_name(deployments), pods)
        gate_results = self._evaluate_gates(views, changes, target)
        if self.check_mode:
            return self._preview(views, changes, target, gate_results)
        return self._switch_locked(observed_lease, views, changes, target, gate_results)

    def _together(self, *calls):
        """Run independent reads at once; their answers in call order. The first error (in call order) is raised once
        every call has ended, so nothing is left running behind a failure."""
        if len(calls) < 2:
            return [call() for call in calls]
        with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(calls))) as pool:
            futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]

    def _check_target(self, changes, target, deployments, pods):
        """The target Deployments and Pods of every Service that moves must be able to take its traffic."""
        problems = plan.check_deployments(changes, target, deployments, self.params["deployment_name"], self.params["require_replica_parity"])
        problems.extend(plan.endpoint_problems(changes, target, self.label, pods))
        plan.raise_problems(problems, "The %s color cannot take the traffic of %s" % (target, _names(changes)))

    def _evaluate_gates(self, views, changes, target):
        if not self.params.get("gates"):
            return []
        gate_results, gate_problems = evaluate_gates(
            self.params["gates"], self.fetch, self.namespace, target, plan.group_color(views), [view["name"] for view in changes]
        )
        plan.raise_problems(gate_problems, "A gate refused the switch to %s" % target)
        return gate_results

    def _preview(self, views, changes, target, gate_results):
        """Check mode: the selectors the switch would write; Services already on the target keep theirs."""
        planned = dict((view["name"], dict(view, selector=plan.switched_selector(view, self.label, target), color=target)) for view in changes)
        after_views = [planned.get(view["name"], view) for view in views]
        verb = "switch" if self.params["state"] == plan.ACTION_SWITCHED else "roll back"
        msg = "Would %s." % _plan_message(verb, changes, target, plan.services_on_target(views, target))
        return self._result(True, msg, views, after_views, target, previous=_color_or_mixed(views), gates=gate_results)

    def _switch_locked(self, observed_lease, views, changes, target, gate_results):
        self.lock = LeaseLock(self.api, self.namespace, self.params["lease_holder"], self.params["lease_ttl"], clock=self.clock)
        self.lock.acquire(observed_lease)
        try:
            result = self._switch(views, changes, target, self.params["state"], gate_results)
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

    # Writing: every path out of here leaves the group on one color and one record, or says exactly which Service is where.
    def _switch(self, views, changes, target, action, gate_results):
        attempt = Attempt(views, changes, target, action, self.new_id(), format_time(self.clock()))
        failure = self._write_and_verify(attempt)
        if failure is None:
            return self._succeeded(attempt, gate_results)
        return self._failed(attempt, failure)

    def _write_and_verify(self, attempt):
        """Patch every Service, then verify; returns why the switch failed, or None."""
        try:
            failure = self._patch_all(attempt)
            if failure is None:
                problems = self._verify(attempt.patched, attempt.changes, attempt.target, attempt.switch_id)
                if problems:
                    failure = "verification after the switch failed: %s" % "; ".join(problems)
            return failure
        except ApiError as exc:
            return "re-reading the group after the switch failed: %s" % exc
        except Exception as exc:  # pylint: disable=broad-except
            # Whatever went wrong mid-switch, the Services already changed must go back before we fail.
            return "unexpected error during the switch: %r" % exc

    def _patch_all(self, attempt):
        """One preconditioned patch per Service: the annotation-only ones, then the selector ones, each batch
        ``patch_concurrency`` at a time. After the first refusal no further patch is sent; the ones already in flight
        are awaited, and their answers decide their revert. ``attempt.outcomes`` follows along."""
        first_moving = len(attempt.record_only)  # plan.patch_order puts the annotation-only patches first
        for batch in (range(0, first_moving), range(first_moving, len(attempt.patched))):
            failure = self._patch_batch(attempt, batch)
            if failure is not None:
                return failure
        return None

    def _patch_batch(self, attempt, indexes):
        concurrency = self.params.get("patch_concurrency") or 1
        if concurrency <= 1 or len(indexes) <= 1:
            for index in indexes:
                failure = self._patch_one(attempt, index)
                if failure is not None:
                    return failure
            return None
        refused = threading.Event()

        def send(index):
            if refused.is_set():
                return None  # never sent: the Service stays untouched
            try:
                failure = self._patch_one(attempt, index)
            except BaseException:
                refused.set()
                raise
            if failure is not None:
                refused.set()
            return failure

        with ThreadPoolExecutor(max_workers=min(concurrency, len(indexes))) as pool:
            futures = [pool.submit(send, index) for index in indexes]
        # Every patch has ended here; an unexpected error is raised for _write_and_verify to revert.
        failures = [future.result() for future in futures]
        return next((failure for failure in failures if failure is not None), None)

    def _patch_one(self, attempt, index):
        view = attempt.patched[index]
        patch = plan.switch_patch(view, attempt.target, self.label, attempt.record)
        # Until the API answers, the write may have landed: anything raised in between leaves it to be re-read and reverted.
        attempt.outcomes[index] = (view["name"], plan.AMBIGUOUS)
        try:
            attempt.returned[view["name"]] = self.api.patch_service(self.namespace, view["name"], patch)
            attempt.outcomes[index] = (view["name"], plan.APPLIED)
        except ApiError as exc:
            attempt.outcomes[index] = (view["name"], plan.classify_patch_error(exc.status))
            return _patch_failure(view["name"], exc)
        return None

    def _succeeded(self, attempt, gate_results):
        after = dict((name, plan.service_view(obj, self.label)) for name, obj in attempt.returned.items())
        after_views = [after.get(view["name"], view) for view in attempt.views]
        message = _done_message(attempt)
        event = self._event(attempt.views, REASONS[attempt.action], "Normal", message, attempt.switch_id)
        return self._result(True, message, attempt.views, after_views, attempt.target, previous=_color_or_mixed(attempt.views),
                            gates=gate_results, attempt=attempt, event=event)

    def _failed(self, attempt, failure):
        """Revert, record a Warning Event and raise a BlueGreenError saying where every Service was left."""
        views_by_name = attempt.by_name()
        colors, reverted, unreverted = self._revert(attempt)
        final = [dict(views_by_name[name], color=color) for name, color in colors.items()]
        split = plan.group_split(colors)
        message = "Switch of %s to %s failed: %s. %s" % (
            _names(attempt.views), attempt.target, failure, _revert_outcome(attempt, colors, reverted, unreverted),
        )
        event = self._event(attempt.views, REASON_FAILED, "Warning", message, attempt.switch_id)
        raise BlueGreenError(
            message,
            switch_id=attempt.switch_id,
            active_color="mixed" if split else _color_or_mixed(final),
            services=[_left_on(views_by_name[name], self.label, color) for name, color in colors.items()],
            split=split,
            event=event,
        )

    def _verify(self, patched, changes, target, switch_id):
        """Re-read the Services once: every patched one must select the target and carry our switch-id. Then, with
        verify_endpoints, the EndpointSlices of the Services that moved must follow (``_await_endpoints``). The
        Services, the target Pods and a first reading of the EndpointSlices are read at once."""
        deadline = self.monotonic() + self.params["wait_timeout"]
        reads = [lambda: self.api.list_services(self.namespace)]
        if self.params["verify_endpoints"]:
            reads.append(lambda: self.api.list_pods(self.namespace, label_selector="%s=%s" % (self.label, target)))
            reads.append(lambda: self.api.list_endpointslices(self.namespace, label_selector=plan.SLICE_SERVICE_LABEL))
        answers = self._together(*reads)
        services_by_name = plan.index_by_name(answers[0])
        problems = plan.verify_selectors(patched, target, self.label, switch_id, services_by_name)
        if problems or not self.params["verify_endpoints"]:
            return problems
        return self._await_endpoints(changes, target, services_by_name, answers[1], answers[2], deadline)

    def _await_endpoints(self, changes, target, services_by_name, pods, slices, deadline):
        """Check the EndpointSlices, and read them again until they converge or wait_timeout passes. The
        endpoint controller follows a selector within milliseconds to a second, so the polls start short and back
        off (VERIFY_INTERVALS), one request each."""
        attempt = 0
        while True:
            if attempt:
                slices = self.api.list_endpointslices(self.namespace, label_selector=plan.SLICE_SERVICE_LABEL)
            problems = plan.verify_endpoints(changes, target, self.label, services_by_name, slices, pods)
            remaining = deadline - self.monotonic()
            if not problems or remaining <= 0:
                return problems
            self.sleep(min(VERIFY_INTERVALS[min(attempt, len(VERIFY_INTERVALS) - 1)], remaining))
            attempt += 1

    def _revert(self, attempt):
        """Put back every Service the switch changed (or may have changed), newest first.

        Returns ``({service: color}, [reverted], {service: why not})``; a Service whose revert could not be
        written after an unanswered switch patch is on color ``unknown``.
        """
        views_by_name = attempt.by_name()
        outcomes = dict(attempt.outcomes)
        colors = dict((name, view["color"]) for name, view in views_by_name.items())
        for name, obj in attempt.returned.items():
            colors[name] = plan.service_view(obj, self.label)["color"]
        reverted, unreverted = [], {}
        for name in plan.revert_plan(attempt.outcomes):
            original = views_by_name[name]
            selector = attempt.selector_changes(name)
            done, error = self._revert_service(original, _resource_version(attempt.returned.get(name)), attempt.switch_id, selector, colors)
            if done:
                reverted.insert(0, name)
            elif error is not None:
                unreverted[name] = str(error)
                if selector and outcomes[name] == plan.AMBIGUOUS and colors[name] == original["color"]:
                    colors[name] = "unknown"
        return colors, reverted, unreverted

    def _revert_service(self, original, resource_version, switch_id, selector, colors):
        """Retry one Service's revert up to REVERT_ATTEMPTS times, re-reading it after each error.

        Returns ``(reverted, last error)``: ``(False, None)`` when the re-read shows our write never landed.
        ``colors[name]`` follows every read and write of the Service.
        """
        error = None
        for attempt in range(REVERT_ATTEMPTS):
            if attempt:
                self.sleep(0.2 * attempt)
            try:
                return self._revert_once(original, resource_version, switch_id, selector, colors), None
            except ApiError as exc:
                error, resource_version = exc, None
        return False, error

    def _revert_once(self, original, resource_version, switch_id, selector, colors):
        """One revert write, preconditioned on ``resource_version`` (re-read first when it is None); False when there was nothing to put back."""
        name = original["name"]
        if resource_version is None:
            current = plan.service_view(self.api.get_service(self.namespace, name), self.label)
            colors[name] = current["color"]
            if not plan.write_landed(current, original, switch_id):
                return False
            resource_version = current["resource_version"]
        answer = self.api.patch_service(self.namespace, name, plan.revert_patch(original, self.label, resource_version, selector=selector))
        colors[name] = plan.service_view(answer, self.label)["color"]
        return True

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

    def _result(self, changed, msg, views, after_views, target, previous=None, gates=None, attempt=None, event=None):
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
            "switch_id": attempt.switch_id if attempt else None,
            "services": services,
            "gates": gates or [],
            "api_requests": self.api.requests,
            "diff": plan.diff_of(views, after_views),
        }
        if attempt:
            result["audit"] = self._audit(attempt, services, previous, event)
        return result

    def _audit(self, attempt, services, previous, event):
        return {
            "switch_id": attempt.switch_id,
            "switched_at": attempt.switched_at,
            "action": attempt.action,
            "holder": self.params["lease_holder"],
            "from": previous,
            "to": attempt.target,
            "rollback_color": attempt.rollback_color,
            "services": [item["name"] for item in services if item["before"]["color"] != item["after"]["color"]],
            "record_only": [view["name"] for view in attempt.record_only],
            "event": event,
        }


def run_switch(api, params, check_mode=False, **kwargs):
    return Switch(api, params, check_mode=check_mode, **kwargs).run()

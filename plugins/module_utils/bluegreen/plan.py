# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure decision logic of a blue/green switch.

Every function here takes plain data (the JSON of Kubernetes objects as the
API returns it) and returns plain data, so the rules can be tested without a
cluster. Problems are collected and reported together, each naming the Service
or Deployment and what to change.
"""

from __future__ import annotations

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.kube_api import pod_ready

ANNOTATION_ACTIVE = "loyalty.platform/active-color"
ANNOTATION_PREVIOUS = "loyalty.platform/previous-color"
ANNOTATION_SWITCHED_AT = "loyalty.platform/switched-at"
ANNOTATION_SWITCH_ID = "loyalty.platform/switch-id"
ANNOTATION_LAST_ACTION = "loyalty.platform/last-action"
AUDIT_ANNOTATIONS = (ANNOTATION_ACTIVE, ANNOTATION_PREVIOUS, ANNOTATION_SWITCHED_AT, ANNOTATION_SWITCH_ID, ANNOTATION_LAST_ACTION)

ACTION_SWITCHED = "switched"
ACTION_ROLLED_BACK = "rolled_back"

SLICE_SERVICE_LABEL = "kubernetes.io/service-name"
NO_COLOR = "(no color key)"


def render_name(template, service, color):
    """Fill the `{service}` and `{color}` placeholders of a name template.

    Plain replacement rather than str.format, so other braces are left alone.
    """
    return template.replace("{service}", service).replace("{color}", str(color))


def index_by_name(items):
    return dict((item.get("metadata", {}).get("name"), item) for item in items or [])


def service_view(service, color_label):
    """The parts of a Service object that a switch reads and restores."""
    metadata = service.get("metadata", {})
    selector = dict((service.get("spec") or {}).get("selector") or {})
    return {
        "name": metadata.get("name"),
        "uid": metadata.get("uid"),
        "resource_version": metadata.get("resourceVersion"),
        "selector": selector,
        "color": selector.get(color_label),
        "annotations": dict(metadata.get("annotations") or {}),
    }


def group_views(services_by_name, names, color_label, namespace):
    """Views of the named Services, in the order given; every one must exist."""
    missing = [name for name in names if name not in services_by_name]
    if missing:
        raise BlueGreenError(
            "Service %s not found in namespace %s; create %s (the eks_apps role does) or remove %s from services. Nothing was changed."
            % (", ".join(missing), namespace, "it" if len(missing) == 1 else "them", "it" if len(missing) == 1 else "them"),
            missing_services=missing,
        )
    return [service_view(services_by_name[name], color_label) for name in names]


def describe_colors(views):
    """`user-service=blue, point-service=green` for messages."""
    return ", ".join("%s=%s" % (view["name"], view["color"] if view["color"] is not None else NO_COLOR) for view in views)


def group_color(views):
    """The color every Service selects, or None when the group is mixed (or a selector lacks the key)."""
    colors = set(view["color"] for view in views)
    if len(colors) == 1 and None not in colors:
        return colors.pop()
    return None


def resolve_target(state, target_color, views, color_label):
    """Decide the color to switch to.

    Returns ``(target, noop_reason)``; ``noop_reason`` is set when the group is
    already where the request wants it, so nothing at all is written.
    """
    active = group_color(views)
    if state == ACTION_SWITCHED:
        if active is not None and active == target_color:
            return target_color, "every Service already selects %s=%s" % (color_label, target_color)
        return target_color, None

    actions = set(view["annotations"].get(ANNOTATION_LAST_ACTION) for view in views)
    if active is not None and actions == {ACTION_ROLLED_BACK}:
        if target_color is None or target_color == active:
            return active, "the group was already rolled back to %s" % active
    previous = dict((view["name"], view["annotations"].get(ANNOTATION_PREVIOUS)) for view in views)
    unrecorded = [name for name, color in previous.items() if not color]
    if unrecorded:
        raise BlueGreenError(
            "Service %s has no %s annotation, so there is no recorded color to roll back to; switch explicitly with "
            "state=switched and target_color. Nothing was changed." % (", ".join(unrecorded), ANNOTATION_PREVIOUS)
        )
    recorded = set(previous.values())
    if len(recorded) != 1:
        raise BlueGreenError(
            "The Services disagree on the previous color (%s); roll back explicitly with state=switched and target_color. Nothing was changed."
            % ", ".join("%s=%s" % item for item in previous.items())
        )
    target = recorded.pop()
    if target_color is not None and target_color != target:
        raise BlueGreenError(
            "target_color=%s but the recorded previous color is %s; omit target_color with state=rolled_back or use state=switched. "
            "Nothing was changed." % (target_color, target)
        )
    if active is not None and active == target:
        return target, "every Service already selects %s=%s" % (color_label, target)
    return target, None


def services_to_switch(views, target, repair, color_label):
    """The Services whose selector must change; a mixed group is refused unless repair is set."""
    if group_color(views) is None and not repair:
        raise BlueGreenError(
            "The Services do not agree on the active %s (%s); traffic is split. Re-run with repair: true and target_color "
            "to put every Service on one color. Nothing was changed." % (color_label, describe_colors(views)),
            colors=dict((view["name"], view["color"]) for view in views),
        )
    return [view for view in views if view["color"] != target]


def services_on_target(views, target):
    """The Services a switch to ``target`` only re-records: their selector already selects it (after a repair)."""
    return [view for view in views if view["color"] == target]


def patch_order(views, target):
    """Every Service of the group, in the order a switch writes them.

    The annotation-only writes go first: a refusal there fails the switch
    before any selector, and so any traffic, has moved.
    """
    return services_on_target(views, target) + [view for view in views if view["color"] != target]


def agreed(values):
    """The one value every item has, or None when they differ (or there are none)."""
    values = set(values)
    return values.pop() if len(values) == 1 else None


def rollback_color(views, changes, target):
    """The previous color a switch to ``target`` records on every Service: the color a later rollback returns to.

    The color the switched Services leave, when they share one (always so
    outside a repair). Otherwise (a repair of Services on several colors, or
    one that only rewrites the record) the previous color the group had
    recorded, if every Service agrees on it and it is not the target; else
    None: the annotation is removed and a rollback is refused until a switch
    records one.
    """
    left = group_color(changes) if changes else None
    if left is not None:
        return left
    recorded = agreed(view["annotations"].get(ANNOTATION_PREVIOUS) for view in views)
    return recorded if recorded != target else None


def record_is_true(views):
    """True when every Service carries one and the same audit record, and its active color is the color it selects."""
    records = set(tuple(view["annotations"].get(key) for key in AUDIT_ANNOTATIONS) for view in views)
    if len(records) != 1:
        return False
    record = dict(zip(AUDIT_ANNOTATIONS, records.pop()))
    return bool(record[ANNOTATION_SWITCH_ID]) and all(view["color"] == record[ANNOTATION_ACTIVE] for view in views)


def replica_counts(deployment):
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    replicas = spec.get("replicas")
    return {
        "replicas": 1 if replicas is None else replicas,
        "updated": status.get("updatedReplicas") or 0,
        "ready": status.get("readyReplicas") or 0,
        "available": status.get("availableReplicas") or 0,
        "generation": (deployment.get("metadata") or {}).get("generation") or 0,
        "observed_generation": status.get("observedGeneration") or 0,
    }


def deployment_problems(name, deployment, service, color):
    """Why a target Deployment cannot take traffic yet; an empty list means it can."""
    label = "Deployment %s (color %s of Service %s)" % (name, color, service)
    if deployment is None:
        return ["%s does not exist; deploy the %s color first" % (label, color)]
    counts = replica_counts(deployment)
    problems = []
    if counts["observed_generation"] < counts["generation"]:
        problems.append(
            "%s has not been rolled out yet (observedGeneration %d < generation %d); wait for the rollout"
            % (label, counts["observed_generation"], counts["generation"])
        )
    if counts["replicas"] <= 0:
        problems.append("%s is scaled to 0 replicas; scale it up before switching" % label)
    elif not counts["updated"] == counts["ready"] == counts["available"] == counts["replicas"]:
        problems.append(
            "%s is not fully ready: spec.replicas=%d updated=%d ready=%d available=%d; wait for the rollout to finish"
            % (label, counts["replicas"], counts["updated"], counts["ready"], counts["available"])
        )
    return problems


def parity_problem(target_name, target_deployment, active_name, active_deployment, service):
    """With parity on, the new color must be able to carry the traffic the active color carries now."""
    if target_deployment is None or active_deployment is None:
        return None
    target_ready = replica_counts(target_deployment)["ready"]
    active_ready = replica_counts(active_deployment)["ready"]
    if target_ready < active_ready:
        return (
            "Deployment %s has %d ready replicas but %s, which serves Service %s now, has %d; scale %s to at least %d "
            "(or set require_replica_parity: false)" % (target_name, target_ready, active_name, service, active_ready, target_name, active_ready)
        )
    return None


def check_deployments(changes, target, deployments_by_name, template, parity):
    problems = []
    for view in changes:
        target_name = render_name(template, view["name"], target)
        target_deployment = deployments_by_name.get(target_name)
        problems.extend(deployment_problems(target_name, target_deployment, view["name"], target))
        if parity and view["color"] is not None:
            active_name = render_name(template, view["name"], view["color"])
            problem = parity_problem(target_name, target_deployment, active_name, deployments_by_name.get(active_name), view["name"])
            if problem:
                problems.append(problem)
    return problems


def selector_matches(selector, labels):
    """Service selectors are equality maps; an empty one selects nothing (no endpoints are managed)."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(key) == value for key, value in selector.items())


def switched_selector(view, color_label, target):
    selector = dict(view["selector"])
    selector[color_label] = target
    return selector


def format_selector(selector):
    return ",".join("%s=%s" % item for item in sorted(selector.items()))


def matching_pods(selector, pods):
    return [pod for pod in pods if selector_matches(selector, (pod.get("metadata") or {}).get("labels"))]


def endpoint_problems(changes, target, color_label, pods):
    """The switched selector of every Service must select at least one ready Pod.

    EndpointSlices follow the current selector, so before the switch they show
    the active color; the Pods the new selector will select tell what the
    slices will hold once it is applied.
    """
    problems = []
    for view in changes:
        selector = switched_selector(view, color_label, target)
        selected = matching_pods(selector, pods)
        ready = [pod for pod in selected if pod_ready(pod)]
        if not ready:
            problems.append(
                "Service %s: the switched selector %s matches %d Pod(s), none ready; its EndpointSlices would be empty"
                % (view["name"], format_selector(selector), len(selected))
            )
    return problems


def raise_problems(problems, what):
    if problems:
        raise BlueGreenError("%s; nothing was changed: %s" % (what, "; ".join(problems)), problems=problems)


def audit_annotations(target, previous, switched_at, switch_id, action):
    return {
        ANNOTATION_ACTIVE: target,
        ANNOTATION_PREVIOUS: previous,
        ANNOTATION_SWITCHED_AT: switched_at,
        ANNOTATION_SWITCH_ID: switch_id,
        ANNOTATION_LAST_ACTION: action,
    }


def switch_patch(view, target, color_label, record):
    """JSON merge patch of one Service: the group's audit record and, unless it already selects ``target``, the selector.

    One write per Service, preconditioned on resourceVersion: a merge patch
    carrying metadata.resourceVersion is refused with 409 by the API server
    when the object changed since it was read. ``record`` is
    ``audit_annotations(...)``, the same for every Service of the switch.
    """
    patch = {"metadata": {"resourceVersion": view["resource_version"], "annotations": dict(record)}}
    if view["color"] != target:
        patch["spec"] = {"selector": {color_label: target}}
    return patch


def revert_patch(view, color_label, resource_version, selector=True):
    """Put the audit annotations (None deletes a key that did not exist) and, with ``selector``, the selector key back as they were.

    ``selector`` is False for a Service whose switch patch only wrote the record.
    """
    patch = {
        "metadata": {
            "resourceVersion": resource_version,
            "annotations": dict((key, view["annotations"].get(key)) for key in AUDIT_ANNOTATIONS),
        },
    }
    if selector:
        patch["spec"] = {"selector": {color_label: view["color"]}}
    return patch


def write_landed(current, original, switch_id):
    """Whether a Service read back after an unanswered write shows that write: a changed selector or our switch-id."""
    return current["color"] != original["color"] or current["annotations"].get(ANNOTATION_SWITCH_ID) == switch_id


# Outcomes of one switch patch, for revert planning.
APPLIED = "applied"          # the API answered 2xx: the Service is on the target color with the new record
AMBIGUOUS = "ambiguous"      # 5xx or no answer: the write may or may not have been applied
NOT_APPLIED = "not_applied"  # 409/4xx: the API refused it, the Service is unchanged
UNTOUCHED = "untouched"      # never attempted


def classify_patch_error(status):
    if status is not None and 400 <= status < 500:
        return NOT_APPLIED
    return AMBIGUOUS


def revert_plan(outcomes):
    """Which Services to put back, newest first.

    ``outcomes`` is a list of ``(name, outcome)`` in patch order. Applied and
    ambiguous writes are reverted (an ambiguous one is re-read first);
    refused and untouched Services were never changed.
    """
    return [name for name, outcome in reversed(outcomes) if outcome in (APPLIED, AMBIGUOUS)]


def group_split(colors):
    """True when the given ``{service: color}`` map has more than one color."""
    return len(set(colors.values())) > 1


def endpoint_ready(endpoint):
    # discovery.k8s.io/v1: a nil `ready` condition is to be read as true.
    return (endpoint.get("conditions") or {}).get("ready") is not False


def verify_selectors(patched, target, color_label, switch_id, services_by_name):
    """After the last patch, every patched Service (the whole group) must select the target and carry our switch-id.

    These problems do not heal by waiting: someone else changed the object.
    """
    problems = []
    for view in patched:
        name = view["name"]
        service = services_by_name.get(name)
        if service is None:
            problems.append("Service %s disappeared during the switch" % name)
            continue
        current = service_view(service, color_label)
        if current["color"] != target:
            problems.append("Service %s selects %s=%s after the switch, expected %s" % (name, color_label, current["color"], target))
        elif current["annotations"].get(ANNOTATION_SWITCH_ID) != switch_id:
            problems.append(
                "Service %s was changed by someone else during the switch (switch-id %s, expected %s)"
                % (name, current["annotations"].get(ANNOTATION_SWITCH_ID), switch_id)
            )
    return problems


def verify_endpoints(changes, target, color_label, services_by_name, slices, pods):
    """Every switched Service's EndpointSlices must hold ready endpoints, all of them Pods its new selector selects.

    These problems may heal: the EndpointSlice controller follows a selector
    change asynchronously, so the caller polls them up to wait_timeout.
    """
    problems = []
    for view in changes:
        name = view["name"]
        service = services_by_name.get(name)
        selector = service_view(service, color_label)["selector"] if service else switched_selector(view, color_label, target)
        target_pods = set((pod.get("metadata") or {}).get("name") for pod in matching_pods(selector, pods or []))
        on_target, elsewhere = [], []
        for slice_ in slices or []:
            if ((slice_.get("metadata") or {}).get("labels") or {}).get(SLICE_SERVICE_LABEL) != name:
                continue
            for endpoint in slice_.get("endpoints") or []:
                if not endpoint_ready(endpoint):
                    continue
                ref = endpoint.get("targetRef") or {}
                if ref.get("kind", "Pod") == "Pod" and ref.get("name") in target_pods:
                    on_target.append(ref.get("name"))
                else:
                    elsewhere.append(ref.get("name") or ",".join(endpoint.get("addresses") or []))
        if elsewhere:
            problems.append(
                "Service %s: its EndpointSlices still hold ready endpoints that are not %s=%s Pods (%s)"
                % (name, color_label, target, ", ".join(sorted(str(item) for item in elsewhere)))
            )
        elif not on_target:
            problems.append("Service %s: its EndpointSlices hold no ready endpoint of a %s=%s Pod after the switch" % (name, color_label, target))
    return problems


def service_report(view, after_view):
    """`{name, before: {selector, color}, after: {selector, color}}` for the result."""
    return {
        "name": view["name"],
        "before": {"selector": dict(view["selector"]), "color": view["color"]},
        "after": {"selector": dict(after_view["selector"]), "color": after_view["color"]},
    }


def diff_of(views, after_views):
    return {
        "before": dict((view["name"], {"selector": view["selector"]}) for view in views),
        "after": dict((view["name"], {"selector": view["selector"]}) for view in after_views),
    }

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read-only view of a blue/green group: five list/get requests per namespace, whatever the number of Services."""

from __future__ import annotations

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen import plan
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.api import ApiError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.lock import LEASE_NAME, lease_status, utcnow


def endpoint_counts(name, slices):
    counts = {"ready": 0, "not_ready": 0}
    for slice_ in slices:
        if ((slice_.get("metadata") or {}).get("labels") or {}).get(plan.SLICE_SERVICE_LABEL) != name:
            continue
        for endpoint in slice_.get("endpoints") or []:
            counts["ready" if plan.endpoint_ready(endpoint) else "not_ready"] += 1
    return counts


def deployment_report(name, deployment, hpa):
    report = {"name": name, "exists": deployment is not None}
    if deployment is not None:
        counts = plan.replica_counts(deployment)
        report.update(
            replicas=counts["replicas"],
            updated_replicas=counts["updated"],
            ready_replicas=counts["ready"],
            available_replicas=counts["available"],
            ready=not plan.deployment_problems(name, deployment, "", ""),
        )
    else:
        report.update(replicas=0, updated_replicas=0, ready_replicas=0, available_replicas=0, ready=False)
    status = (hpa or {}).get("status") or {}
    report["hpa"] = (hpa or {}).get("metadata", {}).get("name")
    report["hpa_current_replicas"] = status.get("currentReplicas") if hpa else None
    report["hpa_desired_replicas"] = status.get("desiredReplicas") if hpa else None
    return report


def read_group(api, namespace):
    """The five reads of a report, each one request per namespace: the raw lists as the API returns them."""
    raw = {
        "services": api.list_services(namespace),
        "slices": api.list_endpointslices(namespace, label_selector=plan.SLICE_SERVICE_LABEL),
        "deployments": api.list_deployments(namespace),
    }
    try:
        raw["hpas"] = api.list_hpas(namespace)
    except ApiError as exc:
        if exc.status != 404:
            raise
        raw["hpas"] = []
    raw["lease"] = api.get_lease(namespace, LEASE_NAME)
    return raw


def service_reports(names, services_by_name, slices, color_label):
    """``(reports, views)``: a report per named Service (``exists: false`` for a missing one), and the views of those that exist."""
    reports, views = [], []
    for name in names:
        service = services_by_name.get(name)
        if service is None:
            reports.append({"name": name, "exists": False, "selector": {}, "color": None, "annotations": {}, "endpoints": {"ready": 0, "not_ready": 0}})
            continue
        view = plan.service_view(service, color_label)
        views.append(view)
        reports.append({
            "name": name,
            "exists": True,
            "selector": view["selector"],
            "color": view["color"],
            "annotations": view["annotations"],
            "endpoints": endpoint_counts(name, slices),
        })
    return reports, views


def active_color(views):
    """The color every Service selects, ``mixed`` when they disagree, None when none exists."""
    if not views:
        return None
    return plan.group_color(views) or "mixed"


def previous_color(views):
    return plan.agreed(view["annotations"].get(plan.ANNOTATION_PREVIOUS) for view in views) if views else None


def known_colors(colors, views):
    """The colors asked for, then any other one a Service selects or records as previous, in order of appearance."""
    known = list(colors or [])
    for view in views:
        for color in (view["color"], view["annotations"].get(plan.ANNOTATION_PREVIOUS)):
            if color and color not in known:
                known.append(color)
    return known


def color_reports(colors, names, template, deployments_by_name, hpas_by_name):
    """Per color: each Service's Deployment of that color, whether all are ready and whether any exists."""
    per_color = {}
    for color in colors:
        reports = {}
        for name in names:
            deployment_name = plan.render_name(template, name, color)
            reports[name] = deployment_report(deployment_name, deployments_by_name.get(deployment_name), hpas_by_name.get(deployment_name))
        per_color[color] = {
            "deployments": reports,
            "ready": all(report["ready"] for report in reports.values()),
            "exists": any(report["exists"] for report in reports.values()),
        }
    return per_color


def last_switch(views):
    """The switch the Services' records agree on, or None when they name none or different ones."""
    switch_id = plan.agreed(view["annotations"].get(plan.ANNOTATION_SWITCH_ID) for view in views) if views else None
    if not switch_id:
        return None
    return {
        "switch_id": switch_id,
        "switched_at": plan.agreed(view["annotations"].get(plan.ANNOTATION_SWITCHED_AT) for view in views),
        "action": plan.agreed(view["annotations"].get(plan.ANNOTATION_LAST_ACTION) for view in views),
    }


def lease_report(lease, now):
    status = lease_status(lease, now)
    if status is not None:
        status.pop("resource_version", None)
    return status


def summarise(raw, params, now):
    """The report of ``read_group``'s lists: pure, no request."""
    names, label = params["services"], params["color_label"]
    services, views = service_reports(names, plan.index_by_name(raw["services"]), raw["slices"], label)
    active = active_color(views)
    colors = known_colors(params.get("colors"), views)
    return {
        "changed": False,
        "namespace": params["namespace"],
        "services": services,
        "missing_services": [item["name"] for item in services if not item["exists"]],
        "active_color": active,
        "previous_color": previous_color(views),
        "inactive_colors": [color for color in colors if color != active],
        "colors": color_reports(colors, names, params["deployment_name"], plan.index_by_name(raw["deployments"]), plan.index_by_name(raw["hpas"])),
        "last_switch": last_switch(views),
        "lease": lease_report(raw["lease"], now),
    }


def collect_info(api, params, clock=utcnow):
    result = summarise(read_group(api, params["namespace"]), params, clock())
    result["api_requests"] = api.requests
    return result

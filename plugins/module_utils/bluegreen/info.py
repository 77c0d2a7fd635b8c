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


def _agreed(values):
    values = set(values)
    return values.pop() if len(values) == 1 else None


def collect_info(api, params, clock=utcnow):
    namespace, label, template = params["namespace"], params["color_label"], params["deployment_name"]
    names = params["services"]
    services_by_name = plan.index_by_name(api.list_services(namespace))
    slices = api.list_endpointslices(namespace, label_selector=plan.SLICE_SERVICE_LABEL)
    deployments = plan.index_by_name(api.list_deployments(namespace))
    try:
        hpas = plan.index_by_name(api.list_hpas(namespace))
    except ApiError as exc:
        if exc.status != 404:
            raise
        hpas = {}
    lease = api.get_lease(namespace, LEASE_NAME)

    services, views = [], []
    for name in names:
        service = services_by_name.get(name)
        if service is None:
            services.append({"name": name, "exists": False, "selector": {}, "color": None, "annotations": {}, "endpoints": {"ready": 0, "not_ready": 0}})
            continue
        view = plan.service_view(service, label)
        views.append(view)
        services.append({
            "name": name,
            "exists": True,
            "selector": view["selector"],
            "color": view["color"],
            "annotations": view["annotations"],
            "endpoints": endpoint_counts(name, slices),
        })

    active = None
    if views:
        active = plan.group_color(views) or "mixed"
    previous = _agreed(view["annotations"].get(plan.ANNOTATION_PREVIOUS) for view in views) if views else None
    colors = list(params.get("colors") or [])
    for view in views:
        for color in (view["color"], view["annotations"].get(plan.ANNOTATION_PREVIOUS)):
            if color and color not in colors:
                colors.append(color)

    per_color = {}
    for color in colors:
        reports = {}
        for name in names:
            deployment_name = plan.render_name(template, name, color)
            reports[name] = deployment_report(deployment_name, deployments.get(deployment_name), hpas.get(deployment_name))
        per_color[color] = {
            "deployments": reports,
            "ready": all(report["ready"] for report in reports.values()),
            "exists": any(report["exists"] for report in reports.values()),
        }

    last_switch = None
    if views:
        switch_id = _agreed(view["annotations"].get(plan.ANNOTATION_SWITCH_ID) for view in views)
        if switch_id:
            last_switch = {
                "switch_id": switch_id,
                "switched_at": _agreed(view["annotations"].get(plan.ANNOTATION_SWITCHED_AT) for view in views),
                "action": _agreed(view["annotations"].get(plan.ANNOTATION_LAST_ACTION) for view in views),
            }

    status = lease_status(lease, clock())
    if status is not None:
        status.pop("resource_version", None)
    return {
        "changed": False,
        "namespace": namespace,
        "services": services,
        "missing_services": [item["name"] for item in services if not item["exists"]],
        "active_color": active,
        "previous_color": previous,
        "inactive_colors": [color for color in colors if color != active],
        "colors": per_color,
        "last_switch": last_switch,
        "lease": status,
        "api_requests": api.requests,
    }

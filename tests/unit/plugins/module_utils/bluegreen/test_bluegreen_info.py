"""The read-only group report of k8s_bluegreen_info."""

import datetime

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen import plan
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.info import collect_info, read_group, summarise
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.lock import LEASE_NAME, format_micro_time

from bluegreen_fakekube import FakeKube

GROUP = ["user-service", "point-service"]
NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def info(kube, **overrides):
    params = {"namespace": "ns", "services": list(GROUP), "color_label": "color", "deployment_name": "{service}-{color}", "colors": ["blue", "green"]}
    params.update(overrides)
    return collect_info(kube, params, clock=lambda: NOW)


def test_group_report_in_five_requests():
    kube = FakeKube()
    kube.group(GROUP, target_ready=False)
    kube.add({"kind": "HorizontalPodAutoscaler", "metadata": {"name": "user-service-blue"}, "status": {"currentReplicas": 4, "desiredReplicas": 5}})
    result = info(kube)
    assert kube.requests == 5 == result["api_requests"] and kube.writes == []
    assert result["changed"] is False
    assert result["active_color"] == "blue" and result["inactive_colors"] == ["green"]
    assert result["services"][0]["endpoints"] == {"ready": 2, "not_ready": 0}
    blue = result["colors"]["blue"]
    assert blue["ready"] and blue["deployments"]["user-service"]["hpa_current_replicas"] == 4
    assert blue["deployments"]["point-service"]["hpa"] is None
    green = result["colors"]["green"]["deployments"]["user-service"]
    assert green["exists"] and not green["ready"] and green["ready_replicas"] == 0
    assert result["lease"] is None and result["last_switch"] is None


def test_mixed_missing_and_lease():
    kube = FakeKube()
    kube.group(GROUP)
    kube.edit_service("point-service", {"spec": {"selector": {"color": "green"}}})
    kube.add({"kind": "Lease", "metadata": {"name": LEASE_NAME},
              "spec": {"holderIdentity": "ci:1", "leaseDurationSeconds": 60, "renewTime": format_micro_time(NOW)}})
    result = info(kube, services=GROUP + ["admin-service"])
    assert result["active_color"] == "mixed"
    assert result["missing_services"] == ["admin-service"]
    assert result["lease"]["holder"] == "ci:1" and result["lease"]["expires_at"] == "2025-03-01T12:01:00Z" and not result["lease"]["expired"]
    assert result["colors"]["blue"]["deployments"]["admin-service"]["exists"] is False


def test_recorded_switch_and_extra_colors():
    kube = FakeKube()
    kube.group(GROUP, active="red", target="green")
    notes = {plan.ANNOTATION_PREVIOUS: "green", plan.ANNOTATION_SWITCH_ID: "id-1", plan.ANNOTATION_SWITCHED_AT: "t", plan.ANNOTATION_LAST_ACTION: "switched"}
    for name in GROUP:
        kube.edit_service(name, {"metadata": {"annotations": notes}})
    result = info(kube)
    assert result["previous_color"] == "green"
    assert result["last_switch"] == {"switch_id": "id-1", "switched_at": "t", "action": "switched"}
    assert set(result["colors"]) == {"blue", "green", "red"}
    assert result["colors"]["red"]["ready"] and not result["colors"]["blue"]["exists"]


def test_no_service_at_all():
    result = info(FakeKube())
    assert result["active_color"] is None and result["missing_services"] == GROUP


def test_the_report_is_a_pure_summary_of_the_five_reads():
    """read_group makes every request; summarise only reads its lists (a second summary costs nothing)."""
    kube = FakeKube()
    kube.group(GROUP)
    raw = read_group(kube, "ns")
    assert kube.requests == 5 and sorted(raw) == ["deployments", "hpas", "lease", "services", "slices"]
    params = {"namespace": "ns", "services": list(GROUP), "color_label": "color", "deployment_name": "{service}-{color}", "colors": ["blue", "green"]}
    report = summarise(raw, params, NOW)
    assert kube.requests == 5
    full = info(kube)
    assert kube.requests == 10 and full.pop("api_requests") == 10
    assert report == full and report["active_color"] == "blue" and report["services"][1]["endpoints"] == {"ready": 2, "not_ready": 0}

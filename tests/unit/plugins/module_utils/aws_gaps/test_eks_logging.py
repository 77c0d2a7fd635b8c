"""Unit tests of plugins/module_utils/aws_gaps/eks_logging.py: reading clusterLogging, the difference, the update
request, and ensure() (waits, failures, check mode) against an in-memory EKS that answers as AWS documents."""

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps import eks_logging
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.common import AwsGapError

from aws_gaps_fakes import FakeClock, FakeEKS, client_error

ALL = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def params(enabled, **extra):
    out = {"name": "loyalty", "enabled_types": list(enabled), "wait": True, "wait_timeout": 1200}
    out.update(extra)
    return out


def run(eks, enabled, check_mode=False, **extra):
    fake = FakeClock()
    clock = eks_logging.Clock(extra.get("wait_timeout", 1200), monotonic=fake.monotonic, sleep=fake.sleep)
    return eks_logging.ensure(eks, params(enabled, **extra), check_mode=check_mode, clock=clock), fake


# ---- pure -------------------------------------------------------------------------------------------


def test_enabled_types_are_those_an_enabled_entry_lists():
    cluster = {"logging": {"clusterLogging": [{"types": ["scheduler", "api"], "enabled": True},
                                              {"types": ["audit", "authenticator", "controllerManager"], "enabled": False}]}}
    assert eks_logging.enabled_types(cluster) == ["api", "scheduler"]
    # A type no entry lists, or a cluster without logging, is disabled.
    assert eks_logging.enabled_types({"logging": {"clusterLogging": [{"types": ["audit"], "enabled": True}]}}) == ["audit"]
    assert eks_logging.enabled_types({}) == []
    assert eks_logging.enabled_types({"logging": {"clusterLogging": [{"types": ALL, "enabled": False}]}}) == []


def test_the_plan_is_the_difference_in_aws_order():
    assert eks_logging.plan(["api"], ["scheduler", "audit", "api"]) == (["audit", "scheduler"], [])
    assert eks_logging.plan(ALL, ["audit"]) == ([], ["api", "authenticator", "controllerManager", "scheduler"])
    assert eks_logging.plan(["api", "audit"], ["audit", "api"]) == ([], [])
    assert eks_logging.plan(["api"], ["audit"]) == (["audit"], ["api"])


def test_the_logging_request_lists_only_the_types_that_change():
    assert eks_logging.logging_config(["audit"], ["api"]) == {"clusterLogging": [{"types": ["audit"], "enabled": True},
                                                                                 {"types": ["api"], "enabled": False}]}
    assert eks_logging.logging_config([], ["api"]) == {"clusterLogging": [{"types": ["api"], "enabled": False}]}


def test_unknown_types_follow_the_known_ones():
    assert eks_logging.ordered(["zeta", "scheduler", "api", "api"]) == ["api", "scheduler", "zeta"]


# ---- ensure -----------------------------------------------------------------------------------------


def test_enabling_and_disabling_sends_the_difference_and_waits_for_success():
    eks = FakeEKS(enabled=["api", "scheduler"], update_polls=2)
    result, clock = run(eks, ["api", "audit"])
    assert eks.writes() == ["update_cluster_config"]
    sent = [kwargs for name, kwargs in eks.calls if name == "update_cluster_config"][0]
    assert sent == {"name": "loyalty", "logging": {"clusterLogging": [{"types": ["audit"], "enabled": True},
                                                                      {"types": ["scheduler"], "enabled": False}]}}
    assert eks.names().count("describe_update") == 3
    assert clock.slept == [2.0, 4.0]
    assert result["changed"] is True
    assert result["enabled_types"] == ["api", "audit"] and result["disabled_types"] == ["authenticator", "controllerManager", "scheduler"]
    update = result["logging_update"]
    assert (update["id"], update["status"], update["type"]) == ("update-1", "Successful", "LoggingUpdate")
    assert update["created_at"] == "2026-03-01T00:00:00+00:00"
    assert result["diff"] == {"before": {"enabled_types": ["api", "scheduler"]}, "after": {"enabled_types": ["api", "audit"]}}
    assert eks.enabled == {"api", "audit"}


def test_nothing_to_change_makes_no_update():
    eks = FakeEKS(enabled=ALL)
    result, _clock = run(eks, list(reversed(ALL)))
    assert result["changed"] is False and "logging_update" not in result and eks.writes() == []
    assert result["enabled_types"] == ALL and result["disabled_types"] == []


def test_an_empty_list_disables_every_type():
    eks = FakeEKS(enabled=["audit"])
    result, _clock = run(eks, [])
    assert result["enabled_types"] == [] and eks.enabled == set()


def test_check_mode_makes_no_update():
    eks = FakeEKS(enabled=["api"])
    result, _clock = run(eks, ["audit"], check_mode=True)
    assert result["changed"] is True and result["enabled_types"] == ["audit"] and "logging_update" not in result
    assert eks.writes() == [] and eks.enabled == {"api"}


def test_without_wait_the_update_in_progress_is_returned():
    eks = FakeEKS()
    result, _clock = run(eks, ["api"], wait=False)
    assert result["logging_update"]["status"] == "InProgress" and "describe_update" not in eks.names()


def test_a_missing_cluster_is_named():
    eks = FakeEKS()
    eks.exists = False
    with pytest.raises(AwsGapError) as caught:
        run(eks, ["api"])
    assert caught.value.msg == "EKS cluster loyalty does not exist in region us-west-2" and eks.writes() == []


def test_a_cluster_being_created_is_waited_for():
    eks = FakeEKS(statuses=["CREATING", "CREATING", "CREATING"])
    result, clock = run(eks, ["api"])
    assert result["changed"] is True and clock.slept[:3] == [2.0, 4.0, 8.0]
    assert eks.names()[:4] == ["describe_cluster"] * 4 and eks.names()[4] == "update_cluster_config"


def test_a_cluster_not_active_without_wait_fails_before_any_update():
    eks = FakeEKS(status="UPDATING")
    with pytest.raises(AwsGapError) as caught:
        run(eks, ["api"], wait=False)
    assert "EKS cluster loyalty is UPDATING, not ACTIVE, and wait=false" in caught.value.msg and eks.writes() == []


@pytest.mark.parametrize("status", ["DELETING", "FAILED"])
def test_a_cluster_that_will_not_become_active_fails_at_once(status):
    eks = FakeEKS(status=status)
    with pytest.raises(AwsGapError) as caught:
        run(eks, ["api"])
    assert caught.value.msg == "EKS cluster loyalty is %s, not ACTIVE: its logging cannot be changed" % status
    assert eks.names() == ["describe_cluster"]


def test_a_cluster_that_stays_creating_times_out():
    eks = FakeEKS(status="CREATING")
    with pytest.raises(AwsGapError) as caught:
        run(eks, ["api"], wait_timeout=30)
    assert caught.value.msg.startswith("EKS cluster loyalty is still CREATING after wait_timeout=30s")
    assert eks.writes() == []


def test_a_failed_update_names_the_cluster_the_update_its_status_and_errors():
    eks = FakeEKS(update_outcome="Failed", errors=[{"errorCode": "AccessDenied", "errorMessage": "no logs:CreateLogGroup", "resourceIds": []}])
    with pytest.raises(AwsGapError) as caught:
        run(eks, ["api"])
    assert caught.value.msg == "the logging update update-1 of EKS cluster loyalty ended Failed: AccessDenied: no logs:CreateLogGroup"
    assert caught.value.details["changed"] is True and caught.value.details["logging_update"]["status"] == "Failed"


def test_an_update_still_in_progress_at_the_timeout_fails_with_its_last_status():
    eks = FakeEKS(update_polls=10 ** 6)
    with pytest.raises(AwsGapError) as caught:
        run(eks, ["api"], wait_timeout=60)
    assert caught.value.msg == "the logging update update-1 of EKS cluster loyalty is still InProgress after wait_timeout=60s (no errors reported)"
    assert caught.value.details["logging_update"]["id"] == "update-1"


def test_a_rejected_update_keeps_the_aws_error():
    eks = FakeEKS()

    def busy(**kwargs):
        eks.record("update_cluster_config", **kwargs)
        raise client_error("ResourceInUseException", "An update is already in progress", "UpdateClusterConfig")

    eks.update_cluster_config = busy
    with pytest.raises(AwsGapError) as caught:
        run(eks, ["api"])
    assert caught.value.msg == "UpdateClusterConfig (logging: enable ['api'], disable none) of EKS cluster loyalty failed"
    assert "ResourceInUseException" in str(caught.value)


def test_an_answer_without_an_update_is_refused():
    eks = FakeEKS()
    eks.update_cluster_config = lambda **kwargs: {"cluster": {"name": "loyalty"}}
    with pytest.raises(AwsGapError) as caught:
        run(eks, ["api"])
    assert caught.value.msg == "UpdateClusterConfig of EKS cluster loyalty answered no update (only cluster), so it cannot be followed"


def test_a_successful_update_the_cluster_does_not_show_fails():
    eks = FakeEKS(enabled=["api"])
    real = eks.update_cluster_config

    def replaces_everything(**kwargs):
        answer = real(**kwargs)
        eks.enabled = {t for setup in kwargs["logging"]["clusterLogging"] if setup["enabled"] for t in setup["types"]}
        return answer

    eks.update_cluster_config = replaces_everything
    with pytest.raises(AwsGapError) as caught:
        run(eks, ["api", "audit"])
    assert caught.value.msg == ("the logging update update-1 of EKS cluster loyalty is Successful, but the cluster's enabled log types "
                                "are ['audit'], not ['api', 'audit']")

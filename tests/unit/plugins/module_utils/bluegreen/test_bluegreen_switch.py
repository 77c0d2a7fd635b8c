"""The switch orchestration against an in-memory API: every fault of issue 4, request counts, revert invariants."""

import datetime
import itertools
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen import plan
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.lock import LEASE_NAME, format_micro_time
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.switch import REVERT_ATTEMPTS, run_switch, validate_params

from bluegreen_fakekube import FakeKube, make_deployment

GROUP = ["user-service", "point-service", "rewards-service", "admin-service"]
NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def params(**overrides):
    base = {
        "namespace": "ns",
        "services": list(GROUP),
        "color_label": "color",
        "target_color": "green",
        "state": "switched",
        "deployment_name": "{service}-{color}",
        "wait_timeout": 2,
        "require_replica_parity": True,
        "prometheus_url": None,
        "gates": None,
        "lease_ttl": 60,
        "lease_holder": "tester",
        "repair": False,
        "verify_endpoints": True,
    }
    base.update(overrides)
    return base


class Clock:
    """Monotonic and wall time that only move when the code sleeps."""

    def __init__(self):
        self.elapsed = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.elapsed += seconds

    def monotonic(self):
        return self.elapsed

    def now(self):
        return NOW + datetime.timedelta(seconds=self.elapsed)


def switch(kube, check_mode=False, fetch=None, clock=None, **overrides):
    clock = clock or Clock()
    ids = ("switch-%d" % n for n in itertools.count(1))
    return run_switch(kube, params(**overrides), check_mode=check_mode, fetch=fetch, clock=clock.now,
                      new_id=lambda: next(ids), sleep=clock.sleep, monotonic=clock.monotonic)


def assert_one_color(kube, color, names=tuple(GROUP)):
    assert kube.colors(names) == dict.fromkeys(names, color)
    assert LEASE_NAME not in kube.leases


def assert_one_record(kube, color, previous, switch_id, action="switched", names=tuple(GROUP)):
    """Every Service carries the same audit record, and it names the color its selector selects."""
    expected = {plan.ANNOTATION_ACTIVE: color, plan.ANNOTATION_PREVIOUS: previous, plan.ANNOTATION_SWITCH_ID: switch_id,
                plan.ANNOTATION_SWITCHED_AT: "2025-03-01T12:00:00Z", plan.ANNOTATION_LAST_ACTION: action}
    expected = dict((key, value) for key, value in expected.items() if value is not None)
    for name in names:
        notes = kube.services[name]["metadata"]["annotations"]
        assert dict((key, notes[key]) for key in plan.AUDIT_ANNOTATIONS if key in notes) == expected, name
        assert kube.services[name]["spec"]["selector"]["color"] == color


def annotations(kube, names=tuple(GROUP)):
    return dict((name, kube.services[name]["metadata"].get("annotations") or {}) for name in names)


@pytest.fixture
def kube():
    fake = FakeKube()
    fake.group(GROUP)
    return fake


class TestSuccess:
    def test_switch_moves_every_selector_with_audit_and_event(self, kube):
        clock = Clock()
        result = switch(kube, clock=clock)
        assert_one_color(kube, "green")
        assert result["changed"] and result["active_color"] == "green" and result["previous_color"] == "blue"
        assert result["switch_id"] == "switch-1"
        assert [item["after"]["color"] for item in result["services"]] == ["green"] * 4
        assert result["services"][0]["before"] == {"selector": {"app": "user-service", "color": "blue"}, "color": "blue"}
        notes = kube.services["admin-service"]["metadata"]["annotations"]
        assert notes[plan.ANNOTATION_ACTIVE] == "green" and notes[plan.ANNOTATION_PREVIOUS] == "blue"
        assert notes[plan.ANNOTATION_SWITCH_ID] == "switch-1" and notes[plan.ANNOTATION_SWITCHED_AT] == "2025-03-01T12:00:00Z"
        [event] = kube.events
        assert event["reason"] == "BlueGreenSwitched" and event["involvedObject"]["name"] == "user-service"
        assert "Switched Services user-service, point-service, rewards-service, admin-service from blue to green" in event["message"]
        assert result["audit"]["event"]["reason"] == "BlueGreenSwitched"
        assert clock.sleeps == []

    def test_request_budget_is_n_plus_ten(self, kube):
        result = switch(kube)
        assert kube.requests == len(GROUP) + 10 == result["api_requests"]
        assert len(kube.writes) == len(GROUP) + 3

    @pytest.mark.parametrize("count", [1, 7, 40])
    def test_budget_grows_by_one_request_per_service(self, count):
        names = ["svc-%d" % i for i in range(count)]
        fake = FakeKube()
        fake.group(names)
        switch(fake, services=names)
        assert fake.requests == count + 10

    def test_slow_endpoint_controller_is_polled_not_slept_on_success(self, kube):
        kube.stale_slice_reads = 2
        clock = Clock()
        switch(kube, clock=clock)
        assert_one_color(kube, "green")
        assert len(clock.sleeps) == 2

    def test_same_target_writes_nothing(self, kube):
        result = switch(kube, target_color="blue")
        assert not result["changed"] and "already selects color=blue" in result["msg"]
        assert kube.writes == [] and kube.requests == 1

    def test_check_mode_writes_nothing_and_predicts(self, kube):
        result = switch(kube, check_mode=True)
        assert result["changed"] and kube.writes == []
        assert result["diff"]["after"]["user-service"]["selector"]["color"] == "green"
        assert result["active_color"] == "blue"
        assert_one_color(kube, "blue")

    def test_rollback_returns_to_previous_and_is_idempotent(self, kube):
        switch(kube)
        result = switch(kube, state="rolled_back", target_color=None)
        assert_one_color(kube, "blue")
        assert result["target_color"] == "blue" and kube.events[-1]["reason"] == "BlueGreenRolledBack"
        assert kube.services["user-service"]["metadata"]["annotations"][plan.ANNOTATION_PREVIOUS] == "green"
        writes = len(kube.writes)
        again = switch(kube, state="rolled_back", target_color=None)
        assert not again["changed"] and len(kube.writes) == writes

    def test_repair_puts_a_mixed_group_on_target(self, kube):
        kube.edit_service("point-service", {"spec": {"selector": {"color": "green"}}})
        result = switch(kube, repair=True)
        assert_one_color(kube, "green")
        assert result["previous_color"] == "mixed"
        # point-service, already on green, gets the record alone, before any selector moves; every Service is patched once.
        moved = [n for n in GROUP if n != "point-service"]
        assert [w for w in kube.writes if w[0] == "patch_service"] == [("patch_service", n) for n in ["point-service"] + moved]
        assert result["audit"]["services"] == moved and result["audit"]["record_only"] == ["point-service"]
        assert_one_record(kube, "green", previous="blue", switch_id="switch-1")

    def test_stale_lease_is_taken_over_and_released(self, kube):
        kube.add({"kind": "Lease", "metadata": {"name": LEASE_NAME},
                  "spec": {"holderIdentity": "crashed-run", "leaseDurationSeconds": 30,
                           "renewTime": format_micro_time(NOW - datetime.timedelta(minutes=5))}})
        switch(kube)
        assert_one_color(kube, "green")
        assert ("replace_lease", LEASE_NAME) in kube.writes


class TestRefusals:
    """Every precondition failure: nothing written, the message names the object."""

    def refuse(self, kube, match, **overrides):
        before = kube.colors(GROUP)
        with pytest.raises(BlueGreenError, match=match) as err:
            switch(kube, **overrides)
        assert kube.writes == []
        assert kube.colors(GROUP) == before
        return err.value

    def test_green_never_ready(self, kube):
        for name in GROUP:
            kube.deployments[name + "-green"]["status"]["readyReplicas"] = 0
            for pod in kube.pods.values():
                if pod["metadata"]["labels"] == {"app": name, "color": "green"}:
                    pod["status"]["conditions"][0]["status"] = "False"
        error = self.refuse(kube, "Deployment user-service-green .* is not fully ready")
        assert "none ready; its EndpointSlices would be empty" in error.msg

    def test_one_target_deployment_missing(self, kube):
        del kube.deployments["rewards-service-green"]
        self.refuse(kube, r"Deployment rewards-service-green \(color green of Service rewards-service\) does not exist")

    def test_mixed_group(self, kube):
        kube.edit_service("rewards-service", {"spec": {"selector": {"color": "green"}}})
        self.refuse(kube, "user-service=blue, point-service=blue, rewards-service=green, admin-service=blue")

    def test_missing_service(self, kube):
        del kube.services["admin-service"]
        with pytest.raises(BlueGreenError, match="Service admin-service not found in namespace ns"):
            switch(kube)
        assert kube.writes == []

    def test_lease_held_by_another(self, kube):
        kube.add({"kind": "Lease", "metadata": {"name": LEASE_NAME},
                  "spec": {"holderIdentity": "ci-runner-3", "leaseDurationSeconds": 300, "renewTime": format_micro_time(NOW)}})
        error = self.refuse(kube, "held by ci-runner-3 .*expires at 2025-03-01T12:05:00Z")
        assert kube.leases[LEASE_NAME]["spec"]["holderIdentity"] == "ci-runner-3"
        assert error.details["lease"]["holder"] == "ci-runner-3"

    def test_parity(self, kube):
        kube.deployments["point-service-blue"] = kube._stamp(make_deployment("point-service", "blue", replicas=5))
        self.refuse(kube, "point-service-green has 2 ready replicas but point-service-blue, which serves Service point-service now, has 5")

    def test_parity_off(self, kube):
        kube.deployments["point-service-blue"] = kube._stamp(make_deployment("point-service", "blue", replicas=5))
        switch(kube, require_replica_parity=False)
        assert_one_color(kube, "green")

    def test_gate_above_threshold(self, kube):
        def fetch(query, name):
            return {"resultType": "vector", "result": [{"metric": {}, "value": [0, "5"]}]}

        gates = [{"name": "error-rate", "query": 'vector(5) # {color}', "threshold": 1, "comparison": "<=", "allow_empty": False}]
        self.refuse(kube, "A gate refused the switch to green.*gate error-rate: 5 is not <= 1", gates=gates, prometheus_url="http://x", fetch=fetch)

    def test_gate_unreachable(self, kube):
        def fetch(query, name):
            raise BlueGreenError("Prometheus at http://127.0.0.1:1 is unreachable")

        gates = [{"name": "g", "query": "vector(0)", "threshold": 1, "comparison": "<=", "allow_empty": False}]
        self.refuse(kube, "Prometheus at http://127.0.0.1:1 is unreachable", gates=gates, prometheus_url="http://127.0.0.1:1", fetch=fetch)

    @pytest.mark.parametrize("overrides,match", [
        ({"services": []}, "services must name at least one Service"),
        ({"services": ["a", "a"]}, "services lists a more than once"),
        ({"target_color": "Not valid!"}, "not a valid label value"),
        ({"deployment_name": "{service}"}, "must contain {color}"),
        ({"lease_ttl": 10, "wait_timeout": 30}, "lease_ttl \\(10\\) must be longer than wait_timeout \\(30\\)"),
    ])
    def test_invalid_options(self, overrides, match):
        with pytest.raises(BlueGreenError, match=match):
            validate_params(params(**overrides))


class TestFailuresMidSwitch:
    """Every write-time failure ends with the whole group on the old color, the lease released and a Warning Event."""

    def fail(self, kube, match, **overrides):
        with pytest.raises(BlueGreenError, match=match) as err:
            switch(kube, **overrides)
        assert_one_color(kube, "blue")
        assert kube.events[-1]["reason"] == "BlueGreenSwitchFailed" and kube.events[-1]["type"] == "Warning"
        assert err.value.details["split"] is False
        return err.value

    def test_third_patch_fails_with_500(self, kube):
        kube.fail("patch_service", "rewards-service", 500)
        error = self.fail(kube, "patching Service rewards-service failed: .*HTTP 500")
        assert "Reverted user-service, point-service" in error.msg
        assert kube.services["user-service"]["metadata"]["annotations"] == {}

    def test_ambiguous_500_that_landed_is_reverted_too(self, kube):
        kube.fail("patch_service", "rewards-service", 500, apply=True)
        error = self.fail(kube, "patching Service rewards-service failed")
        assert "Reverted user-service, point-service, rewards-service" in error.msg

    def test_conflict_from_concurrent_edit(self, kube):
        kube.fail("patch_service", "point-service", 409)
        self.fail(kube, "patching Service point-service failed \\(someone else changed it since it was read\\)")

    def test_real_concurrent_edit_trips_the_precondition(self, kube):
        original = kube.list_services

        def list_then_edit(namespace):
            items = original(namespace)
            if not kube.writes:
                kube.edit_service("admin-service", {"metadata": {"labels": {"edited": "yes"}}})
            return items

        kube.list_services = list_then_edit
        self.fail(kube, "patching Service admin-service failed \\(someone else changed it")
        assert kube.services["admin-service"]["metadata"]["labels"] == {"edited": "yes"}

    def test_verification_failure_after_all_patches(self, kube):
        original = kube.patch_service

        def patch_then_break(namespace, name, patch):
            result = original(namespace, name, patch)
            if name == GROUP[-1] and patch["spec"]["selector"]["color"] == "green":
                for pod in kube.pods.values():
                    if pod["metadata"]["labels"]["color"] == "green":
                        pod["status"]["conditions"][0]["status"] = "False"
            return result

        kube.patch_service = patch_then_break
        error = self.fail(kube, "verification after the switch failed: Service user-service: its EndpointSlices hold no ready endpoint")
        assert "Reverted user-service, point-service, rewards-service, admin-service" in error.msg

    def test_selector_overwritten_fails_verification_without_waiting(self, kube):
        original = kube.patch_service
        clock = Clock()

        def patch_then_overwrite(namespace, name, patch):
            result = original(namespace, name, patch)
            if name == GROUP[-1] and patch["spec"]["selector"]["color"] == "green":
                kube.edit_service("user-service", {"metadata": {"annotations": {plan.ANNOTATION_SWITCH_ID: "theirs"}}})
            return result

        kube.patch_service = patch_then_overwrite
        self.fail(kube, "Service user-service was changed by someone else", clock=clock)
        assert clock.sleeps == [0.2]

    def test_revert_retries_with_a_fresh_resource_version(self, kube):
        kube.fail("patch_service", "admin-service", 500)
        kube.fail("patch_service", "point-service", 409, times=2, to_color="blue")
        self.fail(kube, "Reverted user-service, point-service, rewards-service;")
        assert kube.writes.count(("patch_service", "point-service")) == 4
        # reads 4, lease 1, patches 4; reverts: admin re-read 1, rewards 1, point 409/get/409/get/ok 5, user 1; event 1, release 1
        assert kube.requests == 4 + 1 + 4 + 1 + 1 + 5 + 1 + 1 + 1

    def test_revert_that_keeps_failing_reports_the_split_exactly(self, kube):
        kube.fail("patch_service", "rewards-service", 500)
        kube.fail("patch_service", "point-service", 500, times=REVERT_ATTEMPTS, to_color="blue")
        with pytest.raises(BlueGreenError) as err:
            switch(kube)
        assert err.value.details["split"] is True and err.value.details["active_color"] == "mixed"
        assert "the group is SPLIT: user-service=blue, point-service=green, rewards-service=blue, admin-service=blue" in err.value.msg
        assert "repair=true" in err.value.msg
        assert err.value.details["services"][1] == {"name": "point-service", "before": {"selector": {"app": "point-service", "color": "blue"}, "color": "blue"},
                                                    "after": {"selector": {"app": "point-service", "color": "green"}, "color": "green"}}
        assert LEASE_NAME not in kube.leases

    def test_event_failure_is_a_warning_not_a_failure(self, kube):
        kube.fail("create_event", "*", 500)
        result = switch(kube)
        assert_one_color(kube, "green")
        assert "could not record Event" in result["warnings"][0]

    def test_unexpected_exception_still_reverts_and_releases(self, kube):
        original = kube.patch_service

        def patch_then_crash(namespace, name, patch):
            result = original(namespace, name, patch)
            if name == "point-service" and patch["spec"]["selector"]["color"] == "green":
                raise RuntimeError("boom")
            return result

        kube.patch_service = patch_then_crash
        self.fail(kube, "unexpected error during the switch: RuntimeError\\('boom'\\)")


def mixed_after_a_switch(kube):
    """blue -> green (switch-1), then user-service and admin-service put back on blue by hand: a split group
    whose records all still name switch-1."""
    switch(kube)
    for name in ("user-service", "admin-service"):
        kube.edit_service(name, {"spec": {"selector": {"color": "blue"}}})
    kube.requests, kube.writes, kube.events = 0, [], []
    return {"colors": kube.colors(GROUP), "annotations": annotations(kube), "resource_versions": resource_versions(kube)}


def resource_versions(kube):
    return dict((name, service["metadata"]["resourceVersion"]) for name, service in kube.services.items())


def repair(kube, check_mode=False, **overrides):
    """A switch numbered switch-2 (the fake's second): by default a repair to green."""
    ids = ("switch-%d" % n for n in itertools.count(2))
    clock = Clock()
    return run_switch(kube, params(**dict({"repair": True}, **overrides)), check_mode=check_mode, clock=clock.now, new_id=lambda: next(ids),
                      sleep=clock.sleep, monotonic=clock.monotonic)


def is_revert(patch):
    return (patch["metadata"].get("annotations") or {}).get(plan.ANNOTATION_SWITCH_ID) != "switch-2"


class TestRepairLeavesOneRecord:
    """A repair patches every Service: the moved ones with selector and record, the ones already on the target with the record alone."""

    def test_every_service_gets_the_same_record_in_n_plus_ten_requests(self, kube):
        before = mixed_after_a_switch(kube)
        result = repair(kube)
        assert_one_record(kube, "green", previous="blue", switch_id="switch-2")
        assert kube.requests == len(GROUP) + 10 == result["api_requests"] and len(kube.writes) == len(GROUP) + 3
        assert [w[1] for w in kube.writes if w[0] == "patch_service"] == ["point-service", "rewards-service", "user-service", "admin-service"]
        assert result["audit"]["rollback_color"] == "blue" and result["audit"]["from"] == "mixed" and result["previous_color"] == "mixed"
        assert result["audit"]["services"] == ["user-service", "admin-service"] and result["audit"]["record_only"] == ["point-service", "rewards-service"]
        assert result["msg"] == ("Switched Services user-service, admin-service from blue to green; rewrote the audit record of point-service, "
                                 "rewards-service (already on green) (switch-id switch-2).")
        point = [item for item in result["services"] if item["name"] == "point-service"][0]
        assert point["before"] == point["after"] == {"selector": {"app": "point-service", "color": "green"}, "color": "green"}
        assert result["diff"]["before"]["point-service"] == result["diff"]["after"]["point-service"]
        assert kube.services["point-service"]["metadata"]["resourceVersion"] != before["resource_versions"]["point-service"]

    def test_a_rollback_after_the_repair_moves_the_whole_group_to_the_recorded_color(self, kube):
        mixed_after_a_switch(kube)
        repair(kube)
        result = repair(kube, state="rolled_back", target_color=None, repair=False)
        assert_one_color(kube, "blue")
        assert_one_record(kube, "blue", previous="green", switch_id="switch-2", action="rolled_back")
        assert result["audit"]["services"] == GROUP and result["audit"]["record_only"] == []

    def test_repair_from_several_colors_without_an_agreed_record_drops_the_previous_color(self, kube):
        kube.edit_service("point-service", {"spec": {"selector": {"color": "green"}}})
        kube.edit_service("rewards-service", {"spec": {"selector": {"color": None}}})
        result = switch(kube, repair=True)
        assert_one_record(kube, "green", previous=None, switch_id="switch-1")
        assert result["audit"]["rollback_color"] is None
        with pytest.raises(BlueGreenError, match="has no loyalty.platform/previous-color annotation"):
            switch(kube, state="rolled_back", target_color=None)

    def test_a_group_on_the_target_with_a_stale_record_is_re_recorded_only_with_repair(self, kube):
        switch(kube)
        kube.edit_service("point-service", {"metadata": {"annotations": {plan.ANNOTATION_ACTIVE: "blue", plan.ANNOTATION_SWITCH_ID: "old"}}})
        kube.requests, kube.writes = 0, []
        result = switch(kube)
        assert not result["changed"] and kube.requests == 1 and kube.writes == []

        result = repair(kube)
        assert result["changed"] and result["msg"].startswith("Rewrote the audit record of Services user-service, point-service")
        assert_one_record(kube, "green", previous="blue", switch_id="switch-2")
        assert result["audit"]["services"] == [] and result["audit"]["record_only"] == GROUP
        assert kube.requests == 1 + len(GROUP) + 10

        kube.requests, kube.writes = 0, []
        again = repair(kube)
        assert not again["changed"] and kube.requests == 1 and kube.writes == []

    def test_check_mode_names_the_records_it_would_rewrite(self, kube):
        before = mixed_after_a_switch(kube)
        result = repair(kube, check_mode=True)
        assert result["changed"] and kube.writes == [] and annotations(kube) == before["annotations"]
        assert result["msg"] == ("Would switch user-service, admin-service from blue to green and rewrite the audit record of point-service, "
                                 "rewards-service (already on green).")
        assert result["diff"]["after"]["user-service"]["selector"]["color"] == "green"
        assert result["diff"]["after"]["point-service"] == result["diff"]["before"]["point-service"]


class TestFailedRepairLeavesTheOldRecord:
    """A repair that fails puts back the selectors and the records: every Service exactly as it was read."""

    def fail(self, kube, before, match):
        with pytest.raises(BlueGreenError, match=match) as err:
            repair(kube)
        assert kube.colors(GROUP) == before["colors"]
        assert annotations(kube) == before["annotations"]
        assert LEASE_NAME not in kube.leases
        assert kube.events[-1]["reason"] == "BlueGreenSwitchFailed"
        return err.value

    def test_conflict_on_a_record_only_patch_moves_nothing(self, kube):
        before = mixed_after_a_switch(kube)
        kube.fail("patch_service", "rewards-service", 409)
        error = self.fail(kube, before, "patching Service rewards-service failed \\(someone else changed it since it was read\\)")
        assert "Reverted point-service (audit record); every Service is back on its previous color" in error.msg
        assert [w[1] for w in kube.writes if w[0] == "patch_service"] == ["point-service", "rewards-service", "point-service"]

    def test_failed_selector_patch_reverts_the_records_too(self, kube):
        before = mixed_after_a_switch(kube)
        kube.fail("patch_service", "admin-service", 500)
        error = self.fail(kube, before, "patching Service admin-service failed")
        assert "Reverted point-service (audit record), rewards-service (audit record), user-service;" in error.msg
        assert error.details["services"][1]["after"] == {"selector": {"app": "point-service", "color": "green"}, "color": "green"}

    def test_ambiguous_record_patch_that_landed_is_reverted(self, kube):
        before = mixed_after_a_switch(kube)
        kube.fail("patch_service", "point-service", 500, apply=True)
        error = self.fail(kube, before, "patching Service point-service failed")
        assert "Reverted point-service (audit record);" in error.msg

    def test_ambiguous_record_patch_that_did_not_land_is_left_alone(self, kube):
        before = mixed_after_a_switch(kube)
        kube.fail("patch_service", "point-service", 500)
        error = self.fail(kube, before, "patching Service point-service failed")
        assert "Nothing had been changed" in error.msg
        assert kube.writes.count(("patch_service", "point-service")) == 1

    def test_record_overwritten_during_the_switch_fails_verification(self, kube):
        before = mixed_after_a_switch(kube)
        original = kube.patch_service

        def patch_then_overwrite(namespace, name, patch):
            result = original(namespace, name, patch)
            if name == "admin-service" and not is_revert(patch):
                kube.edit_service("rewards-service", {"metadata": {"annotations": {plan.ANNOTATION_SWITCH_ID: "theirs"}}})
            return result

        kube.patch_service = patch_then_overwrite
        with pytest.raises(BlueGreenError, match="Service rewards-service was changed by someone else during the switch") as err:
            repair(kube)
        assert kube.colors(GROUP) == before["colors"]
        # Theirs is the newer write and is kept; every other record is back as it was.
        assert kube.services["rewards-service"]["metadata"]["annotations"][plan.ANNOTATION_SWITCH_ID] == "theirs"
        others = [name for name in GROUP if name != "rewards-service"]
        assert annotations(kube, others) == dict((name, before["annotations"][name]) for name in others)
        assert err.value.details["split"] is True  # the group is as split as the repair found it

    def test_record_revert_that_keeps_failing_is_named(self, kube):
        before = mixed_after_a_switch(kube)
        kube.fail("patch_service", "admin-service", 500)
        kube.fail("patch_service", "rewards-service", 500, times=REVERT_ATTEMPTS, when=is_revert)
        with pytest.raises(BlueGreenError) as err:
            repair(kube)
        assert kube.colors(GROUP) == before["colors"]
        assert "Could not restore the audit record of rewards-service (patch service rewards-service: scripted failure (HTTP 500))" in err.value.msg
        assert "its selector is unchanged but its annotations may still name switch-id switch-2" in err.value.msg
        assert "SPLIT" not in err.value.msg and "Reverted point-service (audit record), user-service;" in err.value.msg
        assert kube.services["rewards-service"]["metadata"]["annotations"][plan.ANNOTATION_SWITCH_ID] == "switch-2"
        assert err.value.details["services"][2]["after"]["color"] == "green"
        others = [name for name in GROUP if name != "rewards-service"]
        assert annotations(kube, others) == dict((name, before["annotations"][name]) for name in others)
        # A second repair writes one record again.
        repair(kube)
        assert_one_record(kube, "green", previous="blue", switch_id="switch-2")


REPAIR_COLORS = st.sampled_from(["blue", "green", None])


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    colors=st.lists(REPAIR_COLORS, min_size=1, max_size=6),
    forward=st.lists(st.sampled_from(["ok", "ok", "500", "500-applied", "409"]), min_size=6, max_size=6),
    revert_failures=st.lists(st.integers(min_value=0, max_value=REVERT_ATTEMPTS - 1), min_size=6, max_size=6),
    break_verification=st.booleans(),
)
def test_any_repair_ends_with_one_true_record_or_exactly_as_it_was(colors, forward, revert_failures, break_verification):
    """A repair drawn at random, with patch failures and transient revert failures below the retry bound."""
    names = ["svc-%d" % i for i in range(len(colors))]
    kube = FakeKube()
    kube.group(names)
    old = {plan.ANNOTATION_ACTIVE: "blue", plan.ANNOTATION_PREVIOUS: "green", plan.ANNOTATION_SWITCH_ID: "old", plan.ANNOTATION_LAST_ACTION: "switched"}
    for name, color in zip(names, colors):
        kube.edit_service(name, {"spec": {"selector": {"color": color}}, "metadata": {"annotations": old}})
    before = {"colors": kube.colors(names), "annotations": annotations(kube, names)}
    for name, outcome in zip(names, forward):
        if outcome != "ok":
            kube.fail("patch_service", name, int(outcome[:3]), apply=outcome == "500-applied")
    for name, count in zip(names, revert_failures):
        if count:
            kube.fail("patch_service", name, 500, times=count, when=is_revert)
    if break_verification:
        kube.fail("list_endpointslices", "*", 500)
    try:
        result = repair(kube, services=names)
    except BlueGreenError:
        assert kube.colors(names) == before["colors"] and annotations(kube, names) == before["annotations"]
    else:
        assert result["changed"]
        assert plan.record_is_true([plan.service_view(kube.services[name], "color") for name in names])
        assert set(kube.colors(names).values()) == {"green"}
    assert LEASE_NAME not in kube.leases


OUTCOMES = st.sampled_from(["ok", "500", "500-applied", "409"])


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    size=st.integers(min_value=1, max_value=8),
    forward=st.lists(OUTCOMES, min_size=8, max_size=8),
    revert_failures=st.lists(st.integers(min_value=0, max_value=REVERT_ATTEMPTS - 1), min_size=8, max_size=8),
    break_verification=st.booleans(),
)
def test_any_failure_sequence_ends_on_one_color(size, forward, revert_failures, break_verification):
    """Patch outcomes drawn at random, transient revert failures below the retry bound: never a split group."""
    names = ["svc-%d" % i for i in range(size)]
    kube = FakeKube()
    kube.group(names)
    for name, outcome in zip(names, forward):
        if outcome != "ok":
            kube.fail("patch_service", name, int(outcome[:3]), apply=outcome == "500-applied")
    for name, count in zip(names, revert_failures):
        if count:
            kube.fail("patch_service", name, 500, times=count, to_color="blue")
    if break_verification:
        kube.fail("list_endpointslices", "*", 500)
    try:
        result = switch(kube, services=names)
    except BlueGreenError as err:
        assert err.details["split"] is False
        assert set(kube.colors(names).values()) == {"blue"}
    else:
        assert set(kube.colors(names).values()) == {"green"} and result["active_color"] == "green"
    assert LEASE_NAME not in kube.leases


class TestConcurrentPatches:
    """patch_concurrency > 1: the same all-or-nothing outcome, with the patches of a batch in flight together."""

    NAMES = ["svc-%02d" % index for index in range(12)]

    @pytest.fixture
    def big(self):
        fake = FakeKube()
        fake.group(self.NAMES)
        return fake

    def test_the_whole_group_moves_in_the_same_request_budget(self, big):
        result = switch(big, services=self.NAMES, patch_concurrency=8)
        assert_one_color(big, "green", names=self.NAMES)
        assert_one_record(big, "green", previous="blue", switch_id="switch-1", names=self.NAMES)
        assert big.requests == len(self.NAMES) + 10 == result["api_requests"]
        assert sorted(name for verb, name in big.writes if verb == "patch_service") == self.NAMES

    def test_patches_really_overlap(self, big):
        in_flight, most = [0], [0]
        lock = threading.Lock()
        original = big.patch_service

        def slow_patch(namespace, name, patch):
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            time.sleep(0.02)
            try:
                return original(namespace, name, patch)
            finally:
                with lock:
                    in_flight[0] -= 1

        big.patch_service = slow_patch
        switch(big, services=self.NAMES, patch_concurrency=4)
        assert most[0] == 4
        assert_one_color(big, "green", names=self.NAMES)

    @pytest.mark.parametrize("status,landed", [(500, False), (500, True), (409, False)])
    def test_a_refused_patch_stops_the_rest_and_everything_that_landed_goes_back(self, big, status, landed):
        big.fail("patch_service", "svc-03", status, apply=landed)
        forward = []
        original = big.patch_service

        def slow_patch(namespace, name, patch):
            if ((patch.get("spec") or {}).get("selector") or {}).get("color") == "green":
                forward.append(name)
            time.sleep(0.01)  # each patch takes a while, as over a network
            return original(namespace, name, patch)

        big.patch_service = slow_patch
        with pytest.raises(BlueGreenError, match="patching Service svc-03 failed") as err:
            switch(big, services=self.NAMES, patch_concurrency=4)
        assert_one_color(big, "blue", names=self.NAMES)
        assert err.value.details["split"] is False
        for name in self.NAMES:
            assert plan.ANNOTATION_SWITCH_ID not in big.services[name]["metadata"].get("annotations", {}), name
        # Only the patches in flight when svc-03 was refused were sent besides it: the tail of the group never was.
        assert "svc-03" in forward and len(forward) < len(self.NAMES), forward
        assert "svc-11" not in forward, forward

    def test_an_unexpected_error_in_one_patch_reverts_the_others(self, big):
        original = big.patch_service

        def breaks_once(namespace, name, patch):
            if name == "svc-05" and patch.get("spec"):
                raise RuntimeError("connection pool exploded")
            return original(namespace, name, patch)

        big.patch_service = breaks_once
        with pytest.raises(BlueGreenError, match="unexpected error during the switch"):
            switch(big, services=self.NAMES, patch_concurrency=8)
        assert_one_color(big, "blue", names=self.NAMES)

    def test_record_only_patches_end_before_any_selector_moves(self, big):
        for name in self.NAMES[:5]:
            big.edit_service(name, {"spec": {"selector": {"color": "green"}}})
        order = []
        original = big.patch_service

        def recording(namespace, name, patch):
            order.append("selector" if patch.get("spec") else "record")
            return original(namespace, name, patch)

        big.patch_service = recording
        switch(big, services=self.NAMES, repair=True, patch_concurrency=8)
        assert order == ["record"] * 5 + ["selector"] * 7
        assert_one_color(big, "green", names=self.NAMES)

    @pytest.mark.parametrize("value", [0, 33])
    def test_out_of_range(self, value):
        with pytest.raises(BlueGreenError, match="patch_concurrency must be between 1 and 32"):
            validate_params(params(patch_concurrency=value))

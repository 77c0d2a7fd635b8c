"""Decision logic of a blue/green switch: pure functions over plain Kubernetes JSON."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen import plan
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError

from bluegreen_fakekube import make_deployment, make_pod, make_service, merge_patch

GROUP = ["user-service", "point-service", "rewards-service", "admin-service"]


def views_of(colors, annotations=None):
    services = [make_service(name, color, annotations=(annotations or {}).get(name)) for name, color in colors.items()]
    for index, service in enumerate(services):
        service["metadata"]["resourceVersion"] = str(10 + index)
    return plan.group_views(plan.index_by_name(services), list(colors), "color", "ns")


class TestActiveColor:
    def test_group_on_one_color(self):
        assert plan.group_color(views_of(dict.fromkeys(GROUP, "blue"))) == "blue"

    def test_mixed_group_has_no_color(self):
        views = views_of({"user-service": "blue", "point-service": "green"})
        assert plan.group_color(views) is None
        assert plan.describe_colors(views) == "user-service=blue, point-service=green"

    def test_selector_without_the_color_key_counts_as_mixed(self):
        views = views_of({"user-service": None, "point-service": None})
        assert plan.group_color(views) is None
        assert "(no color key)" in plan.describe_colors(views)

    def test_missing_services_are_named(self):
        services = plan.index_by_name([make_service("user-service", "blue")])
        with pytest.raises(BlueGreenError) as err:
            plan.group_views(services, ["user-service", "admin-service", "point-service"], "color", "prod")
        assert "admin-service, point-service not found in namespace prod" in err.value.msg
        assert err.value.details["missing_services"] == ["admin-service", "point-service"]


class TestResolveTarget:
    def test_same_target_is_a_noop(self):
        target, noop = plan.resolve_target("switched", "blue", views_of(dict.fromkeys(GROUP, "blue")), "color")
        assert target == "blue" and "already selects color=blue" in noop

    def test_other_target_is_a_switch(self):
        assert plan.resolve_target("switched", "green", views_of(dict.fromkeys(GROUP, "blue")), "color") == ("green", None)

    def test_rollback_goes_to_the_recorded_previous_color(self):
        notes = dict.fromkeys(GROUP, {plan.ANNOTATION_PREVIOUS: "blue", plan.ANNOTATION_LAST_ACTION: "switched"})
        assert plan.resolve_target("rolled_back", None, views_of(dict.fromkeys(GROUP, "green"), notes), "color") == ("blue", None)

    def test_rollback_twice_is_a_noop(self):
        notes = dict.fromkeys(GROUP, {plan.ANNOTATION_PREVIOUS: "green", plan.ANNOTATION_LAST_ACTION: "rolled_back"})
        target, noop = plan.resolve_target("rolled_back", None, views_of(dict.fromkeys(GROUP, "blue"), notes), "color")
        assert target == "blue" and "already rolled back" in noop

    def test_rollback_without_record_is_refused(self):
        with pytest.raises(BlueGreenError, match="user-service.*has no loyalty.platform/previous-color"):
            plan.resolve_target("rolled_back", None, views_of({"user-service": "green"}), "color")

    def test_rollback_with_disagreeing_records_is_refused(self):
        notes = {"user-service": {plan.ANNOTATION_PREVIOUS: "blue"}, "point-service": {plan.ANNOTATION_PREVIOUS: "red"}}
        with pytest.raises(BlueGreenError, match="disagree on the previous color.*user-service=blue, point-service=red"):
            plan.resolve_target("rolled_back", None, views_of({"user-service": "green", "point-service": "green"}, notes), "color")

    def test_rollback_target_must_match_the_record(self):
        notes = dict.fromkeys(GROUP, {plan.ANNOTATION_PREVIOUS: "blue"})
        with pytest.raises(BlueGreenError, match="target_color=red but the recorded previous color is blue"):
            plan.resolve_target("rolled_back", "red", views_of(dict.fromkeys(GROUP, "green"), notes), "color")


class TestMixedGroup:
    def test_mixed_is_refused_listing_each_color(self):
        views = views_of({"user-service": "green", "point-service": "blue", "rewards-service": "blue"})
        with pytest.raises(BlueGreenError) as err:
            plan.services_to_switch(views, "green", False, "color")
        assert "user-service=green, point-service=blue, rewards-service=blue" in err.value.msg
        assert "repair: true" in err.value.msg
        assert err.value.details["colors"] == {"user-service": "green", "point-service": "blue", "rewards-service": "blue"}

    def test_repair_switches_only_the_stragglers(self):
        views = views_of({"user-service": "green", "point-service": "blue", "rewards-service": None})
        assert [view["name"] for view in plan.services_to_switch(views, "green", True, "color")] == ["point-service", "rewards-service"]


RECORD = {plan.ANNOTATION_ACTIVE: "green", plan.ANNOTATION_PREVIOUS: "blue", plan.ANNOTATION_SWITCHED_AT: "t0",
          plan.ANNOTATION_SWITCH_ID: "id-0", plan.ANNOTATION_LAST_ACTION: "switched"}


class TestOneRecord:
    """After any switch every Service carries the same record; a repair re-records the Services already on the target."""

    def test_services_on_the_target_are_written_first(self):
        views = views_of({"user-service": "blue", "point-service": "green", "rewards-service": None, "admin-service": "green"})
        assert [view["name"] for view in plan.services_on_target(views, "green")] == ["point-service", "admin-service"]
        assert [view["name"] for view in plan.patch_order(views, "green")] == ["point-service", "admin-service", "user-service", "rewards-service"]

    def test_a_service_on_the_target_gets_the_record_alone_with_the_precondition(self):
        view = views_of({"user-service": "blue", "point-service": "green"})[1]
        record = plan.audit_annotations("green", "blue", "t", "id-1", "switched")
        assert plan.switch_patch(view, "green", "color", record) == {"metadata": {"resourceVersion": "11", "annotations": record}}

    def test_record_only_revert_restores_the_annotations_and_leaves_the_selector(self):
        original = make_service("a", "green", annotations=dict(RECORD, team="x"))
        original["metadata"]["resourceVersion"] = "5"
        view = plan.service_view(original, "color")
        recorded = merge_patch(original, plan.switch_patch(view, "green", "color", plan.audit_annotations("green", None, "t1", "id-1", "switched")))
        assert recorded["spec"] == original["spec"] and plan.ANNOTATION_PREVIOUS not in recorded["metadata"]["annotations"]
        patch = plan.revert_patch(view, "color", "6", selector=False)
        assert "spec" not in patch
        reverted = merge_patch(recorded, patch)
        reverted["metadata"]["resourceVersion"] = "5"
        assert reverted == original

    def test_plain_switch_records_the_color_it_leaves(self):
        views = views_of(dict.fromkeys(GROUP, "blue"))
        assert plan.rollback_color(views, views, "green") == "blue"

    def test_repair_records_the_one_color_the_moved_services_leave(self):
        views = views_of({"user-service": "blue", "point-service": "green", "rewards-service": "blue"}, dict.fromkeys(GROUP, RECORD))
        changes = plan.services_to_switch(views, "green", True, "color")
        assert plan.rollback_color(views, changes, "green") == "blue"
        changes = plan.services_to_switch(views, "blue", True, "color")
        assert plan.rollback_color(views, changes, "blue") == "green"

    def test_repair_from_several_colors_keeps_the_agreed_recorded_previous_color(self):
        notes = dict.fromkeys(GROUP, dict(RECORD, **{plan.ANNOTATION_PREVIOUS: "red"}))
        views = views_of({"user-service": "blue", "point-service": None, "rewards-service": "green"}, notes)
        changes = plan.services_to_switch(views, "green", True, "color")
        assert plan.rollback_color(views, changes, "green") == "red"

    @pytest.mark.parametrize("previous", [{"user-service": "blue", "point-service": "red"}, {"user-service": "green", "point-service": "green"}, {}])
    def test_no_rollback_color_when_none_can_be_told(self, previous):
        """Disagreeing records, a recorded color equal to the target, or none: the annotation is removed on every Service."""
        notes = dict((name, {plan.ANNOTATION_PREVIOUS: color}) for name, color in previous.items())
        views = views_of({"user-service": "blue", "point-service": None, "rewards-service": "green"}, notes)
        changes = plan.services_to_switch(views, "green", True, "color")
        assert plan.rollback_color(views, changes, "green") is None

    def test_record_only_repair_keeps_the_agreed_recorded_previous_color(self):
        views = views_of(dict.fromkeys(GROUP, "green"), dict.fromkeys(GROUP, RECORD))
        assert plan.rollback_color(views, [], "green") == "blue"

    def test_one_true_record(self):
        assert plan.record_is_true(views_of(dict.fromkeys(GROUP, "green"), dict.fromkeys(GROUP, RECORD)))

    @pytest.mark.parametrize("colors,notes", [
        ({"user-service": "green", "point-service": "green"}, {"user-service": RECORD, "point-service": dict(RECORD, **{plan.ANNOTATION_SWITCH_ID: "id-9"})}),
        ({"user-service": "green", "point-service": "blue"}, {"user-service": RECORD, "point-service": RECORD}),
        ({"user-service": "green", "point-service": "green"}, {"user-service": RECORD}),
        ({"user-service": "green", "point-service": "green"}, {}),
    ], ids=["two-switch-ids", "record-disagrees-with-selector", "one-unrecorded", "never-recorded"])
    def test_records_that_are_not_one_true_record(self, colors, notes):
        assert not plan.record_is_true(views_of(colors, notes))

    def test_a_write_landed_when_the_selector_moved_or_our_switch_id_is_there(self):
        original = views_of({"a": "blue"}, {"a": RECORD})[0]
        assert not plan.write_landed(original, original, "id-1")
        assert plan.write_landed(dict(original, color="green"), original, "id-1")
        assert plan.write_landed(dict(original, annotations=dict(RECORD, **{plan.ANNOTATION_SWITCH_ID: "id-1"})), original, "id-1")

    @given(st.lists(st.sampled_from(["blue", "green", "red", None]), min_size=1, max_size=8), st.sampled_from(["blue", "green"]),
           st.sampled_from([None, "blue", "green", "red"]))
    def test_any_repair_leaves_one_record_that_agrees_with_every_selector(self, colors, target, recorded):
        names = ["svc-%d" % index for index in range(len(colors))]
        note = dict((key, value) for key, value in dict(RECORD, **{plan.ANNOTATION_PREVIOUS: recorded}).items() if value is not None)
        services = [make_service(name, color, annotations=note) for name, color in zip(names, colors)]
        for index, service in enumerate(services):
            service["metadata"]["resourceVersion"] = str(index + 1)
        views = plan.group_views(plan.index_by_name(services), names, "color", "ns")
        changes = plan.services_to_switch(views, target, True, "color")
        record = plan.audit_annotations(target, plan.rollback_color(views, changes, target), "t1", "id-1", "switched")
        patched = plan.patch_order(views, target)
        assert sorted(view["name"] for view in patched) == sorted(names)
        after = [plan.service_view(merge_patch(services[names.index(view["name"])], plan.switch_patch(view, target, "color", record)), "color")
                 for view in patched]
        assert plan.record_is_true(after) and plan.group_color(after) == target
        for view, after_view in zip(patched, after):
            assert after_view["selector"] == plan.switched_selector(view, "color", target)
            reverted = merge_patch(services[names.index(view["name"])], plan.revert_patch(view, "color", "x", selector=view["color"] != target))
            assert plan.service_view(reverted, "color")["annotations"] == view["annotations"]
            assert plan.service_view(reverted, "color")["selector"] == view["selector"]


class TestDeploymentReadiness:
    def test_ready_deployment_has_no_problem(self):
        assert plan.deployment_problems("a-green", make_deployment("a", "green", replicas=3), "a", "green") == []

    def test_missing_deployment(self):
        assert "does not exist; deploy the green color first" in plan.deployment_problems("a-green", None, "a", "green")[0]

    def test_generation_not_observed(self):
        problems = plan.deployment_problems("a-green", make_deployment("a", "green", generation=4, observed=3), "a", "green")
        assert "observedGeneration 3 < generation 4" in problems[0]

    @pytest.mark.parametrize("kwargs", [{"ready": 1}, {"updated": 1}, {"available": 1}])
    def test_partial_rollout(self, kwargs):
        problems = plan.deployment_problems("a-green", make_deployment("a", "green", replicas=2, **kwargs), "a", "green")
        assert len(problems) == 1 and "is not fully ready: spec.replicas=2" in problems[0]

    def test_zero_replicas_is_not_ready(self):
        problems = plan.deployment_problems("a-green", make_deployment("a", "green", replicas=0), "a", "green")
        assert "scaled to 0" in problems[0]

    def test_missing_spec_replicas_defaults_to_one(self):
        deployment = make_deployment("a", "green", replicas=1)
        del deployment["spec"]["replicas"]
        assert plan.deployment_problems("a-green", deployment, "a", "green") == []


class TestParity:
    def test_fewer_ready_replicas_than_active_fails(self):
        problem = plan.parity_problem("a-green", make_deployment("a", "green", replicas=2), "a-blue", make_deployment("a", "blue", replicas=5), "a")
        assert "has 2 ready replicas but a-blue" in problem and "at least 5" in problem

    def test_equal_or_more_passes(self):
        green, blue = make_deployment("a", "green", replicas=5), make_deployment("a", "blue", replicas=5)
        assert plan.parity_problem("a-green", green, "a-blue", blue, "a") is None

    def test_no_active_deployment_passes(self):
        assert plan.parity_problem("a-green", make_deployment("a", "green"), "a-blue", None, "a") is None

    def test_check_deployments_applies_parity_only_when_asked(self):
        views = views_of({"a": "blue"})
        deployments = plan.index_by_name([make_deployment("a", "green", replicas=1), make_deployment("a", "blue", replicas=3)])
        assert len(plan.check_deployments(views, "green", deployments, "{service}-{color}", True)) == 1
        assert plan.check_deployments(views, "green", deployments, "{service}-{color}", False) == []


class TestEndpoints:
    def test_switched_selector_must_select_a_ready_pod(self):
        views = views_of({"a": "blue"})
        pods = [make_pod("a", "green", 0, ready=False)]
        problems = plan.endpoint_problems(views, "green", "color", pods)
        assert "Service a: the switched selector app=a,color=green matches 1 Pod(s), none ready" in problems[0]

    def test_ready_pod_passes(self):
        views = views_of({"a": "blue"})
        assert plan.endpoint_problems(views, "green", "color", [make_pod("a", "green", 0)]) == []

    def test_terminating_pod_is_not_ready(self):
        pod = make_pod("a", "green", 0)
        pod["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
        assert not plan.pod_ready(pod)

    def test_empty_selector_selects_nothing(self):
        assert not plan.selector_matches({}, {"app": "a"})

    def _slice(self, service, *endpoints):
        return {"metadata": {"labels": {plan.SLICE_SERVICE_LABEL: service}}, "endpoints": list(endpoints)}

    def _endpoint(self, pod, ready=True):
        return {"conditions": {"ready": ready}, "targetRef": {"kind": "Pod", "name": pod}}

    def test_verification_passes_when_only_target_pods_are_ready(self):
        views = views_of({"a": "blue"})
        services = {"a": make_service("a", "green")}
        slices = [self._slice("a", self._endpoint("a-green-0"), self._endpoint("a-blue-0", ready=False))]
        assert plan.verify_endpoints(views, "green", "color", services, slices, [make_pod("a", "green", 0)]) == []

    def test_verification_flags_old_pods_still_ready(self):
        views = views_of({"a": "blue"})
        services = {"a": make_service("a", "green")}
        slices = [self._slice("a", self._endpoint("a-green-0"), self._endpoint("a-blue-0"))]
        problems = plan.verify_endpoints(views, "green", "color", services, slices, [make_pod("a", "green", 0)])
        assert "still hold ready endpoints that are not color=green Pods (a-blue-0)" in problems[0]

    def test_verification_flags_empty_slices(self):
        views = views_of({"a": "blue"})
        problems = plan.verify_endpoints(views, "green", "color", {"a": make_service("a", "green")}, [self._slice("a")], [])
        assert "hold no ready endpoint of a color=green Pod" in problems[0]

    def test_nil_ready_condition_counts_as_ready(self):
        assert plan.endpoint_ready({"conditions": {}})
        assert not plan.endpoint_ready({"conditions": {"ready": False}})

    def test_selector_verification(self):
        views = views_of({"a": "blue", "b": "blue"})
        theirs = make_service("b", "green", annotations={plan.ANNOTATION_SWITCH_ID: "other"})
        ours = make_service("a", "green", annotations={plan.ANNOTATION_SWITCH_ID: "mine"})
        problems = plan.verify_selectors(views, "green", "color", "mine", {"a": ours, "b": theirs})
        assert problems == ["Service b was changed by someone else during the switch (switch-id other, expected mine)"]
        problems = plan.verify_selectors(views, "green", "color", "mine", {"a": make_service("a", "blue")})
        assert "Service a selects color=blue after the switch, expected green" in problems[0]
        assert "Service b disappeared" in problems[1]


class TestPatches:
    def test_switch_patch_carries_precondition_selector_and_audit(self):
        view = views_of({"a": "blue"})[0]
        patch = plan.switch_patch(view, "green", "color", plan.audit_annotations("green", "blue", "2025-01-01T00:00:00Z", "id-1", "switched"))
        assert patch["metadata"]["resourceVersion"] == view["resource_version"]
        assert patch["spec"] == {"selector": {"color": "green"}}
        assert patch["metadata"]["annotations"] == {
            plan.ANNOTATION_ACTIVE: "green",
            plan.ANNOTATION_PREVIOUS: "blue",
            plan.ANNOTATION_SWITCHED_AT: "2025-01-01T00:00:00Z",
            plan.ANNOTATION_SWITCH_ID: "id-1",
            plan.ANNOTATION_LAST_ACTION: "switched",
        }

    def test_revert_patch_restores_exactly(self):
        original = make_service("a", "blue", annotations={"team": "x", plan.ANNOTATION_PREVIOUS: "green"})
        original["metadata"]["resourceVersion"] = "5"
        view = plan.service_view(original, "color")
        switched = merge_patch(original, plan.switch_patch(view, "green", "color", plan.audit_annotations("green", "blue", "t", "id", "switched")))
        switched["metadata"]["resourceVersion"] = "6"
        reverted = merge_patch(switched, plan.revert_patch(view, "color", "6"))
        reverted["metadata"]["resourceVersion"] = "5"
        assert reverted == original

    def test_revert_of_a_repaired_selector_removes_the_key(self):
        original = make_service("a", None)
        view = plan.service_view(original, "color")
        switched = merge_patch(original, plan.switch_patch(view, "green", "color", plan.audit_annotations("green", None, "t", "id", "switched")))
        assert plan.service_view(merge_patch(switched, plan.revert_patch(view, "color", "1")), "color")["color"] is None


class TestRevertPlanning:
    def test_applied_and_ambiguous_are_reverted_newest_first(self):
        outcomes = [("a", plan.APPLIED), ("b", plan.APPLIED), ("c", plan.AMBIGUOUS), ("d", plan.UNTOUCHED)]
        assert plan.revert_plan(outcomes) == ["c", "b", "a"]

    def test_refused_writes_are_not_reverted(self):
        assert plan.revert_plan([("a", plan.APPLIED), ("b", plan.NOT_APPLIED)]) == ["a"]

    @pytest.mark.parametrize("status,outcome", [(409, plan.NOT_APPLIED), (422, plan.NOT_APPLIED), (500, plan.AMBIGUOUS), (None, plan.AMBIGUOUS)])
    def test_error_classification(self, status, outcome):
        assert plan.classify_patch_error(status) == outcome

    @given(st.lists(st.sampled_from([plan.APPLIED, plan.AMBIGUOUS, plan.NOT_APPLIED]), min_size=1, max_size=40), st.booleans())
    def test_any_patch_sequence_reverts_to_one_color(self, results, applied_ambiguous):
        """Patches stop at the first failure; reverting the plan puts every Service back on the old color."""
        names = ["svc-%d" % index for index in range(len(results))]
        colors = dict.fromkeys(names, "blue")
        outcomes = [(name, plan.UNTOUCHED) for name in names]
        for index, result in enumerate(results):
            outcomes[index] = (names[index], result)
            if result == plan.APPLIED or (result == plan.AMBIGUOUS and applied_ambiguous):
                colors[names[index]] = "green"
            if result != plan.APPLIED:
                break
        for name in plan.revert_plan(outcomes):
            colors[name] = "blue"
        assert not plan.group_split(colors)
        assert set(colors.values()) == {"blue"}


def test_render_name_leaves_other_braces():
    assert plan.render_name("{service}-{color}", "user-service", "green") == "user-service-green"
    assert plan.render_name("x{y}-{color}", "s", "blue") == "x{y}-blue"


def test_diff_shows_selectors_before_and_after():
    views = views_of({"a": "blue"})
    after = [dict(views[0], selector={"app": "a", "color": "green"})]
    assert plan.diff_of(views, after) == {"before": {"a": {"selector": {"app": "a", "color": "blue"}}},
                                          "after": {"a": {"selector": {"app": "a", "color": "green"}}}}

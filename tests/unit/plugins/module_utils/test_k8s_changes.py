"""Unit tests of plugins/module_utils/k8s_changes.py and the loyalty.platform.k8s_changed filter.

The invariant that matters: whenever the rendered object is not a subset of the live one,
or was not the last one applied, the object is reported as changed (a false "unchanged"
would lose a change; a false "changed" only costs a no-op apply).
"""

import copy
import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.filter.k8s_changed import FilterModule
from ansible_collections.loyalty.platform.plugins.module_utils.k8s_changes import (
    APPLIED_HASH_ANNOTATION,
    SECRET_HASH_ANNOTATION,
    K8sChangesError,
    applied_hash,
    changed_objects,
    is_satisfied,
    is_subset,
    secret_hash,
    stamp,
)

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "user-service-blue", "namespace": "demo", "labels": {"app": "user-service", "color": "blue"}},
    "spec": {
        "replicas": 2,
        "template": {"spec": {"containers": [{"name": "user-service", "image": "repo/user-service:1.0.0",
                                              "ports": [{"name": "http", "containerPort": 8080}]}]}},
    },
}


def applied(desired, **server_fields):
    """What the API holds after a server-side apply of stamp(desired): the hash annotation, server fields, defaults."""
    live = copy.deepcopy(desired)
    live.pop("apiVersion", None)  # list items come without apiVersion and kind
    live.pop("kind", None)
    live["metadata"].setdefault("annotations", {})[APPLIED_HASH_ANNOTATION] = applied_hash(desired)
    live["metadata"].update({"uid": "0a1b", "resourceVersion": "42", "creationTimestamp": "2025-01-01T00:00:00Z"})
    live["status"] = {"observedGeneration": 1}
    live.update(server_fields)
    return live


def live_index(*objects, type_key="apps/v1/Deployment"):
    return {type_key: list(objects)}


def test_an_applied_object_with_server_defaults_is_unchanged():
    live = applied(DEPLOYMENT)
    live["spec"]["progressDeadlineSeconds"] = 600
    live["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    assert changed_objects([DEPLOYMENT], live_index(live)) == []


def test_a_missing_object_is_changed():
    assert changed_objects([DEPLOYMENT], {}) == [stamp(DEPLOYMENT)]
    assert changed_objects([DEPLOYMENT], live_index()) == [stamp(DEPLOYMENT)]


def test_an_object_with_another_name_or_namespace_does_not_count():
    other = copy.deepcopy(DEPLOYMENT)
    other["metadata"]["namespace"] = "elsewhere"
    assert changed_objects([DEPLOYMENT], live_index(applied(other))) == [stamp(DEPLOYMENT)]


def test_a_different_value_is_changed():
    live = applied(DEPLOYMENT)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "repo/user-service:0.9.0"  # edited behind our back
    assert changed_objects([DEPLOYMENT], live_index(live)) == [stamp(DEPLOYMENT)]


def test_a_field_dropped_from_the_template_is_changed():
    # live still holds the label, and the last apply had it: the next apply removes it
    previous = copy.deepcopy(DEPLOYMENT)
    previous["metadata"]["labels"]["tier"] = "backend"
    assert changed_objects([DEPLOYMENT], live_index(applied(previous))) == [stamp(DEPLOYMENT)]


def test_without_the_applied_hash_annotation_it_is_changed():
    live = applied(DEPLOYMENT)
    del live["metadata"]["annotations"][APPLIED_HASH_ANNOTATION]
    assert changed_objects([DEPLOYMENT], live_index(live)) == [stamp(DEPLOYMENT)]
    live["metadata"]["annotations"][APPLIED_HASH_ANNOTATION] = "not-the-hash"
    assert changed_objects([DEPLOYMENT], live_index(live)) == [stamp(DEPLOYMENT)]


def test_the_stamp_is_the_hash_of_the_manifest_and_never_its_content():
    stamped = stamp(DEPLOYMENT)
    value = stamped["metadata"]["annotations"][APPLIED_HASH_ANNOTATION]
    assert len(value) == 64 and "user-service" not in value
    assert "annotations" not in DEPLOYMENT["metadata"]  # the input is left as it is
    assert applied_hash(stamped) == applied_hash(DEPLOYMENT) == value  # stamping again changes nothing
    other = copy.deepcopy(DEPLOYMENT)
    other["spec"]["replicas"] = 3
    assert applied_hash(other) != value


def test_types_are_compared_strictly():
    assert not is_subset(True, 1)
    assert not is_subset(1, True)
    assert not is_subset(1, 1.0)
    assert not is_subset("1", 1)
    assert not is_subset([1, 2], [1, 2, 3])
    assert not is_subset({"a": None}, {})
    assert is_subset({"a": [{"b": 1}]}, {"a": [{"b": 1, "c": 2}], "d": 3})


def test_the_order_of_the_input_is_kept():
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "demo"}, "data": {"k": "v"}}
    live = {"apps/v1/Deployment": [applied(DEPLOYMENT)], "v1/ConfigMap": []}
    changed_deployment = dict(DEPLOYMENT, spec=dict(DEPLOYMENT["spec"], replicas=3))
    assert changed_objects([changed_deployment, config], live) == [stamp(changed_deployment), stamp(config)]


def test_a_namespace_is_matched_without_a_namespace():
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo", "labels": {"a": "b"}}}
    assert changed_objects([namespace], {"v1/Namespace": [applied(namespace)]}) == []


def secret(**data):
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "user-service-secrets", "namespace": "demo", "annotations": {SECRET_HASH_ANNOTATION: secret_hash(data)}},
        "data": data,
    }


def test_secrets_are_compared_by_the_hash_of_their_data():
    desired = secret(password="c2VjcmV0")
    assert changed_objects([desired], {"v1/Secret": [applied(desired)]}) == []
    rotated = secret(password="bmV3")
    assert changed_objects([rotated], {"v1/Secret": [applied(desired)]}) == [stamp(rotated)]
    # edited by hand: the annotation still matches, the live data does not
    tampered = applied(desired)
    tampered["data"]["password"] = "dGFtcGVyZWQ="
    assert changed_objects([desired], {"v1/Secret": [tampered]}) == [stamp(desired)]
    # a stale annotation (not the hash of the data sent) never counts as unchanged
    stale = copy.deepcopy(desired)
    stale["data"]["password"] = "b3RoZXI="
    assert changed_objects([stale], {"v1/Secret": [applied(stale)]}) == [stamp(stale)]
    # no annotation: changed
    bare = copy.deepcopy(desired)
    del bare["metadata"]["annotations"]
    assert changed_objects([bare], {"v1/Secret": [applied(bare)]}) == [stamp(bare)]


def test_the_live_listing_may_come_as_its_json_text():
    live = applied(DEPLOYMENT)
    assert changed_objects([DEPLOYMENT], json.dumps(live_index(live))) == []
    changed = copy.deepcopy(DEPLOYMENT)
    changed["spec"]["replicas"] = 3
    assert changed_objects([changed], json.dumps(live_index(live))) == [stamp(changed)]
    with pytest.raises(K8sChangesError, match="not JSON"):
        changed_objects([DEPLOYMENT], "{not json")
    with pytest.raises(K8sChangesError, match="mapping"):
        changed_objects([DEPLOYMENT], "[]")


def test_the_filter_plugin_wraps_errors():
    k8s_changed = FilterModule().filters()["k8s_changed"]
    assert k8s_changed([DEPLOYMENT], live_index(applied(DEPLOYMENT))) == []
    with pytest.raises(AnsibleFilterError, match="apps/v1/Deployment"):
        k8s_changed([DEPLOYMENT], {"Deployment": []})
    with pytest.raises(AnsibleFilterError, match="list of manifests"):
        k8s_changed(DEPLOYMENT, {})
    with pytest.raises(K8sChangesError):
        changed_objects([DEPLOYMENT], [])


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "user-service", "namespace": "demo", "labels": {"app": "user-service"}},
    "spec": {"selector": {"app": "user-service", "color": "blue"}, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]},
}
SELECTOR_ON_CREATE = {"v1/Service": ["spec.selector"]}


def without_selector(service):
    bare = copy.deepcopy(service)
    del bare["spec"]["selector"]
    return bare


def test_create_only_fields_are_sent_to_a_created_object_outside_its_hash():
    created = changed_objects([SERVICE, DEPLOYMENT], {}, SELECTOR_ON_CREATE)
    assert created[0]["spec"] == SERVICE["spec"]
    # The hash is the selector-less manifest's, so what the create wrote satisfies the next run whatever it selects now.
    assert created[0]["metadata"]["annotations"][APPLIED_HASH_ANNOTATION] == applied_hash(without_selector(SERVICE))
    assert created[1] == stamp(DEPLOYMENT)  # another type keeps everything
    assert SERVICE["spec"]["selector"] == {"app": "user-service", "color": "blue"}  # the input is left as it is
    live = applied(without_selector(SERVICE))
    live["spec"]["selector"] = {"app": "user-service", "color": "green"}  # switched since
    assert changed_objects([SERVICE], live_index(live, type_key="v1/Service"), SELECTOR_ON_CREATE) == []


def test_create_only_fields_never_reach_an_existing_object():
    live = applied(without_selector(SERVICE))
    live["metadata"]["annotations"][APPLIED_HASH_ANNOTATION] = "an-older-template"
    live["spec"]["selector"] = {"app": "user-service", "color": "green"}
    [update] = changed_objects([SERVICE], live_index(live, type_key="v1/Service"), SELECTOR_ON_CREATE)
    assert update == stamp(without_selector(SERVICE))
    assert "selector" not in update["spec"]


def test_a_create_only_path_the_manifest_lacks_changes_nothing():
    paths = {"v1/Service": ["spec.clusterIP", "status.loadBalancer.ingress", "metadata.labels.app"]}
    [created] = changed_objects([SERVICE], {}, paths)
    assert created["metadata"]["labels"] == SERVICE["metadata"]["labels"]
    bare = copy.deepcopy(SERVICE)
    del bare["metadata"]["labels"]["app"]
    assert created["metadata"]["annotations"][APPLIED_HASH_ANNOTATION] == applied_hash(bare)
    assert created["spec"] == SERVICE["spec"] and "status" not in created


@pytest.mark.parametrize("create_only", [[], {"v1/Service": "spec.selector"}, {"v1/Service": ["spec..selector"]}, {"v1/Service": [""]}])
def test_create_only_must_map_types_to_field_paths(create_only):
    with pytest.raises(K8sChangesError, match="create_only"):
        changed_objects([SERVICE], {}, create_only)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2, allow_nan=False), st.text("ab1", max_size=2))
KEYS = st.text("abc", min_size=1, max_size=2)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=3)),
    max_leaves=12,
)
SPECS = st.dictionaries(KEYS, VALUES, max_size=4)


def manifest(spec):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "demo"}, "spec": spec}


@settings(max_examples=300, deadline=None)
@given(desired_spec=SPECS, live_spec=SPECS, last_spec=SPECS)
def test_not_a_subset_of_live_or_not_the_last_applied_means_changed(desired_spec, live_spec, last_spec):
    desired, last = manifest(desired_spec), manifest(last_spec)
    live = applied(last)
    live["spec"] = live_spec
    result = changed_objects([desired], {"v1/ConfigMap": [live]})
    if not is_subset(desired_spec, live_spec) or json.loads(json.dumps(desired_spec)) != last_spec:
        assert result == [stamp(desired)]
    if result == []:
        assert is_satisfied(desired, live)


@settings(max_examples=200, deadline=None)
@given(desired_spec=SPECS, extra=SPECS)
def test_an_applied_object_with_extra_live_fields_is_unchanged(desired_spec, extra):
    desired = manifest(desired_spec)
    live = applied(desired)
    live["spec"] = dict(extra, **copy.deepcopy(desired_spec))
    assert changed_objects([desired], {"v1/ConfigMap": [live]}) == []


@settings(max_examples=200, deadline=None)
@given(desired_spec=SPECS, live_spec=SPECS)
def test_subset_is_reflexive_and_detects_every_difference(desired_spec, live_spec):
    assert is_subset(desired_spec, copy.deepcopy(desired_spec))
    assume(desired_spec != live_spec)
    if is_subset(desired_spec, live_spec):
        # live may only add keys to mappings, never change a value
        assert all(key in live_spec for key in desired_spec)

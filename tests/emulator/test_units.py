"""In-process unit tests of the emulator's pure parts: patch formats and selectors."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# conftest (through emu_support) has put sandbox/ on sys.path.
from kubeemu.errors import ApiError
from kubeemu.patch import json_patch, merge_key_for, merge_patch, strategic_merge
from kubeemu.selectors import (fields_match, labels_match, parse_field_selector, parse_label_selector, selector_matches,
                               selector_to_string)

KEYS = st.sampled_from(["a", "b", "c", "d"])
SCALARS = st.one_of(st.integers(-3, 3), st.text(max_size=3), st.booleans())
JSON_NO_NULL = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)), max_leaves=10)
OBJECTS = st.dictionaries(KEYS, JSON_NO_NULL, max_size=4)


def test_rfc7386_examples():
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": "b", "b": "c"}, {"a": None}) == {"b": "c"}
    assert merge_patch({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


@settings(max_examples=60, deadline=None)
@given(OBJECTS, OBJECTS)
def test_merge_patch_is_idempotent_and_pure(target, patch):
    before = repr(target)
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once
    assert repr(target) == before  # the input is not modified


@settings(max_examples=60, deadline=None)
@given(OBJECTS)
def test_strategic_merge_with_itself_is_identity(obj):
    assert strategic_merge(obj, obj, "ConfigMap") == obj


def test_merge_keys_for_builtin_lists():
    pod = ("Deployment", "spec", "template", "spec")
    assert merge_key_for(pod + ("containers",)) == "name"
    assert merge_key_for(pod + ("containers", "ports")) == "containerPort"
    assert merge_key_for(pod + ("containers", "env")) == "name"
    assert merge_key_for(pod + ("containers", "volumeMounts")) == "mountPath"
    assert merge_key_for(pod + ("volumes",)) == "name"
    assert merge_key_for(pod + ("imagePullSecrets",)) == "name"
    assert merge_key_for(pod + ("tolerations",)) is None
    assert merge_key_for(("Service", "spec", "ports")) == "port"
    assert merge_key_for(("NetworkPolicy", "spec", "ingress")) is None
    assert merge_key_for(("Deployment", "status", "conditions")) == "type"
    assert merge_key_for(("Pod", "metadata", "ownerReferences")) == "uid"


def test_strategic_merge_finalizers_union_and_delete_from_primitive_list():
    obj = {"metadata": {"finalizers": ["a", "b"]}}
    assert strategic_merge(obj, {"metadata": {"finalizers": ["c", "a"]}}, "ConfigMap")["metadata"]["finalizers"] == ["a", "b", "c"]
    patched = strategic_merge(obj, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, "ConfigMap")
    assert patched["metadata"]["finalizers"] == ["b"]


def test_strategic_merge_list_replace_directive():
    obj = {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}
    patch = {"spec": {"containers": [{"name": "c", "image": "z"}, {"$patch": "replace"}]}}
    assert strategic_merge(obj, patch, "Pod")["spec"]["containers"] == [{"name": "c", "image": "z"}]


def test_json_patch_errors():
    with pytest.raises(ApiError) as err:
        json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert err.value.code == 422
    with pytest.raises(ApiError) as err:
        json_patch({"a": 1}, [{"op": "remove", "path": "/missing"}])
    assert err.value.code == 422
    with pytest.raises(ApiError) as err:
        json_patch({"a": 1}, [{"op": "explode", "path": "/a"}])
    assert err.value.code == 400
    assert json_patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}, {"op": "copy", "from": "/a", "path": "/b"}]) == {"a": [1, 2], "b": [1, 2]}


@pytest.mark.parametrize("selector,labels,expected", [
    ("a=b", {"a": "b"}, True),
    ("a=b", {"a": "c"}, False),
    ("a!=b", {}, True),
    ("a in (x, y)", {"a": "y"}, True),
    ("a notin (x,y)", {"a": "z"}, True),
    ("a notin (x,y)", {}, True),
    ("a", {"a": ""}, True),
    ("!a", {"a": ""}, False),
    ("a=b,c", {"a": "b"}, False),
    ("example.com/role in (api),tier!=db", {"example.com/role": "api", "tier": "web"}, True),
    ("", {"x": "y"}, True),
])
def test_label_selector_strings(selector, labels, expected):
    assert labels_match(parse_label_selector(selector), labels) is expected


@pytest.mark.parametrize("bad", ["a==", "a in x", "=b", "a=(b", "a b"])
def test_bad_label_selectors(bad):
    if bad == "a==":
        # An empty value is valid ("a==" means a is set to the empty string).
        assert labels_match(parse_label_selector(bad), {"a": ""})
        return
    with pytest.raises(ApiError):
        parse_label_selector(bad)


def test_label_selector_objects():
    expressions = [{"key": "slot", "operator": "In", "values": ["blue", "green"]}, {"key": "canary", "operator": "DoesNotExist"}]
    selector = {"matchLabels": {"app": "web"}, "matchExpressions": expressions}
    assert selector_matches(selector, {"app": "web", "slot": "blue"})
    assert not selector_matches(selector, {"app": "web", "slot": "red"})
    assert not selector_matches(selector, {"app": "web", "slot": "blue", "canary": "1"})
    assert selector_matches({}, {"anything": "x"}) and not selector_matches(None, {"a": "b"})
    assert selector_to_string(selector) == "app=web,slot in (blue,green),!canary"


def test_field_selectors():
    obj = {"metadata": {"name": "x", "namespace": "n"}, "status": {"phase": "Running"}, "spec": {"replicas": 2, "paused": False}}
    assert fields_match(parse_field_selector("metadata.name=x,status.phase!=Pending"), obj)
    assert fields_match(parse_field_selector("spec.replicas==2,spec.paused=false"), obj)
    assert not fields_match(parse_field_selector("metadata.namespace=other"), obj)
    assert fields_match(parse_field_selector("spec.missing="), obj)
    with pytest.raises(ApiError):
        parse_field_selector("nonsense")

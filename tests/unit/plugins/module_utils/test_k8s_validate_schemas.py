"""Unit tests of the offline manifest validation (plugins/module_utils/k8s_validate.py)."""

import copy

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils import k8s_validate as kv


def deployment(**container_extra):
    container = {"name": "app", "image": "ghcr.io/loyalty-system/app:1.0.0"}
    container.update(container_extra)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app-blue", "namespace": "loyalty-system-local"},
        "spec": {
            "selector": {"matchLabels": {"app": "app", "color": "blue"}},
            "template": {
                "metadata": {"labels": {"app": "app", "color": "blue"}},
                "spec": {"containers": [container]},
            },
        },
    }


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "loyalty-system-local"}}


def test_valid_manifests_pass_and_are_listed_in_order():
    version, objects, errors = kv.validate_manifests([NAMESPACE, deployment()], "1.30")
    assert version == "1.30"
    assert errors == []
    assert [obj["object"] for obj in objects] == [
        "Namespace loyalty-system-local",
        "Deployment loyalty-system-local/app-blue",
    ]
    assert all(obj["valid"] for obj in objects)


def test_unknown_field_is_rejected_in_strict_mode_with_object_and_path():
    _version, objects, errors = kv.validate_manifests([deployment(imagePullPolice="Always")], "1.30", strict=True)
    assert len(errors) == 1
    error = errors[0]
    assert error["object"] == "Deployment loyalty-system-local/app-blue"
    assert (error["kind"], error["namespace"], error["name"]) == ("Deployment", "loyalty-system-local", "app-blue")
    assert error["path"] == "spec.template.spec.containers[0]"
    assert "imagePullPolice" in error["message"]
    assert objects[0]["valid"] is False
    assert kv.error_line(error).startswith("Deployment loyalty-system-local/app-blue: spec.template.spec.containers[0]: ")


def test_unknown_field_passes_when_not_strict():
    _version, _objects, errors = kv.validate_manifests([deployment(imagePullPolice="Always")], "1.30", strict=False)
    assert errors == []


def test_wrong_type_names_the_leaf_field():
    bad = deployment(ports=[{"containerPort": "8080"}])
    _version, _objects, errors = kv.validate_manifests([bad], "1.30")
    assert [error["path"] for error in errors] == ["spec.template.spec.containers[0].ports[0].containerPort"]
    assert "integer" in errors[0]["message"]


def test_missing_required_field():
    bad = deployment()
    del bad["spec"]["selector"]
    _version, _objects, errors = kv.validate_manifests([bad], "1.30")
    assert [error["path"] for error in errors] == ["spec"]
    assert "'selector' is a required property" in errors[0]["message"]


def test_unknown_kind_or_api_version_is_an_error():
    gone = {"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "restricted"}}
    _version, _objects, errors = kv.validate_manifests([gone], "1.30")
    assert len(errors) == 1
    assert errors[0]["path"] == "apiVersion"
    assert "Kubernetes 1.30 has no PodSecurityPolicy in policy/v1beta1" in errors[0]["message"]


def test_missing_kind_name_and_non_mapping():
    _version, objects, errors = kv.validate_manifests(
        [{"apiVersion": "v1", "metadata": {"name": "x"}}, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "text"],
        "1.30",
    )
    assert [(error["object"], error["path"]) for error in errors] == [
        ("<no kind> x", "kind"),
        ("ConfigMap <no name>", "metadata.name"),
        ("<not a mapping>", "(top level)"),
    ]
    assert [obj["valid"] for obj in objects] == [False, False, False]


def test_null_values_are_rejected_unless_allowed():
    bad = deployment()
    bad["spec"]["template"]["spec"]["volumes"] = [{"name": "tmp", "emptyDir": None}]
    _version, _objects, errors = kv.validate_manifests([bad], "1.30")
    assert [error["path"] for error in errors] == ["spec.template.spec.volumes[0].emptyDir"]
    assert "null value" in errors[0]["message"]
    _version, _objects, errors = kv.validate_manifests([bad], "1.30", reject_null=False)
    assert errors == []


def test_duplicate_objects_are_reported():
    _version, _objects, errors = kv.validate_manifests([NAMESPACE, copy.deepcopy(NAMESPACE)], "1.30")
    assert len(errors) == 1
    assert "defined twice" in errors[0]["message"]


def test_errors_per_object_are_capped():
    bad = deployment(**{"field%d" % index: index for index in range(30)})
    _version, _objects, errors = kv.validate_manifests([bad], "1.30")
    assert 1 <= len(errors) <= kv.MAX_ERRORS_PER_OBJECT


@pytest.mark.parametrize(
    "requested, expected",
    [("1.30", "1.30.0"), ("v1.30.4", "1.30.0"), ("1.99", "1.37.0"), ("1.10", "1.28.0"), ("1.31", "1.31.0")],
)
def test_nearest_version(requested, expected):
    shipped = ["1.28.0", "1.29.0", "1.30.0", "1.31.0", "1.37.0"]
    assert kv.nearest_version(requested, shipped) == expected


def test_version_that_is_not_a_version_fails_with_the_fix():
    with pytest.raises(kv.K8sValidateError, match="use major.minor"):
        kv.validate_manifests([NAMESPACE], "latest")


def test_schema_version_is_the_nearest_shipped_one():
    version, _objects, errors = kv.validate_manifests([NAMESPACE], "1.99")
    assert errors == []
    assert kv.parse_version(version) >= (1, 30)


@pytest.mark.parametrize(
    "kind, api_version, expected",
    [
        ("Deployment", "apps/v1", "deployment-apps-v1.json"),
        ("NetworkPolicy", "networking.k8s.io/v1", "networkpolicy-networking-v1.json"),
        ("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscaler-autoscaling-v2.json"),
        ("Namespace", "v1", "namespace-v1.json"),
    ],
)
def test_schema_file_name(kind, api_version, expected):
    assert kv.schema_file_name(kind, api_version) == expected


def test_format_path():
    assert kv.format_path(["spec", "containers", 0, "image"]) == "spec.containers[0].image"
    assert kv.format_path([]) == "(top level)"


def test_schema_set_caches_validators():
    schemas = kv.SchemaSet("1.30")
    first = schemas.validator("Deployment", "apps/v1")
    assert first is schemas.validator("Deployment", "apps/v1")
    assert schemas.validator("Nothing", "v1") is None

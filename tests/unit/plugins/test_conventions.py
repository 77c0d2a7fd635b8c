"""The shared conventions: one home, read by the roles through a filter and a test, and the release tag rule."""

import os

import pytest
import yaml

from ansible_collections.loyalty.platform.plugins.filter.convention import FilterModule as ConventionFilter
from ansible_collections.loyalty.platform.plugins.filter.image_tag_problem import FilterModule as TagProblemFilter
from ansible_collections.loyalty.platform.plugins.module_utils import conventions
from ansible_collections.loyalty.platform.plugins.test.pinned_image_tag import TestModule as TagTest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

convention = ConventionFilter().filters()["convention"]
pinned = TagTest().tests()["pinned_image_tag"]
problem = TagProblemFilter().filters()["image_tag_problem"]


def test_values():
    assert convention("colors") == ["blue", "green"]
    assert convention("deployment_name") == "{service}-{color}"
    assert convention("context_path") + convention("readiness_suffix") == "/api/v1/actuator/health/readiness"
    assert conventions.colored_name("user-service", "green", convention("config_suffix")) == "user-service-green-config"
    assert [kind["kind"] for kind in convention("colored_kinds")] == ["HorizontalPodAutoscaler", "PodDisruptionBudget", "Deployment", "ConfigMap"]
    assert [service["name"] for service in convention("default_services")] == ["user-service", "point-service", "rewards-service", "admin-service"]


def test_callers_get_copies():
    convention("default_services")[0]["name"] = "changed"
    convention("colors").append("red")
    assert convention("default_services")[0]["name"] == "user-service" and convention("colors") == ["blue", "green"]


def test_unknown_name_is_named():
    with pytest.raises(Exception, match="no convention 'colour'; known: "):
        convention("colour")


@pytest.mark.parametrize("tag,environment,allowed", [
    ("1.4.2", "production", True),
    ("latest", "production", False),
    ("latest", "staging", True),
    ("", "local", False),
    (None, "local", False),
    ("-bad", "staging", False),
    ("a" * 129, "staging", False),
    ("v1_2.3-rc1", "production", True),
])
def test_release_tag_rule(tag, environment, allowed):
    assert pinned(tag, environment) is allowed
    assert (problem(tag, environment) == "") is allowed


def test_the_reason_names_the_tag():
    assert problem("latest", "production") == "image tag latest names no release and is refused in production"
    assert problem("", "production") == "no image tag is set"


def test_the_k8s_modules_default_to_the_conventions():
    """The modules' documented defaults are the conventions the roles read (a drift would switch the wrong objects)."""
    from ansible_collections.loyalty.platform.plugins.modules import k8s_bluegreen, k8s_bluegreen_info  # pylint: disable=import-outside-toplevel

    for module in (k8s_bluegreen, k8s_bluegreen_info):
        options = yaml.safe_load(module.DOCUMENTATION)["options"]
        spec = module.argument_spec()
        assert options["color_label"]["default"] == spec["color_label"]["default"] == conventions.COLOR_LABEL
        assert options["deployment_name"]["default"] == spec["deployment_name"]["default"] == conventions.DEPLOYMENT_NAME


def test_no_role_restates_a_convention():
    """The colors, the Deployment name and the release tag rule are written in no role or playbook but through the
    convention filter and the pinned_image_tag test."""
    offenders = []
    for top in ("roles", "playbooks"):
        for directory, _dirs, files in os.walk(os.path.join(REPO_ROOT, top)):
            # Argument specs state choices declaratively; test_spec_choices_are_the_conventions checks them.
            if "molecule" in directory or directory.endswith(os.sep + "meta"):
                continue
            for name in files:
                if not name.endswith((".yml", ".j2")):
                    continue
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
                for needle in ("{service}-{color}", "== 'latest'", "!= 'latest'", "- blue\n  - green", "[blue, green]", "~ '-' ~ _eks_apps_color",
                               "~ '-' ~ color", "'-config'", "}}-{{ _bluegreen_deploy"):
                    if needle in text:
                        offenders.append("%s: %s" % (os.path.relpath(path, REPO_ROOT), needle.strip()))
    assert offenders == []


def test_spec_choices_are_the_conventions():
    with open(os.path.join(REPO_ROOT, "roles", "bluegreen_deploy", "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        bluegreen = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    with open(os.path.join(REPO_ROOT, "roles", "eks_apps", "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        eks_apps = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert bluegreen["bluegreen_deploy_first_color"]["choices"] == list(conventions.COLORS)
    assert "default" not in bluegreen["bluegreen_deploy_first_color"]
    assert eks_apps["eks_apps_color"]["choices"] == [""] + list(conventions.COLORS)
    assert bluegreen["bluegreen_deploy_environment"].get("choices", list(conventions.ENVIRONMENTS)) == list(conventions.ENVIRONMENTS)

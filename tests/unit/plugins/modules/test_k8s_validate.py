"""Unit tests of the loyalty.platform.k8s_validate module: arguments in, exit_json/fail_json out."""

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.loyalty.platform.plugins.modules import k8s_validate

CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "user-service-config", "namespace": "loyalty-system-local"},
    "data": {"application.yml": "server:\n  port: 8080\n"},
}


def run_module(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            k8s_validate.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_valid_definitions_exit_unchanged(capsys):
    code, result = run_module(capsys, definitions=[CONFIGMAP])
    assert code == 0
    assert result["changed"] is False
    assert result["schema_version"] == "1.30"
    assert result["errors"] == []
    assert result["objects"][0]["object"] == "ConfigMap loyalty-system-local/user-service-config"


def test_check_mode_behaves_the_same(capsys):
    code, result = run_module(capsys, definitions=[CONFIGMAP], _ansible_check_mode=True)
    assert code == 0
    assert result["changed"] is False


def test_invalid_definition_fails_naming_object_and_field(capsys):
    bad = dict(CONFIGMAP, date={"typo": "x"})
    code, result = run_module(capsys, definitions=[CONFIGMAP, bad])
    assert code == 1
    assert result["failed"] is True
    assert result["msg"].startswith("1 of 2 manifest(s) do not match the Kubernetes 1.30 schema (strict)")
    assert "ConfigMap loyalty-system-local/user-service-config: (top level): Additional properties are not allowed ('date'" in result["msg"]
    assert result["errors"][0]["path"] == "(top level)"


def test_the_result_never_echoes_the_manifests(capsys):
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "user-service-secrets", "namespace": "loyalty-system-local"},
        "data": {"jwt-secret": "c2VjcmV0LXZhbHVlLTEyMw=="},
        "bogus": True,
    }
    _code, result = run_module(capsys, definitions=[secret])
    text = json.dumps({key: value for key, value in result.items() if key != "invocation"})
    assert "c2VjcmV0LXZhbHVlLTEyMw==" not in text


def test_bad_version_fails_with_the_fix(capsys):
    code, result = run_module(capsys, definitions=[CONFIGMAP], kubernetes_version="one-thirty")
    assert code == 1
    assert "use major.minor" in result["msg"]


def test_strict_false_accepts_unknown_fields(capsys):
    code, result = run_module(capsys, definitions=[dict(CONFIGMAP, extra=1)], strict=False)
    assert code == 0
    assert result["errors"] == []

"""loyalty.platform.k8s_validate through ansible-playbook: its action plugin runs on the controller.

The plugin checks `definitions` itself (the generic argument validator would deep-copy every
manifest), so its own argument errors are tested here, each naming the option and the fix.
"""

import json

import pytest

CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": "v"}}


def playbook(args):
    return """
- name: k8s_validate on the controller
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate
      loyalty.platform.k8s_validate: %s
""" % json.dumps(args)


@pytest.mark.parametrize("args, message", [
    pytest.param({"definition": [CONFIGMAP]},
                 "Unsupported parameters: definition. Supported parameters include: definitions, kubernetes_version, reject_null, strict",
                 id="unknown-option"),
    pytest.param({}, "missing required arguments: definitions", id="no-definitions"),
    pytest.param({"definitions": [CONFIGMAP, "text"]}, "definitions must be a list of manifests (mappings)", id="not-mappings"),
    pytest.param({"definitions": CONFIGMAP}, "definitions must be a list of manifests (mappings)", id="not-a-list"),
    pytest.param({"definitions": [CONFIGMAP], "strict": "maybe"}, "argument 'strict' is of type str", id="bad-bool"),
    pytest.param({"definitions": [CONFIGMAP], "kubernetes_version": "new"}, "kubernetes_version 'new' is not a Kubernetes version",
                 id="bad-version"),
])
def test_bad_arguments_fail_naming_the_option(run_playbook, args, message):
    result = run_playbook(playbook(args))
    assert result.rc != 0
    task = result.task_result("Validate")
    assert task.get("failed") is True
    assert message in task["msg"], task["msg"]


def test_valid_and_invalid_manifests(run_playbook):
    good = run_playbook(playbook({"definitions": [CONFIGMAP], "strict": "yes"}))
    assert good.rc == 0
    task = good.task_result("Validate")
    assert task["changed"] is False and task["errors"] == [] and task["objects"][0]["valid"] is True

    bad = dict(CONFIGMAP, data={"k": 1})
    failed = run_playbook(playbook({"definitions": [CONFIGMAP, bad]}))
    assert failed.rc != 0
    task = failed.task_result("Validate")
    assert "ConfigMap n/a: data.k" in task["msg"]
    assert [obj["valid"] for obj in task["objects"]] == [True, False]

"""Vault files must be encrypted: the preflight playbook refuses a plain vault.yml in production and staging before any
API is called, and `make vault-check` (tools/check-vault.sh) refuses one in any inventory."""

import os
import shutil
import subprocess

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")
CHECK = os.path.join(REPO_ROOT, "tools", "check-vault.sh")
PLAIN = "---\nvault_loyalty_db_password: not-a-secret-any-more\n"


def inventory_copy(tmp_path, environment, vault_text=None, encrypt=False, env=None):
    target = tmp_path / environment
    shutil.copytree(os.path.join(REPO_ROOT, "inventories", environment), target)
    if vault_text is not None:
        vault = target / "group_vars" / "all" / "vault.yml"
        vault.write_text(vault_text, encoding="utf-8")
        if encrypt:
            subprocess.run([os.path.join(VENV_BIN, "ansible-vault"), "encrypt", str(vault)], env=env, check=True, capture_output=True)
    return target


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_preflight_refuses_a_plain_vault_before_calling_any_api(run_playbook, tmp_path, environment):
    inventory = inventory_copy(tmp_path, environment, PLAIN)
    result = run_playbook(os.path.join(REPO_ROOT, "playbooks", "preflight.yml"), inventory=str(inventory))
    assert result.rc != 0
    failed = result.task_result("Check that every vault file is an Ansible Vault file")
    assert failed["failed"] and str(inventory / "group_vars" / "all" / "vault.yml") in failed["msg"] and "ansible-vault encrypt" in failed["msg"]
    assert "not-a-secret-any-more" not in result.stdout
    assert not result.task_results("Read the Kubernetes API version and groups")


def test_preflight_passes_an_encrypted_vault(run_playbook, tmp_path, ansible_env):
    inventory = inventory_copy(tmp_path, "staging", PLAIN, encrypt=True, env=ansible_env)
    result = run_playbook(os.path.join(REPO_ROOT, "playbooks", "preflight.yml"), inventory=str(inventory))
    assert result.rc == 0, result.stdout[-3000:]
    assert result.task_result("Check that every vault file is an Ansible Vault file").get("failed") is not True


def test_the_make_check_names_each_plain_vault_and_passes_encrypted_ones(tmp_path, ansible_env):
    plain = inventory_copy(tmp_path / "a", "production", PLAIN)
    inventory_copy(tmp_path / "a", "staging", PLAIN, encrypt=True, env=ansible_env)
    proc = subprocess.run([CHECK, str(tmp_path / "a")], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "%s is not an Ansible Vault file: encrypt it with ansible-vault encrypt %s (and rotate any secret it held)" % (
            plain / "group_vars" / "all" / "vault.yml", plain / "group_vars" / "all" / "vault.yml")]
    assert subprocess.run([CHECK, os.path.join(REPO_ROOT, "inventories")], capture_output=True, check=False).returncode == 0

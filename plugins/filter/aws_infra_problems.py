# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_infra_problems
short_description: What AWS would reject in the aws_infra role's inputs, as messages naming each variable
version_added: 0.3.0
description:
  - Checks the network (VPC and subnet CIDRs inside the VPC, no overlaps, one availability zone of the region per
    subnet), the EKS version and node group sizes, the RDS instance class, storage, retention, user name and master
    password, and the ElastiCache node type, cluster count, failover and AUTH token, against the rules AWS applies.
  - Returns one message per problem, each naming the variable, the fault and the fix; an empty list when none.
  - Secrets are checked without their values ever appearing in a message. Use it in C(no_log) tasks only.
options:
  _input:
    description: The role's variables, keyed by their names (C(aws_infra_vpc_cidr), ...).
    type: dict
    required: true
  allowed:
    description:
      - The allowed values, with the keys C(eks_versions), C(node_instance_types), C(db_instance_classes) and
        C(redis_node_types).
    type: dict
    required: true
  where:
    description: The inventory file the variables are set in, named in each message.
    type: str
    required: true
  vault_file:
    description: The vault file the secrets come from, named in the messages about them.
    type: str
    required: true
author:
  - Loyalty platform team (@loyalty-platform)
"""

EXAMPLES = r"""
- name: Refuse inputs AWS would reject
  ansible.builtin.fail:
    msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ values | loyalty.platform.aws_infra_problems(allowed, 'group_vars/all/aws_infra.yml', 'group_vars/all/vault.yml') }}"
  when: _problems | length > 0
  no_log: true
"""

RETURN = r"""
_value:
  description: One message per problem, naming the variable and the fix; empty when AWS would accept the inputs.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.module_utils.aws_infra.validate import problems


def aws_infra_problems(values, allowed, where, vault_file):
    """Filter entry point: validate.problems() on plain dicts."""
    if not isinstance(values, dict) or not isinstance(allowed, dict):
        raise AnsibleFilterError("aws_infra_problems: the input and allowed must be mappings")
    return problems(dict(values), dict(allowed), str(where), str(vault_file))


class FilterModule:
    """loyalty.platform.aws_infra_problems."""

    def filters(self):
        return {"aws_infra_problems": aws_infra_problems}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_infra_info
short_description: Read one aws_infra environment in one pass and say which resources already have their wanted settings
version_added: 0.3.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - The companion of the C(loyalty.platform.aws_infra) role. Describes every resource of one environment (VPC, subnets,
    internet and NAT gateways, route tables, log groups, IAM roles and their policy, the VPC flow log, the EKS cluster,
    its logging and node group, the security groups, the RDS instance and its subnet group, the ElastiCache subnet group
    and replication group, the Secrets Manager entries) in batched calls, about one per resource, and compares each
    with O(wanted).
  - Returns, per resource, whether it already has every setting its task in the role would set (RV(in_sync)), what
    differs where it does not (RV(differences)), and the ids the role's later tasks take (RV(ids)). The role skips the
    task of a resource that is in sync, so a run on an environment that matches makes no other AWS call.
  - Never looser than the task's module. A setting that cannot be read, is pending, or reads otherwise makes the
    resource not in sync, and its task runs and decides. A resource that does not exist is not in sync.
  - Reads only. Secret values are compared, never returned.
  - O(wanted) is built by the role (its C(_aws_infra_wanted) variable); its layout is the role's, not a public interface.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  wanted:
    description:
      - The environment's resources and their wanted settings, by resource, as the C(aws_infra) role builds them.
    type: dict
    required: true
  secret_values:
    description:
      - The secret part (a mapping with a password or a token) of the value of each Secrets Manager entry in O(wanted), by the
        same key; the entry's C(value) in O(wanted) holds the rest, and its C(host_of) names the endpoint put in C(host).
      - Compared with the stored value; never returned or logged. Ansible masks a no_log value wherever it appears in the
        result, so only the secret parts belong here, never a port or a name.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Read the environment once
  loyalty.platform.aws_infra_info:
    region: us-west-2
    wanted: "{{ _aws_infra_wanted }}"
    secret_values: "{{ _aws_infra_secret_values }}"
  register: seen
  no_log: true

- name: The VPC, only when it differs
  amazon.aws.ec2_vpc_net:
    name: loyalty-staging
    cidr_block: 10.1.0.0/16
  when: not seen.in_sync.vpc
"""

RETURN = r"""
in_sync:
  description: Per resource key (C(vpc), C(public_subnet 10.0.101.0/24), C(database), ...), whether it has every wanted setting.
  returned: always
  type: dict
  sample: {"vpc": true, "database": false}
all_in_sync:
  description: Whether every resource is in sync.
  returned: always
  type: bool
differences:
  description: Per resource that is not in sync, what differs (C(does not exist), a setting and its two values, a tag).
    Secret values are only named, never shown.
  returned: always
  type: dict
  sample: {"database": ["backup_retention is 1, not 7"]}
ids:
  description:
    - What the role's later tasks take from resources they skip. C(vpc_id), C(internet_gateway_id); C(public_subnet_ids)
      and C(private_subnet_ids) by CIDR; C(nat_gateway_ids) by zone; C(role_arns), C(security_group_ids) and
      C(secret_arns) by resource key; C(eks) (C(name), C(endpoint), C(certificate_authority), C(cluster_security_group_id));
      C(database) (C(address), C(port)); C(redis) (C(primary_endpoint), C(reader_endpoint)). A resource that does not
      exist has no entry.
  returned: always
  type: dict
reads:
  description: How many AWS requests the read made.
  returned: always
  type: int
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.common import run
from ansible_collections.loyalty.platform.plugins.module_utils.aws_infra.observe import observe


def main():
    argument_spec = {
        "wanted": {"type": "dict", "required": True},
        "secret_values": {"type": "dict", "default": {}, "no_log": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    run(module, lambda: observe(module.client, module.params["wanted"], module.params["secret_values"]))


if __name__ == "__main__":
    main()

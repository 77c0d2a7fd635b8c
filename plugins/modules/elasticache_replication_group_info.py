#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticache_replication_group_info
short_description: Describe ElastiCache replication groups
version_added: 0.3.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Describes one replication group (by id) or every replication group of the region, as
    M(loyalty.platform.elasticache_replication_group) returns it. The description of C(DescribeReplicationGroups) comes in snake case,
    with the settings read from a member cache cluster (engine version, parameter group, subnet group, security groups, maintenance
    window), the endpoints and the tags.
  - A group that does not exist is not an error; the list is then empty.
  - Never changes anything.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode describes the same way.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  replication_group_id:
    description:
      - The id of the group to describe (in any case; ElastiCache stores ids in lower case). Without it, every group is described.
    type: str
    aliases: [name]
requirements:
  - boto3
seealso:
  - module: loyalty.platform.elasticache_replication_group
"""

EXAMPLES = r"""
- name: The production Redis
  loyalty.platform.elasticache_replication_group_info:
    replication_group_id: loyalty-production
  register: redis

- name: Its writer endpoint
  ansible.builtin.debug:
    msg: "{{ redis.replication_groups[0].primary_endpoint.address }}"
  when: redis.replication_groups | length > 0

- name: Every replication group of the region
  loyalty.platform.elasticache_replication_group_info:
  register: all_groups
"""

RETURN = r"""
replication_groups:
  description:
    - The groups, each as the RV(loyalty.platform.elasticache_replication_group#module:replication_group) of
      M(loyalty.platform.elasticache_replication_group).
  returned: always
  type: list
  elements: dict
  contains:
    replication_group_id:
      description: The id.
      type: str
      sample: loyalty-production
    status:
      description: C(creating), C(available), C(modifying), C(deleting), C(create-failed) or C(snapshotting).
      type: str
      sample: available
    engine:
      description: The engine.
      type: str
      sample: redis
    engine_version:
      description: The engine version of a member cache cluster (null when none could be described).
      type: str
      sample: 7.1.0
    cache_node_type:
      description: The node type.
      type: str
      sample: cache.r6g.large
    num_cache_clusters:
      description: The number of member cache clusters.
      type: int
      sample: 3
    member_clusters:
      description: The ids of the member cache clusters.
      type: list
      elements: str
    primary_endpoint:
      description: The address and port of the primary.
      type: dict
    reader_endpoint:
      description: The address and port spreading reads over the replicas (null when AWS reports none).
      type: dict
    port:
      description: The port.
      type: int
      sample: 6379
    automatic_failover:
      description: C(enabled), C(disabled), C(enabling) or C(disabling).
      type: str
    multi_az:
      description: C(enabled) or C(disabled).
      type: str
    at_rest_encryption_enabled:
      description: Whether data at rest is encrypted.
      type: bool
    transit_encryption_enabled:
      description: Whether connections use TLS.
      type: bool
    auth_token_enabled:
      description: Whether the group has an AUTH token (never the token).
      type: bool
    cache_parameter_group_name:
      description: The parameter group of a member cache cluster.
      type: str
    cache_subnet_group_name:
      description: The subnet group of a member cache cluster.
      type: str
    security_group_ids:
      description: The VPC security groups of a member cache cluster, sorted.
      type: list
      elements: str
    preferred_maintenance_window:
      description: The maintenance window of a member cache cluster.
      type: str
    log_delivery_configurations:
      description: The log deliveries with their status.
      type: list
      elements: dict
    arn:
      description: The ARN.
      type: str
    tags:
      description: The tags; null when ElastiCache refuses to list them (it lists the tags of an available group only).
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.loyalty.platform.plugins.module_utils.elasticache.replication_group import Api, groups_info, run


def main():
    argument_spec = {
        "replication_group_id": {"type": "str", "aliases": ["name"]},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    run(module, lambda: groups_info(Api(module.client("elasticache")), module.params["replication_group_id"]))


if __name__ == "__main__":
    main()

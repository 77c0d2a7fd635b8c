#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticache_replication_group
short_description: Manage an ElastiCache replication group (Valkey or Redis OSS, cluster mode disabled)
version_added: 0.3.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Creates, changes in place and deletes an Amazon ElastiCache replication group with cluster mode disabled, one primary and up to
    five replicas, as the Terraform resource C(aws_elasticache_replication_group) does. M(community.aws.elasticache) manages single
    cache clusters only.
  - With O(state=present), a missing group is created. An existing group is compared with the task, option by option (an option the
    task leaves out is not compared), and what ElastiCache changes in place is changed in place. C(ModifyReplicationGroup) changes the
    description, the node type (scaling), the engine version, the parameter group, the security groups, automatic failover, Multi-AZ,
    the snapshot retention, the maintenance window and the log deliveries (added, changed or disabled). The number of cache clusters
    changes through C(IncreaseReplicaCount) and C(DecreaseReplicaCount) (the replicas are the cache clusters but the primary); replicas
    are added before failover or Multi-AZ is enabled and removed after they are disabled. Tags change through the tagging API; since
    ElastiCache lists them only while the group is C(available), a run that sets O(tags) waits for that first (check mode does not
    compare them then, and warns).
  - The engine, the port, the subnet group and the at-rest and in-transit encryption are never changed in place. A task that differs from
    the group in any of them fails before anything is written, naming each setting, its current and wanted value, and the fix (recreate
    the group with O(state=absent), then O(state=present)).
  - The engine version, the parameter group, the subnet group, the security groups and the maintenance window are read from a member
    cache cluster (the primary first), since C(DescribeReplicationGroups) does not return them. When none can be described, a task that
    sets one of them fails rather than guess.
  - Every input that can be checked without AWS (the id, the AUTH token, the cluster count, failover and Multi-AZ, log deliveries, ...)
    is checked before the first AWS request; each message names the option.
  - With O(state=absent), the group is deleted with its member cache clusters (with a final snapshot only when
    O(final_snapshot_identifier) is set), and with O(wait=true) the task returns once it is gone.
  - ElastiCache accepts a write only while the group is C(available), so the module waits for that before each write (within
    O(wait_timeout)), whatever O(wait) says; after a replica change, also until the added member cache clusters are C(available) and the
    removed ones gone (the group reads C(available) before they are). The tags are written first, since ElastiCache refuses them while
    the group is C(modifying).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the group and returns what a run would change (RV(changes), and the diff with C(--diff)); sends no write.
  diff_mode:
    support: full
    details: The compared settings before and after (the AUTH token only as whether one is set or replaced, never its value).
  platform:
    platforms: posix
options:
  replication_group_id:
    description:
      - The id of the replication group, 1 to 40 letters, digits or hyphens, beginning with a letter, neither ending with a hyphen nor
        holding two consecutive hyphens. ElastiCache stores it in lower case; so does the module.
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates the group or brings it to the task; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - The description of the group. Needed to create one; changed in place.
    type: str
  engine:
    description:
      - The cache engine. Never changed in place by this module (an upgrade from Redis OSS to Valkey is a migration of its own).
    type: str
    choices: [redis, valkey]
    default: redis
  engine_version:
    description:
      - The engine version, for example V(7.1); without it ElastiCache's default is used on creation and the version is not compared.
      - Compared as a prefix of the running version (V(7.1) is C(7.1.0)); an upgrade is made in place, a downgrade is refused by AWS.
    type: str
  node_type:
    description:
      - The node type of every cache cluster, for example V(cache.r6g.large). A different one scales the group in place.
    type: str
  num_cache_clusters:
    description:
      - The number of cache clusters, 1 (a primary alone) to 6 (a primary and five replicas). ElastiCache creates 1 without it.
      - Changed in place by adding or removing replicas.
    type: int
  port:
    description:
      - The port the nodes accept connections on. Cannot be changed in place.
    type: int
    default: 6379
  cache_parameter_group_name:
    description:
      - The cache parameter group, for example V(default.redis7). Changed in place.
    type: str
  cache_subnet_group_name:
    description:
      - The cache subnet group, which places the group in a VPC. Cannot be changed in place.
    type: str
  security_group_ids:
    description:
      - The VPC security groups of the cache clusters, compared as a set. Changed in place.
    type: list
    elements: str
  at_rest_encryption_enabled:
    description:
      - Whether data at rest is encrypted. Cannot be changed in place; without it ElastiCache's default applies on creation.
    type: bool
  transit_encryption_enabled:
    description:
      - Whether connections use TLS. Cannot be changed in place; O(auth_token) needs V(true).
    type: bool
  auth_token:
    description:
      - The AUTH token (password) clients must give; 16 to 128 characters, ASCII letters, digits and the special characters
        C(!&#$^<>-) only, as the ElastiCache API reference of C(CreateReplicationGroup) says (so no space and none of C("), C(/), C(@)
        and C(%)). Any other token is refused before the first request.
      - Needs O(transit_encryption_enabled=true).
      - ElastiCache never returns the token, so it cannot be compared; O(auth_token_update) says when it is sent.
      - Never logged nor returned.
    type: str
  auth_token_update:
    description:
      - When O(auth_token) is sent. The token is write-only in AWS, so a run cannot tell whether the group already has it.
      - V(on_create) sends it only when the group is created; afterwards it is never compared nor changed (the module warns when the group
        has no token at all).
      - V(rotate) sends it on every run with the strategy C(ROTATE). The group then accepts the new token and the old one, so clients can
        move to the new token. It also adds a token to a group without one.
      - V(set) sends it on every run with the strategy C(SET). The group then accepts only this token. ElastiCache allows it only after a
        C(ROTATE).
      - A rotation is two runs, V(rotate) with the new token, then, once every client uses it, V(set) with the same token. Both report a
        change on every run (the token cannot be compared), so use them in a rotation play, not in the play that runs every day.
      - V(rotate) and V(set) need O(apply_immediately=true).
    type: str
    choices: [on_create, rotate, set]
    default: on_create
  automatic_failover_enabled:
    description:
      - Whether a replica is promoted when the primary fails. Needs at least 2 cache clusters. Changed in place.
    type: bool
  multi_az_enabled:
    description:
      - Whether the replicas are spread over availability zones with automatic failover. Needs O(automatic_failover_enabled=true) and at
        least 2 cache clusters. Changed in place.
    type: bool
  snapshot_retention_limit:
    description:
      - For how many days automatic snapshots are kept, 0 (no automatic snapshots) to 35. Changed in place.
    type: int
  preferred_maintenance_window:
    description:
      - The weekly maintenance window in UTC as C(ddd:hh24:mi-ddd:hh24:mi), for example V(sun:05:00-sun:06:00). Compared without regard to
        case. Changed in place.
    type: str
  log_delivery_configurations:
    description:
      - Where the slow log and the engine log are delivered, at most one entry per log type.
      - When set, the group's log deliveries become exactly these; a log type left out is disabled, and V([]) disables both. Without it
        the log deliveries are not compared.
    type: list
    elements: dict
    suboptions:
      log_type:
        description:
          - Which log.
        type: str
        required: true
        choices: [slow-log, engine-log]
      destination_type:
        description:
          - Where it goes.
        type: str
        required: true
        choices: [cloudwatch-logs, kinesis-firehose]
      destination:
        description:
          - The CloudWatch Logs group name, or the Kinesis Data Firehose delivery stream name.
        type: str
        required: true
      log_format:
        description:
          - The format of the log lines.
        type: str
        choices: [text, json]
        default: text
  final_snapshot_identifier:
    description:
      - With O(state=absent), the name of a final snapshot taken before the group is deleted; without it no snapshot is taken.
    type: str
  apply_immediately:
    description:
      - Whether ModifyReplicationGroup applies the changes now (V(true)) or in the next maintenance window (V(false)).
      - Replicas are always added and removed at once (ElastiCache supports nothing else).
    type: bool
    default: true
  wait:
    description:
      - Whether to wait until the group is C(available) after a creation or a change (after a replica change, with its member cache
        clusters), or, with O(state=absent), until it is gone.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds each wait lasts at most; past it the task fails, naming the group and its last status.
    type: int
    default: 1800
notes:
  - Groups with cluster mode enabled (shards) are refused.
  - The AUTH token is never returned, logged nor shown in a diff; run the task with C(no_log) if the token also must not appear in the
    invocation of a failed task.
requirements:
  - boto3
seealso:
  - module: loyalty.platform.elasticache_replication_group_info
  - module: community.aws.elasticache_subnet_group
  - module: community.aws.elasticache_parameter_group
"""

EXAMPLES = r"""
- name: Redis of the production loyalty system (the Terraform reference's aws_elasticache_replication_group)
  loyalty.platform.elasticache_replication_group:
    replication_group_id: loyalty-production
    description: Redis cluster for loyalty production
    node_type: cache.r6g.large
    num_cache_clusters: 3
    port: 6379
    cache_parameter_group_name: default.redis7
    cache_subnet_group_name: loyalty-production
    security_group_ids: ["{{ redis_security_group_id }}"]
    at_rest_encryption_enabled: true
    transit_encryption_enabled: true
    auth_token: "{{ vault_loyalty_redis_password }}"
    automatic_failover_enabled: true
    multi_az_enabled: true
    log_delivery_configurations:
      - log_type: slow-log
        destination_type: cloudwatch-logs
        destination: /aws/elasticache/loyalty-production/slow-log
        log_format: text
    tags:
      Project: loyalty
      Environment: production
  register: redis

- name: The primary endpoint
  ansible.builtin.debug:
    msg: "{{ redis.replication_group.primary_endpoint.address }}:{{ redis.replication_group.primary_endpoint.port }}"

- name: Rotate the AUTH token, step one (the old and the new token are both accepted)
  loyalty.platform.elasticache_replication_group:
    replication_group_id: loyalty-production
    transit_encryption_enabled: true
    auth_token: "{{ new_redis_password }}"
    auth_token_update: rotate

- name: Rotate the AUTH token, step two once every client uses the new token (only it is accepted)
  loyalty.platform.elasticache_replication_group:
    replication_group_id: loyalty-production
    transit_encryption_enabled: true
    auth_token: "{{ new_redis_password }}"
    auth_token_update: set

- name: Delete the staging group, keeping a final snapshot
  loyalty.platform.elasticache_replication_group:
    replication_group_id: loyalty-staging
    final_snapshot_identifier: loyalty-staging-final
    state: absent
"""

RETURN = r"""
changes:
  description:
    - The settings the run changed (or would change in check mode), with the option names; V(auth_token) when the token was sent.
    - C([created]) when the group was created, C([deleted]) when it was deleted.
  returned: always
  type: list
  elements: str
  sample: [node_type, security_group_ids]
replication_group:
  description:
    - The group as C(DescribeReplicationGroups) describes it, in snake case, with the settings of a member cache cluster and its tags.
    - Empty when the group does not exist (or would be created in check mode), or is gone after O(state=absent).
  returned: always
  type: dict
  contains:
    replication_group_id:
      description: The id.
      type: str
      sample: loyalty-production
    description:
      description: The description.
      type: str
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
      sample: [loyalty-production-001, loyalty-production-002, loyalty-production-003]
    node_groups:
      description: The node group (one, cluster mode disabled), with its endpoints and its members and their roles.
      type: list
      elements: dict
    primary_endpoint:
      description: The address and port of the primary (writes).
      type: dict
      sample: {address: master.loyalty-production.abcdef.usw2.cache.amazonaws.com, port: 6379}
    reader_endpoint:
      description: The address and port spreading reads over the replicas (null when AWS reports none).
      type: dict
      sample: {address: replica.loyalty-production.abcdef.usw2.cache.amazonaws.com, port: 6379}
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
    auth_token_last_modified_date:
      description: When the AUTH token was last set.
      type: str
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
      description: The maintenance window of a member cache cluster, in lower case.
      type: str
    snapshot_retention_limit:
      description: For how many days automatic snapshots are kept.
      type: int
    log_delivery_configurations:
      description: The log deliveries with their status (C(active), C(enabling), C(modifying), C(disabling) or C(error)).
      type: list
      elements: dict
    pending_modified_values:
      description: Changes ElastiCache has not applied yet.
      type: dict
    arn:
      description: The ARN.
      type: str
    tags:
      description: The tags; null when ElastiCache refuses to list them (it lists the tags of an available group only).
      type: dict
diff:
  description: The compared settings before and after (with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.loyalty.platform.plugins.module_utils.elasticache.replication_group import Api, replication_group, run


def main():
    argument_spec = {
        "replication_group_id": {"type": "str", "required": True, "aliases": ["name"]},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "description": {"type": "str"},
        "engine": {"type": "str", "choices": ["redis", "valkey"], "default": "redis"},
        "engine_version": {"type": "str"},
        "node_type": {"type": "str"},
        "num_cache_clusters": {"type": "int"},
        "port": {"type": "int", "default": 6379},
        "cache_parameter_group_name": {"type": "str"},
        "cache_subnet_group_name": {"type": "str"},
        "security_group_ids": {"type": "list", "elements": "str"},
        "at_rest_encryption_enabled": {"type": "bool"},
        "transit_encryption_enabled": {"type": "bool"},
        "auth_token": {"type": "str", "no_log": True},
        "auth_token_update": {"type": "str", "choices": ["on_create", "rotate", "set"], "default": "on_create", "no_log": False},
        "automatic_failover_enabled": {"type": "bool"},
        "multi_az_enabled": {"type": "bool"},
        "snapshot_retention_limit": {"type": "int"},
        "preferred_maintenance_window": {"type": "str"},
        "log_delivery_configurations": {
            "type": "list",
            "elements": "dict",
            "options": {
                "log_type": {"type": "str", "required": True, "choices": ["slow-log", "engine-log"]},
                "destination_type": {"type": "str", "required": True, "choices": ["cloudwatch-logs", "kinesis-firehose"]},
                "destination": {"type": "str", "required": True},
                "log_format": {"type": "str", "choices": ["text", "json"], "default": "text"},
            },
        },
        "final_snapshot_identifier": {"type": "str"},
        "apply_immediately": {"type": "bool", "default": True},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 1800},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    # replication_group() checks every option before it makes the client and sends the first request.
    run(module, lambda: replication_group(module.params, lambda: Api(module.client("elasticache")), module.check_mode))


if __name__ == "__main__":
    main()

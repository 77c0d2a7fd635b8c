#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_vpc_flow_log
short_description: Create, replace, tag or delete the flow log of a VPC, subnet or network interface
version_added: 0.3.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Manages one VPC flow log, delivering to a CloudWatch Logs log group or to an S3 bucket.
  - The managed flow log is the one of O(resource_id) that delivers to this destination (O(log_group_name) for
    V(cloud-watch-logs), O(log_destination) for V(s3)). When the resource has several flow logs to that destination, the
    one with O(traffic_type) is the managed one (among several of those, the one that already has every option); otherwise
    the task fails, naming them, and changes nothing. Flow logs of the resource to other destinations are never touched.
  - AWS cannot modify a flow log once it exists, except for its tags. When O(traffic_type), O(max_aggregation_interval),
    O(log_format) or O(deliver_logs_permission_arn) differ, the flow log is replaced. The new flow log is created first and
    the old one deleted only then, so the traffic is logged throughout; the result says RV(replaced=true) with the old id in
    RV(replaced_flow_log_id), and the diff shows the old flow log before and the new one after.
  - AWS allows two flow logs per resource, which the replacement needs for a moment. If AWS refuses the new flow log, the old
    one is left as it was; if the old one cannot be deleted, the task fails naming both, and both log.
  - Tags are changed in place. A replacement carries the old flow log's tags over (except C(aws:) ones), unless O(tags) and
    O(purge_tags) say otherwise.
  - Every input is checked before any AWS call.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only; reports the flow log it would create, replace, tag or delete.
  diff_mode:
    support: full
    details: The managed flow log before and after (its id, destination, the options that replace it, and its tags).
  platform:
    platforms: posix
options:
  resource_id:
    description:
      - The id of the VPC (or of the subnet or network interface, with O(resource_type)) whose traffic is logged.
    type: str
    required: true
  resource_type:
    description:
      - What O(resource_id) is.
    type: str
    choices: [VPC, Subnet, NetworkInterface]
    default: VPC
  traffic_type:
    description:
      - The traffic logged, accepted, rejected or both. Changing it replaces the flow log.
    type: str
    choices: [ACCEPT, REJECT, ALL]
    default: ALL
  log_destination_type:
    description:
      - Where the flow log records go.
    type: str
    choices: [cloud-watch-logs, s3]
    default: cloud-watch-logs
  log_group_name:
    description:
      - The CloudWatch Logs log group, for O(log_destination_type=cloud-watch-logs) (required then).
    type: str
  log_destination:
    description:
      - The ARN of the S3 bucket, or of a folder in it, for O(log_destination_type=s3) (required then), such as
        V(arn:aws:s3:::loyalty-flow-logs/production/).
    type: str
  deliver_logs_permission_arn:
    description:
      - The ARN of the IAM role that lets C(vpc-flow-logs.amazonaws.com) write to the log group. Required with
        O(log_destination_type=cloud-watch-logs) and O(state=present); not accepted for V(s3).
      - Changing it replaces the flow log.
    type: str
  max_aggregation_interval:
    description:
      - The longest time, in seconds, over which a flow is aggregated into one record. Changing it replaces the flow log.
    type: int
    choices: [60, 600]
    default: 600
  log_format:
    description:
      - A custom record format, fields as C(${field-name}) separated by single spaces.
      - Without it, the flow log has AWS's default format (the version 2 fields); a flow log with another format is then
        replaced by one with the default format. Changing it replaces the flow log.
    type: str
  state:
    description:
      - V(present) makes the flow log as described; V(absent) deletes the managed flow log, if there is one.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The role's trust policy must let C(vpc-flow-logs.amazonaws.com) assume it, and its policy must allow
    C(logs:CreateLogStream), C(logs:PutLogEvents) and C(logs:DescribeLogStreams) on the log group.
  - An S3 bucket needs a bucket policy that lets C(delivery.logs.amazonaws.com) write to it.
requirements:
  - boto3
seealso:
  - module: amazon.aws.ec2_vpc_net
  - module: amazon.aws.cloudwatchlogs_log_group
"""

EXAMPLES = r"""
- name: Log all the traffic of the VPC to CloudWatch Logs, aggregated per minute
  loyalty.platform.ec2_vpc_flow_log:
    resource_id: "{{ vpc.vpc.id }}"
    traffic_type: ALL
    log_destination_type: cloud-watch-logs
    log_group_name: /aws/vpc/loyalty-production/flow-logs
    deliver_logs_permission_arn: "{{ flow_log_role.iam_role.arn }}"
    max_aggregation_interval: 60
    tags:
      Name: loyalty-production
      Environment: production
  register: flow_log

- name: Rejected traffic to S3, with a custom format
  loyalty.platform.ec2_vpc_flow_log:
    resource_id: "{{ vpc.vpc.id }}"
    traffic_type: REJECT
    log_destination_type: s3
    log_destination: arn:aws:s3:::loyalty-flow-logs/production/
    log_format: "${version} ${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action} ${flow-direction}"

- name: No more flow log to the log group
  loyalty.platform.ec2_vpc_flow_log:
    resource_id: "{{ vpc.vpc.id }}"
    log_group_name: /aws/vpc/loyalty-production/flow-logs
    state: absent
"""

RETURN = r"""
flow_log:
  description:
    - The managed flow log as DescribeFlowLogs reports it, in snake_case with its tags as a dict; empty when there is none.
    - In check mode, a flow log still to be created (or to replace the old one) has no RV(flow_log.flow_log_id) yet.
  returned: always
  type: dict
  contains:
    flow_log_id:
      description: Its id.
      type: str
      sample: fl-0123456789abcdef0
    resource_id:
      description: The resource logged.
      type: str
    traffic_type:
      description: C(ACCEPT), C(REJECT) or C(ALL).
      type: str
    log_destination_type:
      description: C(cloud-watch-logs) or C(s3).
      type: str
    log_group_name:
      description: The log group (cloud-watch-logs).
      type: str
    log_destination:
      description: The ARN of the destination.
      type: str
    deliver_logs_permission_arn:
      description: The role (cloud-watch-logs).
      type: str
    deliver_logs_status:
      description: Whether AWS can deliver the records (C(SUCCESS) or C(FAILED)).
      type: str
    flow_log_status:
      description: C(ACTIVE).
      type: str
    max_aggregation_interval:
      description: In seconds.
      type: int
    log_format:
      description: The record format.
      type: str
    creation_time:
      description: When it was created (ISO 8601).
      type: str
    tags:
      description: Its tags.
      type: dict
replaced:
  description: Whether the flow log was (in check mode, would be) replaced by a new one.
  returned: always
  type: bool
replaced_flow_log_id:
  description: The id of the flow log that was replaced (and deleted).
  returned: when RV(replaced=true)
  type: str
replaced_because:
  description: The options whose value differed.
  returned: when RV(replaced=true)
  type: list
  elements: str
  sample: [traffic_type, max_aggregation_interval]
deleted_flow_log_id:
  description: The id of the flow log that O(state=absent) deleted.
  returned: when a flow log was deleted
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.common import run
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.flow_logs import check_params, ensure


def main():
    argument_spec = {
        "resource_id": {"type": "str", "required": True},
        "resource_type": {"type": "str", "default": "VPC", "choices": ["VPC", "Subnet", "NetworkInterface"]},
        "traffic_type": {"type": "str", "default": "ALL", "choices": ["ACCEPT", "REJECT", "ALL"]},
        "log_destination_type": {"type": "str", "default": "cloud-watch-logs", "choices": ["cloud-watch-logs", "s3"]},
        "log_group_name": {"type": "str"},
        "log_destination": {"type": "str"},
        "deliver_logs_permission_arn": {"type": "str"},
        "max_aggregation_interval": {"type": "int", "default": 600, "choices": [60, 600]},
        "log_format": {"type": "str"},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[
            ("log_destination_type", "cloud-watch-logs", ["log_group_name"]),
            ("log_destination_type", "s3", ["log_destination"]),
        ],
    )

    def work():
        check_params(module.params)  # before the client: bad input never reaches AWS
        return ensure(module.client("ec2"), module.params, check_mode=module.check_mode)

    run(module, work)


if __name__ == "__main__":
    main()

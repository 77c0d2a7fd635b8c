#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eks_cluster_logging
short_description: Enable exactly the wanted control-plane log types of an EKS cluster
version_added: 0.3.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Makes the control-plane log types that an EKS cluster exports to CloudWatch Logs exactly O(enabled_types); every other
    type is disabled. M(community.aws.eks_cluster) creates the cluster but does not manage its logging.
  - Compares the cluster's C(logging.clusterLogging) (a type is enabled when an entry with C(enabled=true) lists it) with
    O(enabled_types), and calls C(UpdateClusterConfig) only when they differ, with the types that change and no others.
  - With O(wait=true), waits for the update to be C(Successful) (C(DescribeUpdate)), then reads the cluster back. An update
    that fails, is cancelled or is still running at O(wait_timeout) fails the task, naming the cluster, the update id, its
    last status and its errors.
  - A cluster that does not exist fails the task, naming it. A cluster that is not C(ACTIVE) (C(CREATING), C(UPDATING)) is
    waited for when O(wait=true) (within the same O(wait_timeout)); with O(wait=false) the task fails. A C(DELETING) or
    C(FAILED) cluster always fails the task.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only (and waits for a cluster that is not yet C(ACTIVE) when O(wait=true)); reports the change it would make.
  diff_mode:
    support: full
    details: The enabled log types before and after.
  platform:
    platforms: posix
options:
  name:
    description:
      - The name of the EKS cluster.
    type: str
    required: true
  enabled_types:
    description:
      - The log types to enable; the types not listed are disabled. An empty list disables them all.
    type: list
    elements: str
    choices: [api, audit, authenticator, controllerManager, scheduler]
    required: true
  wait:
    description:
      - Wait for the cluster to be C(ACTIVE) before the update and for the update to be C(Successful) after it.
      - With O(wait=false) the task returns as soon as EKS has accepted the update (RV(logging_update.status=InProgress)).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the task may wait in all, for the cluster and for the update.
    type: int
    default: 1200
notes:
  - EKS writes the logs to the log group C(/aws/eks/<name>/cluster); create it first (with a retention) to keep EKS
    from creating it without one.
requirements:
  - boto3
seealso:
  - module: community.aws.eks_cluster
  - module: amazon.aws.cloudwatchlogs_log_group
"""

EXAMPLES = r"""
- name: Export all five control-plane logs
  loyalty.platform.eks_cluster_logging:
    name: loyalty-production
    enabled_types: [api, audit, authenticator, controllerManager, scheduler]

- name: Only the audit and authenticator logs, without waiting for the update
  loyalty.platform.eks_cluster_logging:
    name: loyalty-staging
    enabled_types: [audit, authenticator]
    wait: false
  register: logging

- name: No control-plane logs
  loyalty.platform.eks_cluster_logging:
    name: loyalty-sandbox
    enabled_types: []
"""

RETURN = r"""
enabled_types:
  description: The enabled log types (after the update; in check mode, what they would be).
  returned: always
  type: list
  elements: str
  sample: [api, audit]
disabled_types:
  description: The other log types.
  returned: always
  type: list
  elements: str
  sample: [authenticator, controllerManager, scheduler]
logging_update:
  description: The update EKS made (UpdateClusterConfig, then DescribeUpdate), in snake_case.
  returned: when an update was made (not in check mode)
  type: dict
  contains:
    id:
      description: The update's id (for C(aws eks describe-update)).
      type: str
      sample: b5f0ba18-9a87-4450-b5a0-825e6e84496f
    status:
      description: C(Successful) with O(wait=true); C(InProgress) with O(wait=false).
      type: str
      sample: Successful
    type:
      description: C(LoggingUpdate).
      type: str
    params:
      description: What the update changes, as EKS reports it.
      type: list
      elements: dict
    created_at:
      description: When EKS accepted it (ISO 8601).
      type: str
    errors:
      description: The errors EKS reports for it (C(error_code), C(error_message), C(resource_ids)).
      type: list
      elements: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.common import run
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.eks_logging import LOG_TYPES, ensure


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "enabled_types": {"type": "list", "elements": "str", "choices": list(LOG_TYPES), "required": True},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 1200},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["wait_timeout"] < 1:
        module.fail_json(msg="wait_timeout=%d must be at least 1 second" % module.params["wait_timeout"])
    run(module, lambda: ensure(module.client("eks"), module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""VPC flow logs: which flow log is the managed one, what differs, and the EC2 calls that make it so.

The managed flow log is the one of ``resource_id`` that delivers to the destination (the log group for
cloud-watch-logs, the ARN for s3). When that resource has several flow logs to the same destination, the one
with ``traffic_type`` is it (and, among several of those, the one that already matches every option); anything
else is ambiguous and refused.

AWS cannot change a flow log after it is made, only its tags. When the traffic type, the aggregation interval,
the format or the role differ, a new flow log is created first and the old one deleted only then, so traffic
is never unlogged (AWS allows two flow logs per resource, which is what the swap needs).

The pure functions (check_params, select, plan, ...) decide; ensure() makes the EC2 calls.
"""

from __future__ import annotations

import re
import time

from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.common import AwsGapError, aws_call, json_safe, snake

CLOUDWATCH = "cloud-watch-logs"
S3 = "s3"
# The format AWS gives a flow log created without LogFormat (the version 2 fields), as DescribeFlowLogs reports it.
DEFAULT_LOG_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} "
    "${bytes} ${start} ${end} ${action} ${log-status}"
)
DEFAULT_AGGREGATION = 600
# Fields as ${field-name}, separated by single spaces.
LOG_FORMAT = re.compile(r"^\$\{[a-z0-9-]+\}( \$\{[a-z0-9-]+\})*$")
ID_PREFIXES = {"VPC": "vpc-", "Subnet": "subnet-", "NetworkInterface": "eni-"}
S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/\S+$")
# The options a flow log cannot change: a difference in any of them replaces it. Option -> DescribeFlowLogs key.
REPLACING = (
    ("traffic_type", "TrafficType"),
    ("max_aggregation_interval", "MaxAggregationInterval"),
    ("log_format", "LogFormat"),
    ("deliver_logs_permission_arn", "DeliverLogsPermissionArn"),
)
# Reading a flow log back just after CreateFlowLogs: EC2 is eventually consistent.
READ_BACK_ATTEMPTS = 10
READ_BACK_DELAY = 1.0


# ---- pure: inputs, identity, plan ------------------------------------------------------------


def check_params(params):
    """Refuse what AWS would refuse (or what would manage the wrong flow log) before any call."""
    problems = []
    resource_type = params["resource_type"]
    resource_id = params["resource_id"]
    prefix = ID_PREFIXES[resource_type]
    if not resource_id.startswith(prefix):
        problems.append("resource_id=%s is not a %s id (%s...), so resource_type must say what it is" % (resource_id, resource_type, prefix))
    kind = params["log_destination_type"]
    if kind == CLOUDWATCH:
        if not params.get("log_group_name"):
            problems.append("log_destination_type=cloud-watch-logs needs log_group_name, the log group the flow log writes to")
        if params.get("log_destination"):
            problems.append("log_destination is the ARN of an s3 destination; a cloud-watch-logs flow log names its log group with log_group_name")
        role = params.get("deliver_logs_permission_arn")
        if params["state"] == "present" and not role:
            problems.append("log_destination_type=cloud-watch-logs needs deliver_logs_permission_arn, the IAM role that lets "
                            "vpc-flow-logs.amazonaws.com write to log group %s" % params.get("log_group_name"))
        elif role and not ROLE_ARN.match(role):
            problems.append("deliver_logs_permission_arn=%s is not the ARN of an IAM role (arn:aws:iam::<account>:role/<name>)" % role)
    else:
        destination = params.get("log_destination")
        if not destination:
            problems.append("log_destination_type=s3 needs log_destination, the ARN of the bucket (arn:aws:s3:::<bucket>[/<folder>/])")
        elif not S3_ARN.match(destination):
            problems.append("log_destination=%s is not the ARN of an S3 bucket or folder (arn:aws:s3:::<bucket>[/<folder>/])" % destination)
        if params.get("log_group_name"):
            problems.append("log_group_name is for cloud-watch-logs; an s3 flow log names its bucket with log_destination")
        if params.get("deliver_logs_permission_arn"):
            problems.append("deliver_logs_permission_arn is for cloud-watch-logs; AWS does not take a role for an s3 flow log")
    log_format = params.get("log_format")
    if log_format is not None and not LOG_FORMAT.match(log_format):
        problems.append("log_format=%r is not a flow log format: fields as ${field-name} separated by single spaces, "
                        "such as '${version} ${srcaddr} ${dstaddr} ${action}'" % log_format)
    if problems:
        raise AwsGapError("; ".join(problems))


def destination_text(params):
    if params["log_destination_type"] == CLOUDWATCH:
        return "log group %s" % params["log_group_name"]
    return params["log_destination"]


def log_group_of(flow_log):
    """The log group a cloud-watch-logs flow log writes to: LogGroupName, or the name in its LogDestination ARN."""
    if flow_log.get("LogGroupName"):
        return flow_log["LogGroupName"]
    destination = flow_log.get("LogDestination") or ""
    if ":log-group:" in destination:
        name = destination.split(":log-group:", 1)[1]
        return name[:-2] if name.endswith(":*") else name
    return None


def same_destination(flow_log, params):
    kind = params["log_destination_type"]
    if (flow_log.get("LogDestinationType") or CLOUDWATCH) != kind:
        return False
    if kind == CLOUDWATCH:
        return log_group_of(flow_log) == params["log_group_name"]
    # arn:aws:s3:::bucket/folder and arn:aws:s3:::bucket/folder/ name the same place.
    return (flow_log.get("LogDestination") or "").rstrip("/") == params["log_destination"].rstrip("/")


def wanted_settings(params):
    """The values of the REPLACING options the flow log must have (DescribeFlowLogs keys)."""
    return {
        "TrafficType": params["traffic_type"],
        "MaxAggregationInterval": params["max_aggregation_interval"],
        "LogFormat": params.get("log_format") or DEFAULT_LOG_FORMAT,
        "DeliverLogsPermissionArn": params.get("deliver_logs_permission_arn") if params["log_destination_type"] == CLOUDWATCH else None,
    }


def current_settings(flow_log):
    return {
        "TrafficType": flow_log.get("TrafficType"),
        "MaxAggregationInterval": flow_log.get("MaxAggregationInterval") or DEFAULT_AGGREGATION,
        "LogFormat": flow_log.get("LogFormat") or DEFAULT_LOG_FORMAT,
        "DeliverLogsPermissionArn": flow_log.get("DeliverLogsPermissionArn") or None,
    }


def differences(flow_log, params):
    """The options (names) whose wanted value the flow log does not have; any of them means a replacement."""
    current, wanted = current_settings(flow_log), wanted_settings(params)
    return [option for option, key in REPLACING if current[key] != wanted[key]]


def select(flow_logs, params):
    """The managed flow log among DescribeFlowLogs entries, or None; AwsGapError when it is ambiguous."""
    candidates = [fl for fl in flow_logs if fl.get("ResourceId") == params["resource_id"] and same_destination(fl, params)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    same_traffic = [fl for fl in candidates if fl.get("TrafficType") == params["traffic_type"]]
    if len(same_traffic) == 1:
        return same_traffic[0]
    if params["state"] == "present":
        exact = [fl for fl in same_traffic if not differences(fl, params)]
        if len(exact) == 1:
            return exact[0]
    raise AwsGapError(
        "%s has %d flow logs to %s (%s) and which one is managed is ambiguous: delete the ones that should not be there"
        % (params["resource_id"], len(candidates), destination_text(params),
           ", ".join("%s %s" % (fl.get("FlowLogId"), fl.get("TrafficType")) for fl in candidates)),
        flow_log_ids=[fl.get("FlowLogId") for fl in candidates])


def tags_of(flow_log):
    return boto3_tag_list_to_ansible_dict(flow_log.get("Tags") or []) if flow_log else {}


def replacement_tags(current_tags, params):
    """The tags of a flow log that replaces one with ``current_tags``: the old ones carried over unless purged."""
    kept = {key: value for key, value in current_tags.items() if not key.startswith("aws:")}
    if params.get("tags") is None:
        return kept
    if params["purge_tags"]:
        return dict(params["tags"])
    kept.update(params["tags"])
    return kept


def plan(current, params):
    """What to do: {"action": "none" | "create" | "replace" | "tag" | "delete", ...}.

    create and replace carry the new flow log's ``tags``; replace its ``reasons`` (the options that differ);
    tag the ``set`` (dict) and ``unset`` (keys) of CreateTags and DeleteTags."""
    if params["state"] == "absent":
        return {"action": "delete" if current else "none"}
    if current is None:
        return {"action": "create", "tags": dict(params.get("tags") or {})}
    reasons = differences(current, params)
    if reasons:
        return {"action": "replace", "reasons": reasons, "tags": replacement_tags(tags_of(current), params)}
    if params.get("tags") is None:
        return {"action": "none"}
    to_set, to_unset = compare_aws_tags(tags_of(current), params["tags"], params["purge_tags"])
    if to_set or to_unset:
        return {"action": "tag", "set": to_set, "unset": sorted(to_unset)}
    return {"action": "none"}


def create_request(params, tags):
    """The CreateFlowLogs arguments (LogFormat only when one is given: AWS's default is the one without it)."""
    request = {
        "ResourceIds": [params["resource_id"]],
        "ResourceType": params["resource_type"],
        "TrafficType": params["traffic_type"],
        "LogDestinationType": params["log_destination_type"],
        "MaxAggregationInterval": params["max_aggregation_interval"],
    }
    if params["log_destination_type"] == CLOUDWATCH:
        request["LogGroupName"] = params["log_group_name"]
        request["DeliverLogsPermissionArn"] = params["deliver_logs_permission_arn"]
    else:
        request["LogDestination"] = params["log_destination"]
    if params.get("log_format"):
        request["LogFormat"] = params["log_format"]
    if tags:
        request["TagSpecifications"] = [{"ResourceType": "vpc-flow-log", "Tags": ansible_dict_to_boto3_tag_list(tags)}]
    return request


def planned_flow_log(params, tags):
    """The DescribeFlowLogs entry a flow log made from ``params`` would have (check mode: no id yet)."""
    entry = {
        "ResourceId": params["resource_id"],
        "TrafficType": params["traffic_type"],
        "LogDestinationType": params["log_destination_type"],
        "MaxAggregationInterval": params["max_aggregation_interval"],
        "LogFormat": params.get("log_format") or DEFAULT_LOG_FORMAT,
        "Tags": ansible_dict_to_boto3_tag_list(tags),
    }
    if params["log_destination_type"] == CLOUDWATCH:
        entry["LogGroupName"] = params["log_group_name"]
        entry["DeliverLogsPermissionArn"] = params["deliver_logs_permission_arn"]
    else:
        entry["LogDestination"] = params["log_destination"]
    return entry


def with_tags(flow_log, to_set, to_unset):
    tags = {key: value for key, value in tags_of(flow_log).items() if key not in to_unset}
    tags.update(to_set)
    return dict(flow_log, Tags=ansible_dict_to_boto3_tag_list(tags))


def to_result(flow_log):
    """A DescribeFlowLogs entry as the module returns it: snake_case, tags as a dict, times as ISO 8601."""
    if not flow_log:
        return {}
    result = snake({key: value for key, value in flow_log.items() if key != "Tags"})
    result["tags"] = tags_of(flow_log)
    return result


def summary(flow_log):
    """What a diff shows of a flow log: its identity, the options that replace it, and its tags."""
    if not flow_log:
        return {}
    shown = {
        "flow_log_id": flow_log.get("FlowLogId"),
        "resource_id": flow_log.get("ResourceId"),
        "log_destination_type": flow_log.get("LogDestinationType") or CLOUDWATCH,
    }
    if shown["log_destination_type"] == CLOUDWATCH:
        shown["log_group_name"] = log_group_of(flow_log)
    else:
        shown["log_destination"] = flow_log.get("LogDestination")
    settings = current_settings(flow_log)
    for option, key in REPLACING:
        shown[option] = settings[key]
    shown["tags"] = tags_of(flow_log)
    return shown


# ---- the EC2 calls ---------------------------------------------------------------------------


def describe(client, resource_id):
    """Every flow log of the resource."""
    found = []
    paginator = client.get_paginator("describe_flow_logs")
    pages = aws_call("DescribeFlowLogs of %s failed" % resource_id,
                     lambda: list(paginator.paginate(Filters=[{"Name": "resource-id", "Values": [resource_id]}])))
    for page in pages:
        found += page.get("FlowLogs", [])
    return found


def read_back(client, flow_log_id, sleep=time.sleep):
    """The entry of a flow log just created or tagged (DescribeFlowLogs may lag behind for a moment)."""
    for attempt in range(READ_BACK_ATTEMPTS):
        answer = aws_call("DescribeFlowLogs of %s failed" % flow_log_id, client.describe_flow_logs, FlowLogIds=[flow_log_id])
        if answer.get("FlowLogs"):
            return answer["FlowLogs"][0]
        if attempt + 1 < READ_BACK_ATTEMPTS:
            sleep(READ_BACK_DELAY)
    raise AwsGapError("flow log %s was written but DescribeFlowLogs does not show it after %d attempts" % (flow_log_id, READ_BACK_ATTEMPTS),
                      changed=True, flow_log_id=flow_log_id)


def differ_text(reasons):
    return "%s %s" % (", ".join(reasons), "differs" if len(reasons) == 1 else "differ")


def unsuccessful_text(items):
    return "; ".join("%s: %s %s" % (item.get("ResourceId"), (item.get("Error") or {}).get("Code"), (item.get("Error") or {}).get("Message"))
                     for item in items)


def create(client, params, tags, sleep=time.sleep):
    """CreateFlowLogs, then the new flow log's entry. AWS reports a refusal per resource in Unsuccessful."""
    what = "CreateFlowLogs for %s to %s failed" % (params["resource_id"], destination_text(params))
    answer = aws_call(what, client.create_flow_logs, **create_request(params, tags))
    if answer.get("Unsuccessful"):
        raise AwsGapError("%s: %s" % (what, unsuccessful_text(answer["Unsuccessful"])), unsuccessful=answer["Unsuccessful"])
    ids = answer.get("FlowLogIds") or []
    if len(ids) != 1:
        raise AwsGapError("%s: it answered flow log ids %s for one resource" % (what, ids), flow_log_ids=ids)
    return read_back(client, ids[0], sleep=sleep)


def delete(client, flow_log_id):
    what = "DeleteFlowLogs of %s failed" % flow_log_id
    answer = aws_call(what, client.delete_flow_logs, FlowLogIds=[flow_log_id])
    if answer.get("Unsuccessful"):
        raise AwsGapError("%s: %s" % (what, unsuccessful_text(answer["Unsuccessful"])), unsuccessful=answer["Unsuccessful"])


def retag(client, flow_log_id, to_set, to_unset):
    if to_unset:
        aws_call("DeleteTags on %s failed" % flow_log_id, client.delete_tags, Resources=[flow_log_id], Tags=[{"Key": key} for key in to_unset])
    if to_set:
        aws_call("CreateTags on %s failed" % flow_log_id, client.create_tags, Resources=[flow_log_id], Tags=ansible_dict_to_boto3_tag_list(to_set))


def ensure(client, params, check_mode=False, sleep=time.sleep):
    """Make the flow log as ``params`` say; the module's result (changed, flow_log, replaced, diff, ...)."""
    check_params(params)
    current = select(describe(client, params["resource_id"]), params)
    step = plan(current, params)
    action = step["action"]
    result = {"changed": action != "none", "replaced": False, "flow_log": to_result(current)}
    before = summary(current)
    after = before

    if action == "create":
        new = planned_flow_log(params, step["tags"]) if check_mode else create(client, params, step["tags"], sleep=sleep)
        result["flow_log"], after = to_result(new), summary(new)
    elif action == "replace":
        old_id = current["FlowLogId"]
        if check_mode:
            new = planned_flow_log(params, step["tags"])
        else:
            try:
                new = create(client, params, step["tags"], sleep=sleep)
            except AwsGapError as exc:
                if exc.details.get("changed"):
                    raise  # made, but not read back: the message says so
                raise AwsGapError("flow log %s must be replaced (%s), but its replacement could not be created, so %s is left as it was: %s"
                                  % (old_id, differ_text(step["reasons"]), old_id, exc.msg), exception=exc.exception, **exc.details) from exc
            try:
                delete(client, old_id)
            except AwsGapError as exc:
                raise AwsGapError(
                    "flow log %s replaces %s (%s) and was created, but the old one could not be deleted, so both log now: %s"
                    % (new["FlowLogId"], old_id, differ_text(step["reasons"]), exc.msg), exception=exc.exception,
                    changed=True, replaced=False, flow_log=to_result(new), old_flow_log_id=old_id) from exc
        result.update(flow_log=to_result(new), replaced=True, replaced_flow_log_id=old_id, replaced_because=step["reasons"])
        after = dict(summary(new), replaces=old_id)
    elif action == "tag":
        if check_mode:
            new = with_tags(current, step["set"], step["unset"])
        else:
            retag(client, current["FlowLogId"], step["set"], step["unset"])
            new = read_back(client, current["FlowLogId"], sleep=sleep)
        result["flow_log"], after = to_result(new), summary(new)
    elif action == "delete":
        if not check_mode:
            delete(client, current["FlowLogId"])
        result.update(flow_log={}, deleted_flow_log_id=current["FlowLogId"])
        after = {}
    result["diff"] = json_safe({"before": before, "after": after})
    return result

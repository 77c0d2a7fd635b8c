"""Unit tests of plugins/module_utils/aws_gaps/flow_logs.py: the input checks, which flow log is the managed one,
the plan, and ensure() against an in-memory EC2 that answers as AWS documents."""

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps import flow_logs
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.common import AwsGapError

from aws_gaps_fakes import BUCKET_ARN, GROUP, OTHER_ROLE, ROLE, VPC, FakeEC2, client_error

CUSTOM = "${version} ${srcaddr} ${dstaddr} ${action}"


def params(**extra):
    """The module's parameters with its defaults, a cloud-watch-logs flow log of VPC to GROUP."""
    out = {"resource_id": VPC, "resource_type": "VPC", "traffic_type": "ALL", "log_destination_type": "cloud-watch-logs",
           "log_group_name": GROUP, "log_destination": None, "deliver_logs_permission_arn": ROLE, "max_aggregation_interval": 600,
           "log_format": None, "tags": None, "purge_tags": True, "state": "present"}
    out.update(extra)
    return out


def s3_params(**extra):
    base = {"log_destination_type": "s3", "log_group_name": None, "log_destination": BUCKET_ARN, "deliver_logs_permission_arn": None}
    base.update(extra)
    return params(**base)


def no_sleep(_seconds):
    raise AssertionError("ensure() slept")


# ---- check_params -----------------------------------------------------------------------------


@pytest.mark.parametrize("good", [params(), s3_params(), params(state="absent", deliver_logs_permission_arn=None), params(log_format=CUSTOM),
                                  params(resource_type="Subnet", resource_id="subnet-0123"), s3_params(log_destination="arn:aws:s3:::loyalty-logs")])
def test_good_inputs_pass(good):
    flow_logs.check_params(good)


@pytest.mark.parametrize("bad, words", [
    (params(deliver_logs_permission_arn=None), ["deliver_logs_permission_arn", "vpc-flow-logs.amazonaws.com", GROUP]),
    (params(deliver_logs_permission_arn="flow-logs"), ["is not the ARN of an IAM role"]),
    (params(log_group_name=None), ["needs log_group_name"]),
    (params(log_destination=BUCKET_ARN), ["log_destination is the ARN of an s3 destination"]),
    (s3_params(log_destination=None), ["needs log_destination"]),
    (s3_params(log_destination="loyalty-flow-logs"), ["is not the ARN of an S3 bucket"]),
    (s3_params(deliver_logs_permission_arn=ROLE), ["AWS does not take a role for an s3 flow log"]),
    (s3_params(log_group_name=GROUP), ["log_group_name is for cloud-watch-logs"]),
    (params(resource_id="subnet-0123"), ["resource_id=subnet-0123 is not a VPC id (vpc-...)"]),
    (params(resource_type="NetworkInterface"), ["is not a NetworkInterface id (eni-...)"]),
    (params(log_format="${version},${srcaddr}"), ["is not a flow log format"]),
    (params(log_format="version srcaddr"), ["is not a flow log format"]),
    (params(log_format=""), ["is not a flow log format"]),
])
def test_bad_inputs_are_named(bad, words):
    with pytest.raises(AwsGapError) as caught:
        flow_logs.check_params(bad)
    for word in words:
        assert word in caught.value.msg


def test_every_problem_is_reported_at_once():
    with pytest.raises(AwsGapError) as caught:
        flow_logs.check_params(params(resource_id="eni-1", deliver_logs_permission_arn=None, log_format="x"))
    assert caught.value.msg.count("; ") == 2


def test_bad_input_makes_no_aws_call():
    ec2 = FakeEC2()
    with pytest.raises(AwsGapError):
        flow_logs.ensure(ec2, params(deliver_logs_permission_arn=None))
    assert ec2.calls == []


# ---- identity ---------------------------------------------------------------------------------


def entry(**extra):
    base = {"FlowLogId": "fl-1", "ResourceId": VPC, "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs", "LogGroupName": GROUP,
            "DeliverLogsPermissionArn": ROLE, "MaxAggregationInterval": 600, "LogFormat": flow_logs.DEFAULT_LOG_FORMAT}
    base.update(extra)
    return base


def test_the_flow_log_of_the_resource_to_the_destination_is_the_managed_one():
    other_group = entry(FlowLogId="fl-2", LogGroupName="/elsewhere")
    other_vpc = entry(FlowLogId="fl-3", ResourceId="vpc-other")
    to_s3 = entry(FlowLogId="fl-4", LogDestinationType="s3", LogGroupName=None, LogDestination=BUCKET_ARN)
    mine = entry(FlowLogId="fl-5", TrafficType="REJECT")
    assert flow_logs.select([other_group, other_vpc, to_s3, mine], params())["FlowLogId"] == "fl-5"
    assert flow_logs.select([other_group, other_vpc, mine], s3_params()) is None
    assert flow_logs.select([other_group, to_s3], s3_params(log_destination=BUCKET_ARN.rstrip("/")))["FlowLogId"] == "fl-4"


def test_a_log_group_named_only_in_the_destination_arn_matches():
    found = entry(LogGroupName=None, LogDestination="arn:aws:logs:us-west-2:123456789012:log-group:%s:*" % GROUP)
    assert flow_logs.select([found], params()) is found


def test_of_two_flow_logs_to_the_destination_the_one_with_the_traffic_type_is_managed():
    accept, reject = entry(FlowLogId="fl-a", TrafficType="ACCEPT"), entry(FlowLogId="fl-r", TrafficType="REJECT")
    assert flow_logs.select([accept, reject], params(traffic_type="REJECT")) is reject
    assert flow_logs.select([accept, reject], params(traffic_type="ACCEPT", state="absent")) is accept


def test_two_flow_logs_none_of_the_traffic_type_is_ambiguous():
    accept, reject = entry(FlowLogId="fl-a", TrafficType="ACCEPT"), entry(FlowLogId="fl-r", TrafficType="REJECT")
    with pytest.raises(AwsGapError) as caught:
        flow_logs.select([accept, reject], params(traffic_type="ALL"))
    assert "fl-a ACCEPT, fl-r REJECT" in caught.value.msg and "ambiguous" in caught.value.msg
    assert caught.value.details["flow_log_ids"] == ["fl-a", "fl-r"]


def test_two_of_the_traffic_type_the_one_that_matches_everything_wins():
    old = entry(FlowLogId="fl-old", MaxAggregationInterval=60)
    new = entry(FlowLogId="fl-new")
    assert flow_logs.select([old, new], params()) is new
    with pytest.raises(AwsGapError):
        flow_logs.select([old, new], params(state="absent", deliver_logs_permission_arn=None))


# ---- plan ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("change, reasons", [
    ({"traffic_type": "REJECT"}, ["traffic_type"]),
    ({"max_aggregation_interval": 60}, ["max_aggregation_interval"]),
    ({"log_format": CUSTOM}, ["log_format"]),
    ({"deliver_logs_permission_arn": OTHER_ROLE}, ["deliver_logs_permission_arn"]),
    ({"traffic_type": "ACCEPT", "max_aggregation_interval": 60}, ["traffic_type", "max_aggregation_interval"]),
])
def test_an_option_aws_cannot_modify_replaces_the_flow_log(change, reasons):
    step = flow_logs.plan(entry(), params(**change))
    assert step["action"] == "replace" and step["reasons"] == reasons


def test_the_default_format_given_explicitly_is_no_change_and_a_custom_one_omitted_is():
    assert flow_logs.plan(entry(), params(log_format=flow_logs.DEFAULT_LOG_FORMAT)) == {"action": "none"}
    assert flow_logs.plan(entry(LogFormat=CUSTOM), params())["reasons"] == ["log_format"]
    assert flow_logs.plan(entry(LogFormat=CUSTOM), params(log_format=CUSTOM)) == {"action": "none"}


def test_tags_change_in_place():
    current = entry(Tags=[{"Key": "Name", "Value": "old"}, {"Key": "team", "Value": "core"}])
    assert flow_logs.plan(current, params()) == {"action": "none"}
    assert flow_logs.plan(current, params(tags={"Name": "new"})) == {"action": "tag", "set": {"Name": "new"}, "unset": ["team"]}
    assert flow_logs.plan(current, params(tags={"Name": "new"}, purge_tags=False)) == {"action": "tag", "set": {"Name": "new"}, "unset": []}
    assert flow_logs.plan(current, params(tags={"Name": "old", "team": "core"})) == {"action": "none"}


def test_a_replacement_carries_the_tags_over_unless_told_otherwise():
    current = entry(Tags=[{"Key": "Name", "Value": "vpc"}, {"Key": "aws:cloudformation:stack-name", "Value": "x"}])
    assert flow_logs.plan(current, params(traffic_type="REJECT"))["tags"] == {"Name": "vpc"}
    assert flow_logs.plan(current, params(traffic_type="REJECT", tags={"env": "prod"}))["tags"] == {"env": "prod"}
    assert flow_logs.plan(current, params(traffic_type="REJECT", tags={"env": "prod"}, purge_tags=False))["tags"] == {"Name": "vpc", "env": "prod"}


def test_absent():
    assert flow_logs.plan(entry(), params(state="absent")) == {"action": "delete"}
    assert flow_logs.plan(None, params(state="absent")) == {"action": "none"}


def test_the_create_request():
    request = flow_logs.create_request(params(tags={"Name": "vpc"}), {"Name": "vpc"})
    assert request == {"ResourceIds": [VPC], "ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs",
                       "MaxAggregationInterval": 600, "LogGroupName": GROUP, "DeliverLogsPermissionArn": ROLE,
                       "TagSpecifications": [{"ResourceType": "vpc-flow-log", "Tags": [{"Key": "Name", "Value": "vpc"}]}]}
    request = flow_logs.create_request(s3_params(log_format=CUSTOM, traffic_type="REJECT"), {})
    assert request == {"ResourceIds": [VPC], "ResourceType": "VPC", "TrafficType": "REJECT", "LogDestinationType": "s3",
                       "MaxAggregationInterval": 600, "LogDestination": BUCKET_ARN, "LogFormat": CUSTOM}


# ---- ensure ---------------------------------------------------------------------------------------


def test_create_then_nothing_to_do():
    ec2 = FakeEC2()
    result = flow_logs.ensure(ec2, params(tags={"Name": "loyalty"}), sleep=no_sleep)
    assert result["changed"] is True and result["replaced"] is False
    flow_log = result["flow_log"]
    assert flow_log["flow_log_id"] in ec2.flow_logs
    assert flow_log["tags"] == {"Name": "loyalty"} and flow_log["log_group_name"] == GROUP and flow_log["traffic_type"] == "ALL"
    assert flow_log["creation_time"] == "2026-03-01T00:00:00+00:00"
    assert result["diff"]["before"] == {} and result["diff"]["after"]["flow_log_id"] == flow_log["flow_log_id"]
    assert ec2.writes() == ["create_flow_logs"]

    ec2.calls.clear()
    again = flow_logs.ensure(ec2, params(tags={"Name": "loyalty"}), sleep=no_sleep)
    assert again["changed"] is False and again["flow_log"] == flow_log
    assert again["diff"]["before"] == again["diff"]["after"]
    assert ec2.writes() == []


def test_a_replacement_creates_the_new_flow_log_before_deleting_the_old():
    ec2 = FakeEC2()
    old = ec2.add(Tags=[{"Key": "Name", "Value": "loyalty"}])
    result = flow_logs.ensure(ec2, params(traffic_type="REJECT", max_aggregation_interval=60), sleep=no_sleep)
    assert ec2.writes() == ["create_flow_logs", "delete_flow_logs"]
    assert ec2.calls[[n for n, _k in ec2.calls].index("delete_flow_logs")][1] == {"FlowLogIds": [old]}
    new = result["flow_log"]["flow_log_id"]
    assert list(ec2.flow_logs) == [new] and new != old
    assert result["changed"] is True and result["replaced"] is True and result["replaced_flow_log_id"] == old
    assert result["replaced_because"] == ["traffic_type", "max_aggregation_interval"]
    assert ec2.flow_logs[new]["TrafficType"] == "REJECT" and ec2.flow_logs[new]["MaxAggregationInterval"] == 60
    assert result["flow_log"]["tags"] == {"Name": "loyalty"}
    diff = result["diff"]
    assert (diff["before"]["flow_log_id"], diff["after"]["flow_log_id"], diff["after"]["replaces"]) == (old, new, old)
    assert (diff["before"]["traffic_type"], diff["after"]["traffic_type"]) == ("ALL", "REJECT")


def test_a_replacement_aws_refuses_leaves_the_old_flow_log():
    ec2 = FakeEC2()
    old = ec2.add()
    ec2.add(LogGroupName="/another/group")  # the resource already has its two flow logs
    with pytest.raises(AwsGapError) as caught:
        flow_logs.ensure(ec2, params(traffic_type="ACCEPT"), sleep=no_sleep)
    assert "%s must be replaced (traffic_type differs)" % old in caught.value.msg
    assert "left as it was" in caught.value.msg
    assert caught.value.exception.response["Error"]["Code"] == "FlowLogsLimitExceeded"
    assert old in ec2.flow_logs and ec2.writes() == ["create_flow_logs"]


def test_a_refusal_in_unsuccessful_fails_the_task():
    ec2 = FakeEC2()
    ec2.unsuccessful["create_flow_logs"] = [{"ResourceId": VPC, "Error": {"Code": "400", "Message": "Access error"}}]
    with pytest.raises(AwsGapError) as caught:
        flow_logs.ensure(ec2, params(), sleep=no_sleep)
    assert caught.value.msg == "CreateFlowLogs for %s to log group %s failed: %s: 400 Access error" % (VPC, GROUP, VPC)
    assert ec2.flow_logs == {}


def test_an_old_flow_log_that_cannot_be_deleted_is_reported_with_the_new_one():
    ec2 = FakeEC2()
    old = ec2.add()
    ec2.fail["delete_flow_logs"] = client_error("UnauthorizedOperation", "not allowed", "DeleteFlowLogs")
    with pytest.raises(AwsGapError) as caught:
        flow_logs.ensure(ec2, params(log_format=CUSTOM), sleep=no_sleep)
    new = [fl for fl in ec2.flow_logs if fl != old]
    assert len(new) == 1 and old in ec2.flow_logs
    assert caught.value.msg.startswith("flow log %s replaces %s (log_format differs) and was created, but the old one could not be deleted, "
                                       "so both log now" % (new[0], old))
    assert caught.value.details["changed"] is True and caught.value.details["flow_log"]["flow_log_id"] == new[0]
    assert caught.value.details["old_flow_log_id"] == old


def test_tags_are_changed_on_the_flow_log_itself():
    ec2 = FakeEC2()
    flow_log_id = ec2.add(Tags=[{"Key": "Name", "Value": "old"}, {"Key": "team", "Value": "core"}])
    result = flow_logs.ensure(ec2, params(tags={"Name": "new", "env": "prod"}), sleep=no_sleep)
    assert ec2.writes() == ["delete_tags", "create_tags"]
    assert result["changed"] is True and result["replaced"] is False
    assert result["flow_log"]["flow_log_id"] == flow_log_id and result["flow_log"]["tags"] == {"Name": "new", "env": "prod"}
    assert result["diff"]["before"]["tags"] == {"Name": "old", "team": "core"} and result["diff"]["after"]["tags"] == {"Name": "new", "env": "prod"}


def test_check_mode_writes_nothing_and_reports_what_would_happen():
    ec2 = FakeEC2()
    created = flow_logs.ensure(ec2, params(tags={"Name": "x"}), check_mode=True, sleep=no_sleep)
    assert created["changed"] is True and "flow_log_id" not in created["flow_log"] and created["flow_log"]["tags"] == {"Name": "x"}
    old = ec2.add(Tags=[{"Key": "Name", "Value": "x"}])
    replaced = flow_logs.ensure(ec2, params(traffic_type="REJECT"), check_mode=True, sleep=no_sleep)
    assert replaced["replaced"] is True and replaced["replaced_flow_log_id"] == old and replaced["diff"]["after"]["replaces"] == old
    assert replaced["diff"]["after"]["traffic_type"] == "REJECT" and replaced["diff"]["after"]["flow_log_id"] is None
    tagged = flow_logs.ensure(ec2, params(tags={"Name": "y"}), check_mode=True, sleep=no_sleep)
    assert tagged["changed"] is True and tagged["flow_log"]["tags"] == {"Name": "y"}
    deleted = flow_logs.ensure(ec2, params(state="absent"), check_mode=True, sleep=no_sleep)
    assert deleted["changed"] is True and deleted["deleted_flow_log_id"] == old and deleted["diff"]["after"] == {}
    assert ec2.writes() == [] and list(ec2.flow_logs) == [old]


def test_absent_deletes_only_the_managed_flow_log():
    ec2 = FakeEC2()
    mine = ec2.add()
    other = ec2.add(LogGroupName="/another/group")
    result = flow_logs.ensure(ec2, params(state="absent", deliver_logs_permission_arn=None), sleep=no_sleep)
    assert result["changed"] is True and result["deleted_flow_log_id"] == mine and result["flow_log"] == {}
    assert list(ec2.flow_logs) == [other]
    again = flow_logs.ensure(ec2, params(state="absent", deliver_logs_permission_arn=None), sleep=no_sleep)
    assert again["changed"] is False and ec2.writes() == ["delete_flow_logs"]


def test_a_flow_log_not_yet_listed_after_create_is_read_again():
    ec2 = FakeEC2()
    real = ec2.describe_flow_logs
    answers = iter([{"FlowLogs": []}])

    def lagging(**kwargs):
        if kwargs.get("FlowLogIds"):
            return next(answers, None) or real(**kwargs)
        return real(**kwargs)

    ec2.describe_flow_logs = lagging
    slept = []
    result = flow_logs.ensure(ec2, params(), sleep=slept.append)
    assert slept == [flow_logs.READ_BACK_DELAY] and result["flow_log"]["flow_log_id"] in ec2.flow_logs


def test_an_aws_error_keeps_its_exception_and_names_the_call():
    ec2 = FakeEC2()
    ec2.fail["describe_flow_logs"] = client_error("UnauthorizedOperation", "You are not authorized", "DescribeFlowLogs")
    with pytest.raises(AwsGapError) as caught:
        flow_logs.ensure(ec2, params(), sleep=no_sleep)
    assert caught.value.msg == "DescribeFlowLogs of %s failed" % VPC
    assert str(caught.value) == "DescribeFlowLogs of %s failed: UnauthorizedOperation: You are not authorized" % VPC
    assert caught.value.exception is not None

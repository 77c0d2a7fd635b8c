"""loyalty.platform.ec2_vpc_flow_log through ansible-playbook against the sandbox's EC2 (moto behind the AWS front):
create, nothing to do, tags, replacement, check mode, delete and bad input, every outcome read back with boto3.

The module reaches AWS through a RecordingProxy of this suite (awsgapslib), so that "no write" and "no request"
are this test's requests only, whatever other suites send to the shared front meanwhile."""

import pytest

from awsgapslib import RecordingProxy, aws_client, play, task, trust_policy, unique

DEFAULT_FORMAT = ("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} "
                  "${bytes} ${start} ${end} ${action} ${log-status}")
CUSTOM_FORMAT = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action}"


@pytest.fixture(scope="module")
def ec2(sandbox):
    return aws_client(sandbox, "ec2")


@pytest.fixture
def proxy(sandbox):
    recorder = RecordingProxy(sandbox["AWS_ENDPOINT_URL"]).start()
    yield recorder
    recorder.stop()


@pytest.fixture
def world(sandbox, ec2):
    """A VPC, two log groups, two IAM roles the flow logs service may assume, and a bucket; all removed afterwards
    (the VPC's flow logs first)."""
    logs, iam, s3 = aws_client(sandbox, "logs"), aws_client(sandbox, "iam"), aws_client(sandbox, "s3")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    groups = ["/it/flow-logs/" + unique("group"), "/it/flow-logs/" + unique("other")]
    for group in groups:
        logs.create_log_group(logGroupName=group)
    roles = []
    for tag in ("role", "other-role"):
        roles.append(iam.create_role(RoleName=unique(tag), AssumeRolePolicyDocument=trust_policy("vpc-flow-logs.amazonaws.com"))["Role"])
    bucket = unique("flow-logs")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": sandbox["AWS_DEFAULT_REGION"]})
    yield {"vpc": vpc, "group": groups[0], "other_group": groups[1], "role": roles[0]["Arn"], "other_role": roles[1]["Arn"],
           "bucket_arn": "arn:aws:s3:::%s" % bucket, "folder_arn": "arn:aws:s3:::%s/vpc/production/" % bucket}
    leftover = flow_logs_of(ec2, vpc)
    if leftover:
        ec2.delete_flow_logs(FlowLogIds=[item["FlowLogId"] for item in leftover])
    ec2.delete_vpc(VpcId=vpc)
    for group in groups:
        logs.delete_log_group(logGroupName=group)
    for role in roles:
        iam.delete_role(RoleName=role["RoleName"])
    s3.delete_bucket(Bucket=bucket)


def flow_logs_of(ec2, vpc):
    return ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]


def tags(entry):
    return {tag["Key"]: tag["Value"] for tag in entry.get("Tags", [])}


def flow_log_task(world, name="flow log", **args):
    base = {"resource_id": world["vpc"], "log_group_name": world["group"], "deliver_logs_permission_arn": world["role"]}
    base.update(args)
    return task(name, "ec2_vpc_flow_log", **base)


def run(run_playbook, proxy, *tasks, check=False, diff=False):
    proxy.clear()
    return run_playbook(play(*tasks), check=check, diff=diff, env={"AWS_ENDPOINT_URL": proxy.url})


def ok(result, name="flow log"):
    out = result.task_result(name)
    assert not out.get("failed"), out.get("msg", out)
    return out


def test_a_flow_log_is_created_then_left_alone_then_retagged_in_place(run_playbook, proxy, ec2, world):
    out = ok(run(run_playbook, proxy, flow_log_task(world, traffic_type="ALL", max_aggregation_interval=60, tags={"Name": "loyalty", "env": "it"})))
    assert out["changed"] is True and out["replaced"] is False
    assert proxy.writes() == ["CreateFlowLogs"]
    (entry,) = flow_logs_of(ec2, world["vpc"])
    assert out["flow_log"]["flow_log_id"] == entry["FlowLogId"]
    assert (entry["TrafficType"], entry["LogDestinationType"], entry["LogGroupName"]) == ("ALL", "cloud-watch-logs", world["group"])
    assert (entry["DeliverLogsPermissionArn"], entry["MaxAggregationInterval"], entry["LogFormat"]) == (world["role"], 60, DEFAULT_FORMAT)
    assert tags(entry) == {"Name": "loyalty", "env": "it"} == out["flow_log"]["tags"]
    assert out["flow_log"]["log_group_name"] == world["group"] and out["flow_log"]["max_aggregation_interval"] == 60

    again = ok(run(run_playbook, proxy, flow_log_task(world, max_aggregation_interval=60, tags={"env": "it", "Name": "loyalty"})))
    assert again["changed"] is False and again["flow_log"]["flow_log_id"] == entry["FlowLogId"]
    assert proxy.writes() == [] and "DescribeFlowLogs" in proxy.operations()

    retagged = ok(run(run_playbook, proxy, flow_log_task(world, max_aggregation_interval=60, tags={"Name": "loyalty-vpc"}), diff=True))
    assert retagged["changed"] is True and retagged["replaced"] is False
    assert sorted(proxy.writes()) == ["CreateTags", "DeleteTags"]
    assert retagged["diff"]["before"]["tags"] == {"Name": "loyalty", "env": "it"} and retagged["diff"]["after"]["tags"] == {"Name": "loyalty-vpc"}
    (after,) = flow_logs_of(ec2, world["vpc"])
    assert after["FlowLogId"] == entry["FlowLogId"] and tags(after) == {"Name": "loyalty-vpc"}

    kept = ok(run(run_playbook, proxy, flow_log_task(world, max_aggregation_interval=60, tags={"team": "core"}, purge_tags=False)))
    assert kept["changed"] is True and tags(flow_logs_of(ec2, world["vpc"])[0]) == {"Name": "loyalty-vpc", "team": "core"}
    assert proxy.writes() == ["CreateTags"]


def test_an_option_aws_cannot_modify_replaces_the_flow_log_new_one_first(run_playbook, proxy, ec2, world):
    first = ok(run(run_playbook, proxy, flow_log_task(world, tags={"Name": "loyalty"})))
    old = first["flow_log"]["flow_log_id"]

    out = ok(run(run_playbook, proxy, flow_log_task(world, traffic_type="REJECT", max_aggregation_interval=60,
                                                    deliver_logs_permission_arn=world["other_role"]), diff=True))
    writes = proxy.writes()
    assert writes == ["CreateFlowLogs", "DeleteFlowLogs"], "the new flow log must exist before the old one is deleted: %s" % writes
    assert out["changed"] is True and out["replaced"] is True and out["replaced_flow_log_id"] == old
    assert out["replaced_because"] == ["traffic_type", "max_aggregation_interval", "deliver_logs_permission_arn"]
    (entry,) = flow_logs_of(ec2, world["vpc"])
    assert entry["FlowLogId"] == out["flow_log"]["flow_log_id"] != old
    assert (entry["TrafficType"], entry["MaxAggregationInterval"], entry["DeliverLogsPermissionArn"]) == ("REJECT", 60, world["other_role"])
    assert entry["LogGroupName"] == world["group"]
    assert tags(entry) == {"Name": "loyalty"}, "a replacement carries the old flow log's tags over"
    diff = out["diff"]
    assert (diff["before"]["flow_log_id"], diff["after"]["flow_log_id"], diff["after"]["replaces"]) == (old, entry["FlowLogId"], old)
    assert (diff["before"]["traffic_type"], diff["after"]["traffic_type"]) == ("ALL", "REJECT")

    again = ok(run(run_playbook, proxy, flow_log_task(world, traffic_type="REJECT", max_aggregation_interval=60,
                                                      deliver_logs_permission_arn=world["other_role"])))
    assert again["changed"] is False and again["replaced"] is False and proxy.writes() == []


def test_an_s3_flow_log_is_created_kept_and_deleted(run_playbook, proxy, ec2, world):
    s3_task = {"log_destination_type": "s3", "log_destination": world["bucket_arn"], "log_group_name": None,
               "deliver_logs_permission_arn": None, "traffic_type": "REJECT", "log_format": CUSTOM_FORMAT}
    out = ok(run(run_playbook, proxy, flow_log_task(world, **s3_task)))
    assert out["changed"] is True and proxy.writes() == ["CreateFlowLogs"]
    (entry,) = flow_logs_of(ec2, world["vpc"])
    assert (entry["LogDestinationType"], entry["LogDestination"], entry["TrafficType"]) == ("s3", world["bucket_arn"], "REJECT")
    assert entry["LogFormat"] == CUSTOM_FORMAT and not entry.get("DeliverLogsPermissionArn")

    again = ok(run(run_playbook, proxy, flow_log_task(world, **s3_task)))
    assert again["changed"] is False and proxy.writes() == []

    gone = ok(run(run_playbook, proxy, flow_log_task(world, **dict(s3_task, state="absent"))))
    assert gone["changed"] is True and gone["deleted_flow_log_id"] == entry["FlowLogId"] and gone["flow_log"] == {}
    assert flow_logs_of(ec2, world["vpc"]) == [] and proxy.writes() == ["DeleteFlowLogs"]


def test_a_flow_log_writes_to_a_folder_of_a_bucket(run_playbook, proxy, ec2, world):
    folder_task = {"log_destination_type": "s3", "log_destination": world["folder_arn"], "log_group_name": None, "deliver_logs_permission_arn": None}
    out = ok(run(run_playbook, proxy, flow_log_task(world, **folder_task)))
    assert out["changed"] is True and out["flow_log"]["log_destination"] == world["folder_arn"]
    (entry,) = flow_logs_of(ec2, world["vpc"])
    assert entry["LogDestination"] == world["folder_arn"]
    again = ok(run(run_playbook, proxy, flow_log_task(world, **folder_task)))
    assert again["changed"] is False and proxy.writes() == []


def test_a_new_log_format_replaces_an_s3_flow_log(run_playbook, proxy, ec2, world):
    s3_task = {"log_destination_type": "s3", "log_destination": world["bucket_arn"], "log_group_name": None, "deliver_logs_permission_arn": None}
    old = ok(run(run_playbook, proxy, flow_log_task(world, **s3_task)))["flow_log"]["flow_log_id"]
    out = ok(run(run_playbook, proxy, flow_log_task(world, log_format=CUSTOM_FORMAT, **s3_task)))
    assert proxy.writes() == ["CreateFlowLogs", "DeleteFlowLogs"]
    assert out["replaced"] is True and out["replaced_because"] == ["log_format"] and out["replaced_flow_log_id"] == old
    (entry,) = flow_logs_of(ec2, world["vpc"])
    assert entry["FlowLogId"] != old and entry["LogFormat"] == CUSTOM_FORMAT and entry["LogDestination"] == world["bucket_arn"]


def test_check_mode_writes_nothing(run_playbook, proxy, ec2, world):
    would = ok(run(run_playbook, proxy, flow_log_task(world, tags={"Name": "loyalty"}), check=True, diff=True))
    assert would["changed"] is True and "flow_log_id" not in would["flow_log"] and would["flow_log"]["tags"] == {"Name": "loyalty"}
    assert would["diff"]["before"] == {} and would["diff"]["after"]["log_group_name"] == world["group"]
    assert proxy.writes() == [] and set(proxy.operations()) == {"DescribeFlowLogs"}
    assert flow_logs_of(ec2, world["vpc"]) == []

    made = ok(run(run_playbook, proxy, flow_log_task(world, tags={"Name": "loyalty"})))
    before = flow_logs_of(ec2, world["vpc"])
    checks = [
        ("replace", {"traffic_type": "ACCEPT"}),
        ("retag", {"tags": {"Name": "other"}}),
        ("delete", {"state": "absent"}),
    ]
    for what, change in checks:
        out = ok(run(run_playbook, proxy, flow_log_task(world, **dict({"tags": {"Name": "loyalty"}}, **change)), check=True, diff=True))
        assert out["changed"] is True, what
        assert proxy.writes() == [], "check mode (%s) wrote: %s" % (what, proxy.operations())
        assert flow_logs_of(ec2, world["vpc"]) == before, what
    replace = ok(run(run_playbook, proxy, flow_log_task(world, traffic_type="ACCEPT", tags={"Name": "loyalty"}), check=True, diff=True))
    assert replace["replaced"] is True and replace["replaced_flow_log_id"] == made["flow_log"]["flow_log_id"]
    assert replace["diff"]["after"]["replaces"] == made["flow_log"]["flow_log_id"] and replace["diff"]["after"]["traffic_type"] == "ACCEPT"


def test_absent_deletes_only_the_flow_log_to_its_destination(run_playbook, proxy, ec2, world):
    other = ec2.create_flow_logs(ResourceIds=[world["vpc"]], ResourceType="VPC", TrafficType="ALL", LogGroupName=world["other_group"],
                                 DeliverLogsPermissionArn=world["role"])["FlowLogIds"][0]
    mine = ok(run(run_playbook, proxy, flow_log_task(world)))["flow_log"]["flow_log_id"]
    assert {item["FlowLogId"] for item in flow_logs_of(ec2, world["vpc"])} == {mine, other}

    gone = ok(run(run_playbook, proxy, task("flow log", "ec2_vpc_flow_log", resource_id=world["vpc"], log_group_name=world["group"],
                                            state="absent"), diff=True))
    assert gone["changed"] is True and gone["deleted_flow_log_id"] == mine
    assert gone["diff"]["before"]["flow_log_id"] == mine and gone["diff"]["after"] == {}
    assert [item["FlowLogId"] for item in flow_logs_of(ec2, world["vpc"])] == [other]
    assert proxy.writes() == ["DeleteFlowLogs"]
    assert "FlowLogId.1=" + mine in proxy.bodies("DeleteFlowLogs")[0]

    again = ok(run(run_playbook, proxy, task("flow log", "ec2_vpc_flow_log", resource_id=world["vpc"], log_group_name=world["group"],
                                             state="absent")))
    assert again["changed"] is False and proxy.writes() == []


@pytest.mark.parametrize("args, words", [
    ({"deliver_logs_permission_arn": None}, ["needs deliver_logs_permission_arn", "vpc-flow-logs.amazonaws.com"]),
    ({"log_format": "${version},${srcaddr}"}, ["is not a flow log format"]),
    ({"resource_type": "Subnet"}, ["is not a Subnet id (subnet-...)"]),
    ({"log_destination_type": "s3", "log_group_name": None, "deliver_logs_permission_arn": None}, ["log_destination_type is s3", "log_destination"]),
    ({"log_destination_type": "s3", "log_destination": "arn:aws:s3:::it-bucket", "log_group_name": None}, ["does not take a role"]),
    ({"max_aggregation_interval": 300}, ["max_aggregation_interval", "60, 600"]),
    ({"traffic_type": "SOME"}, ["traffic_type", "ACCEPT, REJECT, ALL"]),
])
def test_bad_input_is_refused_before_any_aws_call(run_playbook, proxy, ec2, world, args, words):
    out = run(run_playbook, proxy, flow_log_task(world, **args)).task_result("flow log")
    assert out.get("failed") is True, out
    for word in words:
        assert word in out["msg"], out["msg"]
    assert proxy.operations() == [], "a refused input still reached AWS: %s" % proxy.operations()
    assert flow_logs_of(ec2, world["vpc"]) == []

"""loyalty.platform.eks_cluster_logging through ansible-playbook against the sandbox's EKS (moto behind the AWS front):
enabling, adding and removing log types, nothing to do, check mode, a missing cluster and bad input, every outcome
read back with boto3's DescribeCluster.

The front counts EKS (a REST-JSON service) as "other", so the module reaches AWS through a RecordingProxy of this
suite (awsgapslib), which names EKS operations from their method and path: UpdateClusterConfig is told apart from
the reads, and check mode is shown to send none, besides the cluster read back unchanged."""

import json
import time

import pytest

from awsgapslib import PendingDelays, RecordingProxy, aws_client, play, task, trust_policy, unique

ALL = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


@pytest.fixture(scope="module")
def eks(sandbox):
    return aws_client(sandbox, "eks")


@pytest.fixture
def proxy(sandbox):
    recorder = RecordingProxy(sandbox["AWS_ENDPOINT_URL"]).start()
    yield recorder
    recorder.stop()


@pytest.fixture
def pending(sandbox):
    delays = PendingDelays(sandbox["SANDBOX_MOTO_URL"])
    yield delays
    delays.restore()


@pytest.fixture(scope="module")
def network(sandbox):
    """A VPC with two subnets and the cluster role, for every cluster of the suite."""
    ec2, iam = aws_client(sandbox, "ec2"), aws_client(sandbox, "iam")
    vpc = ec2.create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for cidr, zone in (("10.43.1.0/24", "us-west-2a"), ("10.43.2.0/24", "us-west-2b"))]
    role = iam.create_role(RoleName=unique("eks-cluster"), AssumeRolePolicyDocument=trust_policy("eks.amazonaws.com"))["Role"]
    yield {"subnets": subnets, "role": role["Arn"]}
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)
    iam.delete_role(RoleName=role["RoleName"])


@pytest.fixture
def cluster(eks, network):
    """Make a cluster with the given enabled log types (``make(enabled)`` returns its name); deleted afterwards."""
    made = []

    def make(enabled=()):
        name = unique("eks")
        logging = {"clusterLogging": [setup for setup in ({"types": [t for t in ALL if t in enabled], "enabled": True},
                                                          {"types": [t for t in ALL if t not in enabled], "enabled": False}) if setup["types"]]}
        eks.create_cluster(name=name, version="1.34", roleArn=network["role"], resourcesVpcConfig={"subnetIds": network["subnets"]},
                           logging=logging)
        made.append(name)
        return name

    yield make
    for name in made:
        eks.delete_cluster(name=name)


def enabled_of(eks, name):
    """The enabled log types of the cluster as DescribeCluster reports them, in AWS's order."""
    enabled = set()
    for setup in eks.describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"]:
        if setup["enabled"]:
            enabled.update(setup["types"])
    return [t for t in ALL if t in enabled]


def logging_task(name, enabled, **args):
    return task("logging", "eks_cluster_logging", name=name, enabled_types=list(enabled), **args)


def run(run_playbook, proxy, *tasks, check=False, diff=False):
    proxy.clear()
    return run_playbook(play(*tasks), check=check, diff=diff, env={"AWS_ENDPOINT_URL": proxy.url})


def ok(result, name="logging"):
    out = result.task_result(name)
    assert not out.get("failed"), out.get("msg", out)
    return out


def sent_logging(proxy):
    return [json.loads(body)["logging"] for body in proxy.bodies("UpdateClusterConfig")]


def test_log_types_are_enabled_and_the_update_waited_for(run_playbook, proxy, eks, cluster):
    name = cluster()
    out = ok(run(run_playbook, proxy, logging_task(name, ["audit", "api"]), diff=True))
    assert out["changed"] is True
    assert out["enabled_types"] == ["api", "audit"] and out["disabled_types"] == ["authenticator", "controllerManager", "scheduler"]
    assert out["logging_update"]["status"] == "Successful" and out["logging_update"]["id"]
    assert out["diff"] == {"before": {"enabled_types": []}, "after": {"enabled_types": ["api", "audit"]}}
    assert sent_logging(proxy) == [{"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]}]
    assert "DescribeUpdate" in proxy.operations()
    assert enabled_of(eks, name) == ["api", "audit"]


def test_types_are_added_and_removed_with_one_update_of_the_difference(run_playbook, proxy, eks, cluster):
    name = cluster(["api", "audit", "authenticator"])
    out = ok(run(run_playbook, proxy, logging_task(name, ["audit", "authenticator", "scheduler"])))
    assert out["changed"] is True and out["enabled_types"] == ["audit", "authenticator", "scheduler"]
    assert proxy.writes() == ["UpdateClusterConfig"]
    assert sent_logging(proxy) == [{"clusterLogging": [{"types": ["scheduler"], "enabled": True}, {"types": ["api"], "enabled": False}]}]
    assert enabled_of(eks, name) == ["audit", "authenticator", "scheduler"]

    again = ok(run(run_playbook, proxy, logging_task(name, ["scheduler", "authenticator", "audit"])))
    assert again["changed"] is False and "logging_update" not in again and proxy.writes() == []


def test_an_empty_list_disables_every_type(run_playbook, proxy, eks, cluster):
    name = cluster(ALL)
    out = ok(run(run_playbook, proxy, logging_task(name, [])))
    assert out["changed"] is True and out["enabled_types"] == [] and out["disabled_types"] == ALL
    assert sent_logging(proxy) == [{"clusterLogging": [{"types": ALL, "enabled": False}]}]
    assert enabled_of(eks, name) == []


def test_without_wait_the_update_is_returned_in_progress(run_playbook, proxy, eks, cluster, pending):
    name = cluster()
    pending.delay("eks", 3, ["modify"])  # an update takes time, as on AWS
    out = ok(run(run_playbook, proxy, logging_task(name, ["audit"], wait=False)))
    assert out["changed"] is True and out["logging_update"]["status"] == "InProgress" and out["logging_update"]["type"] == "LoggingUpdate"
    assert "DescribeUpdate" not in proxy.operations()
    # The id is EKS's own: the update can be followed to its end, after which the cluster shows it.
    deadline = time.monotonic() + 60
    while eks.describe_update(name=name, updateId=out["logging_update"]["id"])["update"]["status"] == "InProgress":
        assert time.monotonic() < deadline, "update %s of %s still InProgress" % (out["logging_update"]["id"], name)
        time.sleep(0.5)
    assert eks.describe_update(name=name, updateId=out["logging_update"]["id"])["update"]["status"] == "Successful"
    assert enabled_of(eks, name) == ["audit"]


def test_nothing_to_change_sends_no_update(run_playbook, proxy, eks, cluster):
    name = cluster(["api", "audit"])
    out = ok(run(run_playbook, proxy, logging_task(name, ["audit", "api"]), diff=True))
    assert out["changed"] is False and "logging_update" not in out
    assert out["diff"]["before"] == out["diff"]["after"] == {"enabled_types": ["api", "audit"]}
    assert proxy.operations() == ["DescribeCluster"]
    assert enabled_of(eks, name) == ["api", "audit"]


def test_check_mode_sends_no_update(run_playbook, proxy, eks, cluster):
    name = cluster(["api", "scheduler"])
    out = ok(run(run_playbook, proxy, logging_task(name, ["audit", "api"]), check=True, diff=True))
    assert out["changed"] is True and "logging_update" not in out and out["enabled_types"] == ["api", "audit"]
    assert out["diff"] == {"before": {"enabled_types": ["api", "scheduler"]}, "after": {"enabled_types": ["api", "audit"]}}
    assert proxy.operations() == ["DescribeCluster"], "check mode sent %s" % proxy.operations()
    assert enabled_of(eks, name) == ["api", "scheduler"]


def test_a_cluster_still_creating_is_waited_for_or_refused(run_playbook, proxy, eks, cluster, pending):
    pending.delay("eks", 25, ["create"])
    name = cluster()
    assert eks.describe_cluster(name=name)["cluster"]["status"] == "CREATING"

    refused = run(run_playbook, proxy, logging_task(name, ["api"], wait=False)).task_result("logging")
    assert refused.get("failed") is True
    assert "EKS cluster %s is CREATING, not ACTIVE, and wait=false" % name in refused["msg"]
    assert proxy.writes() == []

    too_short = run(run_playbook, proxy, logging_task(name, ["api"], wait_timeout=2)).task_result("logging")
    assert too_short.get("failed") is True
    assert too_short["msg"] == "EKS cluster %s is still CREATING after wait_timeout=2s; its logging is only changed once it is ACTIVE" % name
    assert proxy.writes() == [] and proxy.operations().count("DescribeCluster") >= 2

    out = ok(run(run_playbook, proxy, logging_task(name, ["api"])))
    assert out["changed"] is True and out["logging_update"]["status"] == "Successful"
    operations = proxy.operations()
    assert operations.count("DescribeCluster") >= 2 and operations.index("UpdateClusterConfig") > operations.index("DescribeCluster")
    assert eks.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE" and enabled_of(eks, name) == ["api"]


def test_an_update_in_progress_is_followed_to_its_end_or_to_the_timeout(run_playbook, proxy, eks, cluster, pending):
    name = cluster()
    pending.delay("eks", 5, ["modify"])
    out = ok(run(run_playbook, proxy, logging_task(name, ["audit"])))
    assert out["changed"] is True and out["logging_update"]["status"] == "Successful"
    assert proxy.operations().count("DescribeUpdate") >= 2, "the update was InProgress at first: %s" % proxy.operations()
    assert enabled_of(eks, name) == ["audit"]

    late = run(run_playbook, proxy, logging_task(name, ["audit", "scheduler"], wait_timeout=2)).task_result("logging")
    assert late.get("failed") is True and late["changed"] is True
    update_id = late["logging_update"]["id"]
    assert late["msg"] == ("the logging update %s of EKS cluster %s is still InProgress after wait_timeout=2s (no errors reported)"
                           % (update_id, name))
    assert eks.describe_update(name=name, updateId=update_id)["update"]["status"] == "InProgress"
    assert proxy.writes() == ["UpdateClusterConfig"]


def test_a_missing_cluster_is_named(run_playbook, proxy, sandbox):
    name = unique("no-such-cluster")
    out = run(run_playbook, proxy, logging_task(name, ["api"])).task_result("logging")
    assert out.get("failed") is True
    assert out["msg"] == "EKS cluster %s does not exist in region %s" % (name, sandbox["AWS_DEFAULT_REGION"])
    assert proxy.writes() == []


@pytest.mark.parametrize("args, words", [
    ({"enabled_types": ["api", "kubelet"]}, ["enabled_types", "kubelet", "api, audit, authenticator, controllerManager, scheduler"]),
    ({"enabled_types": ["api"], "wait_timeout": 0}, ["wait_timeout=0 must be at least 1 second"]),
    ({"enabled_types": "api,audit,kubelet"}, ["kubelet"]),
])
def test_bad_input_is_refused_before_any_aws_call(run_playbook, proxy, eks, cluster, args, words):
    name = cluster(["api"])
    out = run(run_playbook, proxy, task("logging", "eks_cluster_logging", name=name, **args)).task_result("logging")
    assert out.get("failed") is True, out
    for word in words:
        assert word in out["msg"], out["msg"]
    assert proxy.operations() == [], "a refused input still reached AWS: %s" % proxy.operations()
    assert enabled_of(eks, name) == ["api"]

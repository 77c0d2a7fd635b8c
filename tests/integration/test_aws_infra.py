"""playbooks/infra.yml (the aws_infra role) against the sandbox's moto, through its AWS front: apply, no-op,
plan without writes, bad input refused before any AWS call, the production guards, teardown. Everything is read
back through boto3; the front's request counts prove what was (not) called."""

import json
import uuid

import boto3
import pytest
from botocore.config import Config

import infracheck
from motofix.control import MotoFix
from s3front.control import S3Front

REGION = "us-west-2"
READ_PREFIXES = ("Describe", "List", "Get", "Head", "BatchGet")
PLAN_TASK = "loyalty.platform.aws_infra : Plan"


def client(sandbox, service):
    return boto3.client(service, region_name=REGION, endpoint_url=sandbox["AWS_ENDPOINT_URL"],
                        aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
                        config=Config(retries={"total_max_attempts": 1}))


def writes(stats):
    """The operations of a stats snapshot that are not reads (the services' read verbs), with their counts."""
    return {name: count for name, count in stats["operations"].items() if not name.startswith(READ_PREFIXES)}


@pytest.fixture
def front(sandbox):
    control = S3Front.from_env(sandbox)
    control.reset_stats()
    return control


def runner(run_playbook, outputs):
    """infra.yml on a private environment name (so tests never meet each other's resources)."""
    project = "it%s" % uuid.uuid4().hex[:6]
    values = {"loyalty_project": project, "aws_infra_outputs_file": str(outputs)}

    def run(check=False, diff=False, **extra):
        return run_playbook("playbooks/infra.yml", inventory="inventories/local", extra_vars=dict(values, **extra), check=check, diff=diff)

    run.name = project + "-local"
    run.outputs = outputs
    return run


@pytest.fixture
def fresh(run_playbook, tmp_path):
    """An environment nobody has built: for runs that must create nothing (check mode, refused input)."""
    return runner(run_playbook, tmp_path / "infra-outputs.json")


# How long what is slow on AWS stays pending in the sandbox (motofix's pending control) while the role builds and
# tears down the shared environment: every wait of the role is then exercised.
PENDING_SECONDS = 4


@pytest.fixture(scope="module")
def built(sandbox, run_playbook, tmp_path_factory):
    """One environment, built once for the tests below and torn down at the end (by the teardown test, else here).

    It is built the way AWS builds: new EKS clusters and node groups stay CREATING, replication groups and NAT gateways
    pending, for a few seconds, so nothing may be used before it is available. (RDS is left out: its module's waiter
    polls every 30 s, which would only add time; the module's own tests wait for it.)"""
    control = MotoFix.from_env(sandbox)
    run = runner(run_playbook, tmp_path_factory.mktemp("infra") / "infra-outputs.json")
    for service in ("eks", "elasticache", "ec2"):
        control.set_pending(service, PENDING_SECONDS, ["create"])
    try:
        run.first = run()
        run.still_pending = control.waiting()
    finally:
        control.clear()
        control.settle()
    run.torn_down = False
    yield run
    if not run.torn_down:
        run(state="absent")


def messages(result):
    """Every failure message of a playbook result."""
    found = []
    for play in result.data.get("plays", []):
        for task in play.get("tasks", []):
            for host in task["hosts"].values():
                if host.get("failed") and host.get("msg"):
                    found.append(str(host["msg"]))
    return "\n".join(found) or result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.parametrize("extra, variable, words", [
    ({"aws_infra_private_subnet_cidrs": ["10.20.1.0/24", "10.99.2.0/24"]}, "aws_infra_private_subnet_cidrs", "outside aws_infra_vpc_cidr"),
    ({"aws_infra_availability_zones": ["us-west-2a"]}, "aws_infra_public_subnet_cidrs", "only 1 zones"),
    ({"aws_infra_eks_version": "1.28"}, "aws_infra_eks_version", "does not offer"),
    ({"aws_infra_db_instance_class": "db.m1.small"}, "aws_infra_db_instance_class", "choose one of"),
    ({"vault_loyalty_redis_password": "short_token"}, "aws_infra_redis_auth_token", "vault_loyalty_redis_password"),
    ({"vault_loyalty_db_master_password": ""}, "aws_infra_db_master_password", "vault_loyalty_db_master_password"),
])
def test_bad_input_is_refused_before_any_aws_call(fresh, front, extra, variable, words):
    result = fresh(**extra)
    assert result.rc != 0
    text = messages(result)
    assert variable in text and words in text and "inventories/local/group_vars/all/" in text, text
    assert front.stats()["total"] == 0, front.stats()
    if "vault_loyalty_redis_password" in extra:
        assert "short_token" not in text


def test_production_teardown_needs_its_confirmation(run_playbook, front):
    result = run_playbook("playbooks/infra.yml", inventory="inventories/production", extra_vars={"state": "absent"})
    assert result.rc != 0 and "infra_destroy_confirm=production" in messages(result)
    assert front.stats()["total"] == 0


def test_check_mode_plans_a_new_environment_and_writes_nothing(sandbox, fresh, front):
    planned = fresh(check=True, diff=True)
    assert planned.rc == 0, messages(planned)
    assert writes(front.stats()) == {}, "check mode wrote to AWS"
    plan = planned.task_result(PLAN_TASK)["msg"]
    assert plan[-1] == "Plan: 30 to create, 0 to change, 0 unchanged.", plan
    assert any(line.startswith("+ create") and "VPC %s" % fresh.name in line for line in plan)
    assert any(line.startswith("+ create") and "RDS PostgreSQL" in line for line in plan)
    assert not client(sandbox, "ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [fresh.name]}])["Vpcs"]
    assert not fresh.outputs.exists()


def test_the_master_password_can_come_from_secrets_manager(sandbox, fresh, front):
    """aws_infra_db_master_password_secret: read once before the checks, checked like the vault's, never shown."""
    secrets = client(sandbox, "secretsmanager")
    tag = uuid.uuid4().hex[:8]
    password = "Sm-%s-Passw0rd" % tag
    secrets.create_secret(Name="it-master-" + tag, SecretString=json.dumps({"username": "loyalty_admin", "password": password}))
    secrets.create_secret(Name="it-short-" + tag, SecretString="Ab1-" + tag[:2])
    front.reset_stats()
    planned = fresh(check=True, aws_infra_db_master_password_secret="it-master-" + tag, vault_loyalty_db_master_password="")
    assert planned.rc == 0, messages(planned)
    assert password not in planned.stdout + planned.stderr
    for secret_id, words in (("it-short-" + tag, "has 6 characters; RDS takes 8 to 128"), ("it-missing-" + tag, "is empty or missing")):
        refused = fresh(aws_infra_db_master_password_secret=secret_id)
        assert refused.rc != 0
        text = messages(refused)
        assert "aws_infra_db_master_password " + words in text and "Secrets Manager secret " + secret_id in text, text
    assert writes(front.stats()) == {}, "a write happened"
    assert not client(sandbox, "ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [fresh.name]}])["Vpcs"]


def test_a_second_run_changes_nothing_and_every_setting_reads_back(sandbox, built, front):
    first = built.first
    assert first.rc == 0, messages(first)
    assert first.changed() > 0
    assert built.still_pending == 0, "the first run ended with resources still pending"
    front.reset_stats()
    second = built()
    assert second.rc == 0, messages(second)
    assert second.changed() == 0, [t["task"]["name"] for t in second.data["plays"][0]["tasks"] if t["hosts"]["localhost"].get("changed")]
    assert writes(front.stats()) == {}, "the no-op run wrote"
    # One read of the environment and no task of a resource after it: 30 resources, a request each, but the VPC's two
    # DNS attributes, which EC2 answers one per DescribeVpcAttribute.
    reads = sum(count for name, count in front.stats()["operations"].items() if name.startswith(READ_PREFIXES))
    assert reads <= 31, front.stats()["operations"]
    assert second.task_result("loyalty.platform.aws_infra : Read the environment")["all_in_sync"] is True

    # Every resource and its settings, read back through boto3 (the same check as the role's molecule verify).
    assert infracheck.present(built.name, str(built.outputs)) == []
    name = built.name
    outputs = json.loads(built.outputs.read_text())
    db = client(sandbox, "rds").describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    secrets = client(sandbox, "secretsmanager")
    database = json.loads(secrets.get_secret_value(SecretId=name + "/database")["SecretString"])
    assert database["host"] == db["Endpoint"]["Address"] and database["username"] == "loyalty_app"
    redis = json.loads(secrets.get_secret_value(SecretId=name + "/redis")["SecretString"])
    assert redis["host"] == outputs["redis_primary_endpoint"] and len(redis["auth_token"]) >= 16
    # No secret in the output of either run.
    for value in (database["password"], redis["auth_token"]):
        assert value not in first.stdout + first.stderr and value not in second.stdout + second.stderr


def test_check_mode_plans_a_change_and_writes_nothing(sandbox, built, front):
    again = built(check=True, diff=True, aws_infra_node_max_size=5)
    assert again.rc == 0, messages(again)
    assert writes(front.stats()) == {}
    plan = again.task_result(PLAN_TASK)["msg"]
    assert [line for line in plan if line[0] in "+~"] == ["~ change    EKS node group %s-main" % built.name], plan
    assert plan[-1] == "Plan: 0 to create, 1 to change, 29 unchanged.", plan
    group = client(sandbox, "eks").describe_nodegroup(clusterName=built.name, nodegroupName=built.name + "-main")["nodegroup"]
    assert group["scalingConfig"]["maxSize"] == 3


def drift(sandbox, name, outputs):
    """Change one setting of each kind of resource behind the role's back; what each should read back as afterwards."""
    ec2, iam, logs = client(sandbox, "ec2"), client(sandbox, "iam"), client(sandbox, "logs")
    vpc_id = outputs["vpc_id"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Owner", "Value": "someone-else"}])
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": False})
    ec2.modify_subnet_attribute(SubnetId=outputs["public_subnet_ids"][1], MapPublicIpOnLaunch={"Value": False})
    public = ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": [name + "-public"]}])["RouteTables"][0]
    ec2.delete_route(RouteTableId=public["RouteTableId"], DestinationCidrBlock="0.0.0.0/0")
    ec2.authorize_security_group_ingress(GroupId=outputs["database_security_group_id"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    logs.put_retention_policy(logGroupName="/aws/eks/%s/cluster" % name, retentionInDays=1)
    iam.detach_role_policy(RoleName=name + "-eks-nodes", PolicyArn="arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy")
    iam.put_role_policy(RoleName=name + "-vpc-flow-logs", PolicyName="deliver-flow-logs", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}))
    eks = client(sandbox, "eks")
    eks.update_nodegroup_config(clusterName=name, nodegroupName=name + "-main", scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 3})
    eks.update_cluster_config(name=name, logging={"clusterLogging": [{"types": ["audit"], "enabled": False}]})
    client(sandbox, "rds").modify_db_instance(DBInstanceIdentifier=name, BackupRetentionPeriod=3, ApplyImmediately=True)
    elasticache = client(sandbox, "elasticache")
    group = elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]
    elasticache.remove_tags_from_resource(ResourceName=group["ARN"], TagKeys=["Owner"])
    secrets = client(sandbox, "secretsmanager")
    value = json.loads(secrets.get_secret_value(SecretId=name + "/redis")["SecretString"])
    secrets.put_secret_value(SecretId=name + "/redis", SecretString=json.dumps(dict(value, host="elsewhere.example")))
    return value


def test_drift_on_every_kind_of_resource_is_found_and_put_right(sandbox, built, front):
    """Settings changed behind the role's back: the read finds each, only those tasks run, and the run restores them."""
    name = built.name
    outputs = json.loads(built.outputs.read_text())
    redis_secret = drift(sandbox, name, outputs)
    planned = built(check=True)
    assert planned.rc == 0, messages(planned)
    differences = planned.task_result("loyalty.platform.aws_infra : Read the environment")["differences"]
    assert set(differences) == {"vpc", "public_subnet 10.20.102.0/24", "public_route_table", "db_security_group", "eks_log_group",
                                "eks_node_role", "flow_log_policy", "nodegroup", "eks_logging", "database", "redis", "redis_secret"}, differences
    assert "secret value" in differences["redis_secret"] and redis_secret["auth_token"] not in planned.stdout

    fixed = built()
    assert fixed.rc == 0, messages(fixed)
    assert infracheck.present(name, str(built.outputs)) == []
    ec2, eks = client(sandbox, "ec2"), client(sandbox, "eks")
    assert ec2.describe_vpcs(VpcIds=[outputs["vpc_id"]])["Vpcs"][0]["Tags"] and {"Key": "Owner", "Value": "platform-team"} in \
        ec2.describe_vpcs(VpcIds=[outputs["vpc_id"]])["Vpcs"][0]["Tags"]
    assert ec2.describe_vpc_attribute(VpcId=outputs["vpc_id"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"] is True
    assert ec2.describe_subnets(SubnetIds=[outputs["public_subnet_ids"][1]])["Subnets"][0]["MapPublicIpOnLaunch"] is True
    public = ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": [name + "-public"]}])["RouteTables"][0]
    assert any(route.get("DestinationCidrBlock") == "0.0.0.0/0" and route.get("GatewayId", "").startswith("igw-") for route in public["Routes"])
    rules = ec2.describe_security_groups(GroupIds=[outputs["database_security_group_id"]])["SecurityGroups"][0]["IpPermissions"]
    assert not any(rule.get("IpRanges") for rule in rules), rules
    assert client(sandbox, "logs").describe_log_groups(logGroupNamePrefix="/aws/eks/%s/cluster" % name)["logGroups"][0]["retentionInDays"] == 14
    attached = client(sandbox, "iam").list_attached_role_policies(RoleName=name + "-eks-nodes")["AttachedPolicies"]
    assert "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy" in [policy["PolicyArn"] for policy in attached]
    policy = client(sandbox, "iam").get_role_policy(RoleName=name + "-vpc-flow-logs", PolicyName="deliver-flow-logs")["PolicyDocument"]
    assert policy["Statement"][0]["Resource"].endswith(":log-group:/aws/vpc/%s/flow-logs:*" % name), policy
    group = eks.describe_nodegroup(clusterName=name, nodegroupName=name + "-main")["nodegroup"]
    assert group["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 2}
    assert "audit" in [kind for setup in eks.describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"] if setup["enabled"]
                       for kind in setup["types"]]
    assert client(sandbox, "rds").describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["BackupRetentionPeriod"] == 1
    elasticache = client(sandbox, "elasticache")
    arn = elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]["ARN"]
    assert {"Key": "Owner", "Value": "platform-team"} in elasticache.list_tags_for_resource(ResourceName=arn)["TagList"]
    secret = json.loads(client(sandbox, "secretsmanager").get_secret_value(SecretId=name + "/redis")["SecretString"])
    assert secret == redis_secret

    front.reset_stats()
    again = built()
    assert again.rc == 0 and again.changed() == 0, messages(again)
    assert writes(front.stats()) == {}


def test_a_protected_database_stops_the_teardown_before_anything_is_deleted(sandbox, built, front):
    rds = client(sandbox, "rds")
    rds.modify_db_instance(DBInstanceIdentifier=built.name, DeletionProtection=True, ApplyImmediately=True)
    try:
        front.reset_stats()
        result = built(state="absent")
        assert result.rc != 0 and "deletion protection" in messages(result) and "aws_infra_db_deletion_protection" in messages(result)
        assert writes(front.stats()) == {}, "a write happened before the guard"
        assert rds.describe_db_instances(DBInstanceIdentifier=built.name)["DBInstances"]
        assert infracheck.present(built.name, str(built.outputs)) == ["RDS encryption, public, deletion protection: got (True, False, True), "
                                                                      "expected (True, False, False)"]
    finally:
        rds.modify_db_instance(DBInstanceIdentifier=built.name, DeletionProtection=False, ApplyImmediately=True)


def test_teardown_removes_everything_and_a_second_one_changes_nothing(sandbox, built):
    """In reverse order, each deletion waited for: replication groups and NAT gateways stay deleting a few seconds, and
    their subnet groups, subnets and addresses cannot go before they are gone."""
    vpc_id = json.loads(built.outputs.read_text())["vpc_id"]
    control = MotoFix.from_env(sandbox)
    for service in ("elasticache", "ec2"):
        control.set_pending(service, PENDING_SECONDS, ["delete"])
    try:
        result = built(state="absent")
        built.torn_down = True
        assert result.rc == 0, messages(result)
        assert control.waiting() == 0, "the teardown ended with deletions still pending"
    finally:
        control.clear()
        control.settle()
    assert not client(sandbox, "ec2").describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
    assert infracheck.absent(built.name) == []
    assert not built.outputs.exists()
    again = built(state="absent")
    assert again.rc == 0 and again.changed() == 0, messages(again)

"""sandbox/motofix: moto answers as AWS does for the VPC, EKS, RDS and ElastiCache the collection manages.

No sandbox needed: moto runs in this process as a ThreadedMotoServer after motofix.apply(), or (for the managed IAM
policies and the control across processes) as ``python -m motofix`` started the way sandbox/ctl.py starts it, each on
a free port of 127.0.0.1. Every test talks to it with real boto3 clients (or the real Ansible modules) and says in its
docstring what moto 5.2 answers without the correction.
"""

import importlib.util
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import boto3
import botocore.exceptions
import pytest
import requests
from moto.server import ThreadedMotoServer

import motofix
from motofix import pending
from motofix.control import MotoFix
from s3front.proxy import Front, FrontServer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGION = "us-west-2"
# Ports other runs use: never ours, even by chance.
RESERVED_PORTS = (range(25000, 30000), range(35000, 40000))
MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
)
ROLE_ARN = "arn:aws:iam::123456789012:role/sandbox-eks"
GOOD_PASSWORD = "Loyalty-Passw0rd!"
GOOD_TOKEN = "Abcdefghijklmnop1234"


def free_port():
    """A port of 127.0.0.1 that is free now and outside the ports other runs use."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if not any(port in reserved for reserved in RESERVED_PORTS):
            return port


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def moto_url():
    motofix.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield "http://%s:%d" % (host, port)
    server.stop()


@pytest.fixture
def control(moto_url):
    """The in-process server's pending control; every test starts and ends without delays or pending transitions."""
    fix = MotoFix(moto_url)
    fix.clear()
    fix.settle()
    yield fix
    fix.clear()
    fix.settle()


@pytest.fixture
def aws(moto_url, control):  # pylint: disable=unused-argument
    def client(service):
        return boto3.client(service, endpoint_url=moto_url, region_name=REGION, aws_access_key_id="sandbox", aws_secret_access_key="sandbox")

    return client


@pytest.fixture
def network(aws):
    """A VPC with two subnets in two zones and a security group."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.%d.0/24" % index, AvailabilityZone=REGION + zone)["Subnet"]["SubnetId"]
               for index, zone in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName=unique("sg"), Description="sandbox", VpcId=vpc)["GroupId"]
    other = ec2.create_security_group(GroupName=unique("sg"), Description="sandbox", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnets": subnets, "group": group, "other_group": other}


# ---- Ansible: a module run twice, the second run a no-op -------------------------------------------------------------


def run_playbook(moto_url, tmp_path, text):
    path = tmp_path / "play.yml"
    path.write_text(textwrap.dedent(text))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    env.update({
        "AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION, "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO_ROOT, ".collections"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False", "ANSIBLE_RETRY_FILES_ENABLED": "False", "NO_PROXY": "127.0.0.1,localhost",
    })
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([playbook, "-i", "localhost,", "-c", "local", str(path)], cwd=str(tmp_path), env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, "ansible-playbook failed:\n%s\n%s" % (proc.stdout[-6000:], proc.stderr[-3000:])
    return proc.stdout


SECOND_RUN_IS_A_NO_OP = """
        - name: The first run changed, the second did not
          ansible.builtin.assert:
            that: [first is changed, second is not changed]
            fail_msg: "first changed={{ first.changed }}, second changed={{ second.changed }}: {{ second }}"
"""


# ---- pending control: the registry and its HTTP answers ---------------------------------------------------------------


def test_the_pending_registry_checks_what_it_is_given():
    registry = pending.Pending()
    assert pending.control_answer("POST", [], {"service": "rds", "seconds": 5}, registry)[1]["pending"] == {
        "rds": {"seconds": 5.0, "actions": ["create", "modify", "delete"]}}
    assert pending.control_answer("POST", [], {"service": "eks", "seconds": 2, "actions": ["delete", "create"]}, registry)[1]["pending"]["eks"] == {
        "seconds": 2.0, "actions": ["create", "delete"]}
    for body, words in (({"service": "s3", "seconds": 1}, "unknown service 's3'"), ({"service": "rds", "seconds": -1}, "seconds must be"),
                        ({"service": "rds", "seconds": True}, "seconds must be"), ({"service": "rds", "seconds": 1, "actions": ["start"]}, "actions"),
                        ({"service": "rds"}, "the body must be"), ({"service": "rds", "seconds": 1, "delay": 2}, "unknown field(s) delay")):
        status, answer = pending.control_answer("POST", [], body, registry)
        assert status == 400 and words in answer["error"], (body, answer)
    assert pending.control_answer("GET", ["nothing"], {}, registry)[0] == 404
    assert pending.control_answer("DELETE", ["rds"], {}, registry)[1]["pending"] == {"eks": {"seconds": 2.0, "actions": ["create", "delete"]}}
    assert pending.control_answer("POST", [], {"service": "eks", "seconds": 0}, registry)[1]["pending"] == {}


def test_pending_transitions_happen_in_order_when_due():
    now = [100.0]
    registry = pending.Pending(clock=lambda: now[0])
    done = []
    registry.later(2, lambda: done.append("second"))
    registry.later(1, lambda: done.append("first"))
    registry.run_due()
    assert done == [] and registry.waiting() == 2
    now[0] = 101.5
    registry.run_due()
    assert done == ["first"]
    registry.run_due(everything=True)
    assert done == ["first", "second"] and registry.waiting() == 0


def test_the_pending_control_answers_this_machine_only():
    answers = []
    environ = {"REMOTE_ADDR": "10.1.2.3", "PATH_INFO": "/_sandbox/pending", "REQUEST_METHOD": "GET", "wsgi.input": None}
    body = pending.control_app(environ, lambda status, headers: answers.append(status))
    assert answers == ["403 Forbidden"] and b"127.0.0.1 only" in body[0]


def test_the_control_client_names_its_errors_and_stays_on_this_machine(moto_url, control):
    with pytest.raises(ValueError):
        MotoFix("http://moto.example.com:5000")
    with pytest.raises(requests.HTTPError, match="unknown service"):
        control.set_pending("lambda", 3)
    assert control.set_pending("rds", 3, actions=["create"]) == {"rds": {"seconds": 3.0, "actions": ["create"]}}
    assert requests.get(moto_url + "/_sandbox/pending", timeout=10).json()["pending"] == control.pending()
    assert control.clear("rds") == {}


def test_a_delay_passes_with_time(aws, control):
    """Transitions are due at a time and happen with the first request after it (here a DescribeDBInstances)."""
    rds = aws("rds")
    name = unique("timed")
    control.set_pending("rds", 0.5, actions=["create"])
    assert rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                                  MasterUsername="loyalty", MasterUserPassword=GOOD_PASSWORD)["DBInstance"]["DBInstanceStatus"] == "creating"
    assert control.waiting() == 1
    time.sleep(0.7)
    assert rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceStatus"] == "available"
    assert control.waiting() == 0


def test_the_aws_front_passes_the_pending_control_to_moto(moto_url, control):
    """Clients that know only AWS_ENDPOINT_URL (the front) reach moto's control; the front counts no AWS request for it."""
    server = FrontServer(free_port(), Front(moto_url))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        through_front = MotoFix("http://127.0.0.1:%d" % server.server_address[1])
        assert through_front.set_pending("ec2", 4) == {"ec2": {"seconds": 4.0, "actions": ["create", "modify", "delete"]}}
        assert control.pending() == {"ec2": {"seconds": 4.0, "actions": ["create", "modify", "delete"]}}
        assert through_front.clear() == {}
        assert server.front.stats.snapshot()["total"] == 0
    finally:
        server.shutdown()
        server.server_close()


# ---- the sandbox's own moto: python -m motofix as sandbox/ctl.py starts it -------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_moto(tmp_path_factory):
    """``python -m motofix`` from sandbox/ctl.py's Moto.command() and extra_env(), on a free port; ready() says when."""
    spec = importlib.util.spec_from_file_location("sandbox_ctl_for_motofix", os.path.join(REPO_ROOT, "sandbox", "ctl.py"))
    ctl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ctl)
    service = ctl.Moto({})
    service.port = free_port()
    log_path = tmp_path_factory.mktemp("motofix") / "moto.log"
    env = dict(os.environ)
    env.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
    env.update(service.extra_env())
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            service.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO_ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not service.ready():
            assert proc.poll() is None, "python -m motofix exited (%s): %s" % (proc.returncode, log_path.read_text()[-2000:])
            assert time.monotonic() < deadline, "python -m motofix not ready in 60 s: %s" % log_path.read_text()[-2000:]
            time.sleep(0.2)
        yield {"url": "http://127.0.0.1:%d" % service.port, "command": service.command(), "env": service.extra_env()}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def sandbox_client(sandbox_moto, service):
    return boto3.client(service, endpoint_url=sandbox_moto["url"], region_name=REGION, aws_access_key_id="sandbox", aws_secret_access_key="sandbox")


def test_ctl_starts_motofix_with_the_managed_policies(sandbox_moto):
    """AWS's managed policies exist in every account, so a role can attach AmazonEKSClusterPolicy and the others by ARN.
    moto 5.2 loads them only with MOTO_IAM_LOAD_MANAGED_POLICIES=true (plain moto_server: NoSuchEntity)."""
    assert sandbox_moto["command"][1:3] == ["-m", "motofix"] and sandbox_moto["env"]["MOTO_IAM_LOAD_MANAGED_POLICIES"] == "true"
    assert sandbox_moto["env"]["PYTHONPATH"] == os.path.join(REPO_ROOT, "sandbox")
    iam = sandbox_client(sandbox_moto, "iam")
    for arn in MANAGED_POLICIES:
        assert iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn
    role = unique("eks-nodes")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}')
    iam.attach_role_policy(RoleName=role, PolicyArn=MANAGED_POLICIES[1])
    assert [item["PolicyArn"] for item in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]] == [MANAGED_POLICIES[1]]


def test_the_pending_control_works_across_processes(sandbox_moto):
    """A test process sets a delay over HTTP; the moto server's replication groups stay creating until settled."""
    control = MotoFix(sandbox_moto["url"])
    elasticache = sandbox_client(sandbox_moto, "elasticache")
    try:
        control.set_pending("elasticache", 60, actions=["create"])
        name = unique("xproc")
        group = elasticache.create_replication_group(ReplicationGroupId=name, ReplicationGroupDescription="d", CacheNodeType="cache.t4g.micro",
                                                     Engine="redis", NumCacheClusters=2)["ReplicationGroup"]
        assert group["Status"] == "creating"
        assert elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]["Status"] == "creating"
        control.settle()
        assert elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]["Status"] == "available"
    finally:
        control.clear()
        control.settle()


# ---- EKS --------------------------------------------------------------------------------------------------------------------


def make_cluster(eks, network, **kwargs):
    name = unique("eks")
    eks.create_cluster(name=name, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": network["subnets"]}, **kwargs)
    return name


def test_a_nodegroup_always_has_an_update_config(aws, network):
    """DescribeNodegroup answers updateConfig: the request's, else {"maxUnavailable": 1}. moto 5.2 drops the request's and
    answers none (community.aws.eks_nodegroup then fails on its second run with KeyError 'updateConfig')."""
    eks = aws("eks")
    name = make_cluster(eks, network)
    eks.create_nodegroup(clusterName=name, nodegroupName="default", nodeRole=ROLE_ARN, subnets=network["subnets"])
    eks.create_nodegroup(clusterName=name, nodegroupName="given", nodeRole=ROLE_ARN, subnets=network["subnets"],
                         updateConfig={"maxUnavailablePercentage": 25})
    assert eks.describe_nodegroup(clusterName=name, nodegroupName="default")["nodegroup"]["updateConfig"] == {"maxUnavailable": 1}
    assert eks.describe_nodegroup(clusterName=name, nodegroupName="given")["nodegroup"]["updateConfig"] == {"maxUnavailablePercentage": 25}


def test_a_nodegroup_takes_tags_by_its_arn(aws, network):
    """TagResource, UntagResource and ListTagsForResource take a node group's ARN. moto 5.2: ResourceNotFoundException."""
    eks = aws("eks")
    name = make_cluster(eks, network)
    arn = eks.create_nodegroup(clusterName=name, nodegroupName="tagged", nodeRole=ROLE_ARN, subnets=network["subnets"],
                               tags={"env": "test"})["nodegroup"]["nodegroupArn"]
    eks.tag_resource(resourceArn=arn, tags={"team": "loyalty"})
    eks.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert eks.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "loyalty"}


def test_cluster_logging_updates_change_only_the_types_named(aws, network):
    """UpdateClusterConfig answers an update that DescribeUpdate and ListUpdates find, and changes only the log types it
    names; DescribeCluster lists every type; an update that changes nothing is refused. moto 5.2 answers the cluster
    (boto3 reads no update), has no DescribeUpdate, replaces the whole list, and takes the no-op."""
    eks = aws("eks")
    name = make_cluster(eks, network, logging={"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]})
    assert eks.describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"] == [
        {"types": ["api", "audit"], "enabled": True}, {"types": ["authenticator", "controllerManager", "scheduler"], "enabled": False}]
    update = eks.update_cluster_config(name=name, logging={"clusterLogging": [{"types": ["api"], "enabled": False}]})["update"]
    assert update["type"] == "LoggingUpdate" and update["status"] == "Successful" and update["params"][0]["type"] == "ClusterLogging"
    assert eks.describe_update(name=name, updateId=update["id"])["update"]["status"] == "Successful"
    assert eks.list_updates(name=name)["updateIds"] == [update["id"]]
    assert eks.describe_cluster(name=name)["cluster"]["logging"]["clusterLogging"] == [
        {"types": ["audit"], "enabled": True}, {"types": ["api", "authenticator", "controllerManager", "scheduler"], "enabled": False}]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        eks.update_cluster_config(name=name, logging={"clusterLogging": [{"types": ["audit"], "enabled": True}]})
    assert error_code(refused) == "InvalidParameterException" and "No changes needed" in str(refused.value)
    with pytest.raises(botocore.exceptions.ClientError) as unknown:
        eks.describe_update(name=name, updateId=str(uuid.uuid4()))
    assert error_code(unknown) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as two_kinds:
        eks.update_cluster_config(name=name, logging={"clusterLogging": [{"types": ["api"], "enabled": True}]},
                                  resourcesVpcConfig={"endpointPrivateAccess": True})
    assert error_code(two_kinds) == "InvalidParameterException"
    with pytest.raises(botocore.exceptions.ClientError) as bad_type:
        make_cluster(eks, network, logging={"clusterLogging": [{"types": ["kubelet"], "enabled": True}]})
    assert error_code(bad_type) == "InvalidParameterException"


def test_cluster_vpc_config_has_its_defaults_and_keeps_what_an_update_leaves(aws, network):
    """resourcesVpcConfig has the VPC, the cluster security group EKS creates and the endpoint defaults, and an endpoint
    update keeps the subnets. moto 5.2 answers only the request's fields and an update replaces them all."""
    eks, ec2 = aws("eks"), aws("ec2")
    name = make_cluster(eks, network)
    config = eks.describe_cluster(name=name)["cluster"]["resourcesVpcConfig"]
    assert config["vpcId"] == network["vpc"] and config["endpointPublicAccess"] is True and config["endpointPrivateAccess"] is False
    assert config["publicAccessCidrs"] == ["0.0.0.0/0"]
    group = ec2.describe_security_groups(GroupIds=[config["clusterSecurityGroupId"]])["SecurityGroups"][0]
    assert group["VpcId"] == network["vpc"] and group["GroupName"].startswith("eks-cluster-sg-%s-" % name)
    update = eks.update_cluster_config(name=name, resourcesVpcConfig={"endpointPrivateAccess": True})["update"]
    assert update["type"] == "EndpointAccessUpdate"
    config = eks.describe_cluster(name=name)["cluster"]["resourcesVpcConfig"]
    assert config["subnetIds"] == network["subnets"] and config["endpointPrivateAccess"] is True
    eks.delete_cluster(name=name)
    assert ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [group["GroupId"]]}])["SecurityGroups"] == []


def test_eks_resources_stay_pending_on_request(aws, control, network):
    """With an eks delay clusters are CREATING, UPDATING (the update InProgress) and DELETING, node groups too, until their
    time; moto 5.2 is ACTIVE at once and forgets a deleted one at once."""
    eks = aws("eks")
    control.set_pending("eks", 60)
    name = make_cluster(eks, network)
    assert eks.describe_cluster(name=name)["cluster"]["status"] == "CREATING"
    with pytest.raises(botocore.exceptions.ClientError) as early:
        eks.create_nodegroup(clusterName=name, nodegroupName="early", nodeRole=ROLE_ARN, subnets=network["subnets"])
    assert error_code(early) == "InvalidRequestException"
    control.settle()
    assert eks.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE"

    update = eks.update_cluster_config(name=name, logging={"clusterLogging": [{"types": ["api"], "enabled": True}]})["update"]
    assert update["status"] == "InProgress" and eks.describe_cluster(name=name)["cluster"]["status"] == "UPDATING"
    with pytest.raises(botocore.exceptions.ClientError) as busy:
        eks.update_cluster_config(name=name, logging={"clusterLogging": [{"types": ["audit"], "enabled": True}]})
    assert error_code(busy) == "ResourceInUseException"
    control.settle()
    assert eks.describe_update(name=name, updateId=update["id"])["update"]["status"] == "Successful"
    assert eks.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE"

    assert eks.create_nodegroup(clusterName=name, nodegroupName="ng", nodeRole=ROLE_ARN, subnets=network["subnets"])["nodegroup"]["status"] == "CREATING"
    control.settle()
    scaling = eks.update_nodegroup_config(clusterName=name, nodegroupName="ng", scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 3})["update"]
    assert scaling["status"] == "InProgress" and eks.describe_nodegroup(clusterName=name, nodegroupName="ng")["nodegroup"]["status"] == "UPDATING"
    with pytest.raises(botocore.exceptions.ClientError) as scaling_busy:
        eks.update_nodegroup_config(clusterName=name, nodegroupName="ng", scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 4})
    assert error_code(scaling_busy) == "ResourceInUseException"
    control.settle()
    assert eks.describe_update(name=name, updateId=scaling["id"], nodegroupName="ng")["update"]["status"] == "Successful"
    assert eks.describe_nodegroup(clusterName=name, nodegroupName="ng")["nodegroup"]["status"] == "ACTIVE"
    assert eks.delete_nodegroup(clusterName=name, nodegroupName="ng")["nodegroup"]["status"] == "DELETING"
    assert eks.describe_nodegroup(clusterName=name, nodegroupName="ng")["nodegroup"]["status"] == "DELETING"
    with pytest.raises(botocore.exceptions.ClientError) as in_use:
        eks.delete_cluster(name=name)
    assert error_code(in_use) == "ResourceInUseException"
    control.settle()
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        eks.describe_nodegroup(clusterName=name, nodegroupName="ng")
    assert error_code(gone) == "ResourceNotFoundException"
    assert eks.delete_cluster(name=name)["cluster"]["status"] == "DELETING"
    assert eks.describe_cluster(name=name)["cluster"]["status"] == "DELETING"
    control.settle()
    with pytest.raises(botocore.exceptions.ClientError) as deleted:
        eks.describe_cluster(name=name)
    assert error_code(deleted) == "ResourceNotFoundException"


def test_eks_cluster_and_nodegroup_modules_are_no_ops_on_their_second_run(moto_url, control, tmp_path):  # pylint: disable=unused-argument
    """community.aws.eks_nodegroup run twice: the second run reports changed=false. moto 5.2: the second run fails
    ('updateConfig'), and with tags it fails on ListTagsForResource."""
    run_playbook(moto_url, tmp_path, """
    - hosts: localhost
      gather_facts: false
      tasks:
        - amazon.aws.ec2_vpc_net: {name: motofix-eks, cidr_block: 10.81.0.0/16}
          register: vpc
        - amazon.aws.ec2_vpc_subnet: {vpc_id: "{{ vpc.vpc.id }}", cidr: 10.81.1.0/24, az: us-west-2a}
          register: one
        - amazon.aws.ec2_vpc_subnet: {vpc_id: "{{ vpc.vpc.id }}", cidr: 10.81.2.0/24, az: us-west-2b}
          register: two
        - amazon.aws.iam_role:
            name: motofix-eks
            assume_role_policy_document:
              Version: "2012-10-17"
              Statement: [{Effect: Allow, Principal: {Service: eks.amazonaws.com}, Action: "sts:AssumeRole"}]
          register: role
        - community.aws.eks_cluster:
            name: motofix-eks
            role_arn: "{{ role.iam_role.arn }}"
            subnets: ["{{ one.subnet.id }}", "{{ two.subnet.id }}"]
            security_groups: []
            wait: true
        - &nodegroup
          community.aws.eks_nodegroup:
            name: apps
            cluster_name: motofix-eks
            node_role: "{{ role.iam_role.arn }}"
            subnets: ["{{ one.subnet.id }}", "{{ two.subnet.id }}"]
            scaling_config: {min_size: 1, max_size: 3, desired_size: 2}
            labels: {role: apps}
            tags: {env: sandbox}
            wait: true
          register: first
        - <<: *nodegroup
          register: second
    """ + SECOND_RUN_IS_A_NO_OP)


# ---- EC2: tags and NAT gateways --------------------------------------------------------------------------------------------


def test_describe_tags_names_nat_gateways_and_elastic_ips_as_ec2_does(aws, network):
    """DescribeTags: resource type natgateway (elastic-ip), filterable so. moto 5.2 says nat-gateway (vpc-elastic-ip)
    and a resource-type=natgateway filter finds nothing, so ec2_vpc_nat_gateway re-tags on every run."""
    ec2 = aws("ec2")
    allocation = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "nat"}]}])
    nat = ec2.create_nat_gateway(SubnetId=network["subnets"][0], AllocationId=allocation["AllocationId"],
                                 TagSpecifications=[{"ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": "nat-a"}]}])["NatGateway"]
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [nat["NatGatewayId"]]}, {"Name": "resource-type", "Values": ["natgateway"]}])
    assert [(tag["ResourceType"], tag["Key"], tag["Value"]) for tag in tags["Tags"]] == [("natgateway", "Name", "nat-a")]
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [allocation["AllocationId"]]}, {"Name": "resource-type", "Values": ["elastic-ip"]}])
    assert [tag["ResourceType"] for tag in tags["Tags"]] == ["elastic-ip"]


def test_nat_gateways_are_pending_and_deleting_and_release_their_address(aws, control, network):
    """A NAT gateway is pending, then available; deleting, then deleted, its Elastic IP disassociated (still allocated) and
    its interface gone; an unknown id is NatGatewayNotFound. moto 5.2: available and deleted at once, the address still
    associated, the interface kept, and an internal error for an unknown id."""
    ec2 = aws("ec2")
    control.set_pending("ec2", 60)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=network["subnets"][0], AllocationId=allocation)["NatGateway"]
    assert nat["State"] == "pending"
    control.settle()
    described = ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]
    assert described["State"] == "available"
    interface = described["NatGatewayAddresses"][0]["NetworkInterfaceId"]
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"] == "deleting"
    assert ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0].get("AssociationId")
    control.settle()
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"] == "deleted"
    assert "AssociationId" not in ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0]
    assert ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": [interface]}])["NetworkInterfaces"] == []
    with pytest.raises(botocore.exceptions.ClientError) as unknown:
        ec2.delete_nat_gateway(NatGatewayId="nat-0123456789abcdef0")
    assert error_code(unknown) == "NatGatewayNotFound"


def test_nat_gateway_module_is_a_no_op_on_its_second_run(moto_url, control, tmp_path):  # pylint: disable=unused-argument
    """amazon.aws.ec2_vpc_nat_gateway with tags run twice: the second run reports changed=false. moto 5.2: changed every
    time (the module reads the tags with DescribeTags resource-type=natgateway and finds none)."""
    run_playbook(moto_url, tmp_path, """
    - hosts: localhost
      gather_facts: false
      tasks:
        - amazon.aws.ec2_vpc_net: {name: motofix-nat, cidr_block: 10.82.0.0/16}
          register: vpc
        - amazon.aws.ec2_vpc_subnet: {vpc_id: "{{ vpc.vpc.id }}", cidr: 10.82.1.0/24, az: us-west-2a}
          register: public
        - amazon.aws.ec2_vpc_igw: {vpc_id: "{{ vpc.vpc.id }}"}
        - &nat
          amazon.aws.ec2_vpc_nat_gateway:
            subnet_id: "{{ public.subnet.id }}"
            if_exist_do_not_create: true
            wait: true
            tags: {Name: motofix-nat, env: sandbox}
          register: first
        - <<: *nat
          register: second
    """ + SECOND_RUN_IS_A_NO_OP)


# ---- RDS ------------------------------------------------------------------------------------------------------------------


def create_db(rds, **kwargs):
    name = unique("db")
    request = dict(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20, MasterUsername="loyalty",
                   MasterUserPassword=GOOD_PASSWORD)
    request.update(kwargs)
    return rds.create_db_instance(**request)["DBInstance"]


def test_performance_insights_are_described(aws):
    """DescribeDBInstances answers PerformanceInsightsEnabled and, while enabled, its retention (7 by default) and KMS key.
    moto 5.2 answers none of them (rds_instance with enable_performance_insights then modifies on every run)."""
    rds = aws("rds")
    plain = create_db(rds)
    assert plain["PerformanceInsightsEnabled"] is False and "PerformanceInsightsRetentionPeriod" not in plain
    insights = create_db(rds, EnablePerformanceInsights=True, MaxAllocatedStorage=100, MonitoringInterval=60, DeletionProtection=True,
                         MonitoringRoleArn="arn:aws:iam::123456789012:role/rds-monitoring")
    described = rds.describe_db_instances(DBInstanceIdentifier=insights["DBInstanceIdentifier"])["DBInstances"][0]
    assert described["PerformanceInsightsEnabled"] is True and described["PerformanceInsightsRetentionPeriod"] == 7
    assert described["PerformanceInsightsKMSKeyId"].startswith("arn:aws:kms:%s:123456789012:key/" % REGION)
    assert (described["MaxAllocatedStorage"], described["MonitoringInterval"], described["DeletionProtection"]) == (100, 60, True)
    assert described["MonitoringRoleArn"] == "arn:aws:iam::123456789012:role/rds-monitoring"
    modified = rds.modify_db_instance(DBInstanceIdentifier=insights["DBInstanceIdentifier"], PerformanceInsightsRetentionPeriod=31,
                                      ApplyImmediately=True)["DBInstance"]
    assert modified["PerformanceInsightsRetentionPeriod"] == 31
    modified = rds.modify_db_instance(DBInstanceIdentifier=insights["DBInstanceIdentifier"], EnablePerformanceInsights=False,
                                      ApplyImmediately=True)["DBInstance"]
    assert modified["PerformanceInsightsEnabled"] is False and "PerformanceInsightsKMSKeyId" not in modified


@pytest.mark.parametrize("password", ["Short1!", "has/slash-1234", 'has"quote-1234', "has@at-12345", "has space-1234", "x" * 129, "caf\u00e9-passw0rd"])
def test_master_user_passwords_rds_refuses_are_refused(aws, password):
    """MasterUserPassword: 8 to 128 printable ASCII characters for PostgreSQL, not / " @ or a space (InvalidParameterValue),
    at creation and modification. moto 5.2 takes any password for a DB instance."""
    rds = aws("rds")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        create_db(rds, MasterUserPassword=password)
    assert error_code(refused) == "InvalidParameterValue" and "MasterUserPassword" in str(refused.value)
    name = create_db(rds)["DBInstanceIdentifier"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        rds.modify_db_instance(DBInstanceIdentifier=name, MasterUserPassword=password, ApplyImmediately=True)
    assert error_code(refused) == "InvalidParameterValue"


def test_mysql_master_user_passwords_end_at_41_characters(aws):
    """MySQL and MariaDB take at most 41 characters (the RDS API reference); moto 5.2 takes any length."""
    rds = aws("rds")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        create_db(rds, Engine="mysql", MasterUserPassword="x" * 42)
    assert error_code(refused) == "InvalidParameterValue"
    assert create_db(rds, Engine="mysql", MasterUserPassword="x" * 41)["Engine"] == "mysql"


def test_db_instances_stay_pending_on_request(aws, control):
    """With an rds delay a DB instance is creating, modifying and deleting until its time, then available or gone
    (DBInstanceNotFound). moto 5.2 is available at once and forgets a deleted instance at once."""
    rds = aws("rds")
    control.set_pending("rds", 60)
    name = create_db(rds)["DBInstanceIdentifier"]
    assert rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceStatus"] == "creating"
    control.settle()
    assert rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceStatus"] == "available"
    assert rds.modify_db_instance(DBInstanceIdentifier=name, AllocatedStorage=30, ApplyImmediately=True)["DBInstance"]["DBInstanceStatus"] == "modifying"
    control.settle()
    assert rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)["DBInstance"]["DBInstanceStatus"] == "deleting"
    assert rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceStatus"] == "deleting"
    control.settle()
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        rds.describe_db_instances(DBInstanceIdentifier=name)
    assert error_code(gone) == "DBInstanceNotFound"


def test_rds_instance_module_is_a_no_op_on_its_second_run(moto_url, control, tmp_path):  # pylint: disable=unused-argument
    """amazon.aws.rds_instance with Performance Insights, enhanced monitoring, storage autoscaling and deletion protection
    run twice: the second run reports changed=false. moto 5.2: changed every time (PerformanceInsightsEnabled missing)."""
    run_playbook(moto_url, tmp_path, """
    - hosts: localhost
      gather_facts: false
      tasks:
        - amazon.aws.ec2_vpc_net: {name: motofix-rds, cidr_block: 10.83.0.0/16}
          register: vpc
        - amazon.aws.ec2_vpc_subnet: {vpc_id: "{{ vpc.vpc.id }}", cidr: 10.83.1.0/24, az: us-west-2a}
          register: one
        - amazon.aws.ec2_vpc_subnet: {vpc_id: "{{ vpc.vpc.id }}", cidr: 10.83.2.0/24, az: us-west-2b}
          register: two
        - amazon.aws.rds_subnet_group:
            name: motofix-rds
            description: motofix
            subnets: ["{{ one.subnet.id }}", "{{ two.subnet.id }}"]
            state: present
        - &db
          amazon.aws.rds_instance:
            id: motofix-rds
            engine: postgres
            engine_version: "16.3"
            db_instance_class: db.t3.micro
            allocated_storage: 20
            max_allocated_storage: 100
            username: loyalty
            password: "Loyalty-Passw0rd!"
            db_subnet_group_name: motofix-rds
            enable_performance_insights: true
            performance_insights_retention_period: 7
            monitoring_interval: 60
            monitoring_role_arn: "arn:aws:iam::123456789012:role/rds-monitoring"
            deletion_protection: true
            storage_encrypted: true
            backup_retention_period: 7
            tags: {env: sandbox}
            wait: true
          register: first
        - <<: *db
          register: second
    """ + SECOND_RUN_IS_A_NO_OP)


# ---- ElastiCache ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def cache_subnets(aws, network):
    name = unique("cache-subnets")
    aws("elasticache").create_cache_subnet_group(CacheSubnetGroupName=name, CacheSubnetGroupDescription="sandbox", SubnetIds=network["subnets"])
    return name


def create_group(elasticache, network, cache_subnets, **kwargs):
    request = dict(ReplicationGroupId=unique("redis"), ReplicationGroupDescription="loyalty", Engine="redis", EngineVersion="7.1",
                   CacheNodeType="cache.t4g.small", NumCacheClusters=3, AutomaticFailoverEnabled=True, MultiAZEnabled=True,
                   CacheSubnetGroupName=cache_subnets, SecurityGroupIds=[network["group"]], AtRestEncryptionEnabled=True,
                   TransitEncryptionEnabled=True, AuthToken=GOOD_TOKEN, PreferredMaintenanceWindow="sun:05:00-sun:06:00",
                   LogDeliveryConfigurations=[slow_log("/aws/elasticache/slow")])
    request.update(kwargs)
    return elasticache.create_replication_group(**{key: value for key, value in request.items() if value is not None})["ReplicationGroup"]


def slow_log(group, enabled=True, log_type="slow-log"):
    if not enabled:
        return {"LogType": log_type, "Enabled": False}
    return {"LogType": log_type, "DestinationType": "cloudwatch-logs", "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": group}},
            "LogFormat": "json", "Enabled": True}


def test_a_replication_group_has_the_cache_clusters_it_asked_for(aws, network, cache_subnets):
    """NumCacheClusters=3: MemberClusters lists 3, NodeGroups[0] has 3 members (one primary) and a primary and a reader
    endpoint, and DescribeCacheClusters finds each member with the group's settings. moto 5.2: 1 member, no reader
    endpoint, and no cache cluster at all (CacheClusterNotFound)."""
    elasticache = aws("elasticache")
    group = create_group(elasticache, network, cache_subnets)
    name = group["ReplicationGroupId"]
    assert group["MemberClusters"] == ["%s-001" % name, "%s-002" % name, "%s-003" % name]
    node_group = group["NodeGroups"][0]
    assert [member["CurrentRole"] for member in node_group["NodeGroupMembers"]] == ["primary", "replica", "replica"]
    assert node_group["PrimaryEndpoint"]["Port"] == node_group["ReaderEndpoint"]["Port"] == 6379
    assert node_group["ReaderEndpoint"]["Address"].startswith("replica.%s." % name)
    assert {member["PreferredAvailabilityZone"] for member in node_group["NodeGroupMembers"]} == {REGION + "a", REGION + "b"}
    assert (group["AutomaticFailover"], group["MultiAZ"], group["ClusterEnabled"]) == ("enabled", "enabled", False)
    assert (group["AtRestEncryptionEnabled"], group["TransitEncryptionEnabled"], group["AuthTokenEnabled"]) == (True, True, True)
    assert [(entry["LogType"], entry["Status"]) for entry in group["LogDeliveryConfigurations"]] == [("slow-log", "active")]
    for cluster_id in group["MemberClusters"]:
        cluster = elasticache.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)["CacheClusters"][0]
        assert cluster["ReplicationGroupId"] == name and cluster["EngineVersion"] == "7.1" and cluster["CacheSubnetGroupName"] == cache_subnets
        assert cluster["CacheParameterGroup"]["CacheParameterGroupName"] == "default.redis7"
        assert cluster["SecurityGroups"] == [{"SecurityGroupId": network["group"], "Status": "active"}]
        assert cluster["PreferredMaintenanceWindow"] == "sun:05:00-sun:06:00" and cluster["CacheNodes"][0]["Endpoint"]["Port"] == 6379
        assert cluster["TransitEncryptionEnabled"] is True and cluster["AtRestEncryptionEnabled"] is True
    plain = create_group(elasticache, network, cache_subnets, NumCacheClusters=1, AutomaticFailoverEnabled=False, MultiAZEnabled=False,
                         AtRestEncryptionEnabled=False, TransitEncryptionEnabled=False, AuthToken=None, LogDeliveryConfigurations=[])
    assert len(plain["MemberClusters"]) == 1 and (plain["AutomaticFailover"], plain["MultiAZ"]) == ("disabled", "disabled")
    assert (plain["TransitEncryptionEnabled"], plain["AuthTokenEnabled"]) == (False, False)


@pytest.mark.parametrize("changes, code", [
    ({"NumCacheClusters": 7}, "InvalidParameterValue"),
    ({"NumCacheClusters": 0, "AutomaticFailoverEnabled": False, "MultiAZEnabled": False}, "InvalidParameterValue"),
    ({"NumCacheClusters": 1, "MultiAZEnabled": False}, "InvalidParameterCombination"),
    ({"TransitEncryptionEnabled": False}, "InvalidParameterValue"),
    ({"AuthToken": "fifteen-chars15"}, "InvalidParameterValue"),
    ({"AuthToken": "x" * 129}, "InvalidParameterValue"),
    ({"AuthToken": "Abcdefghijklmnop/234"}, "InvalidParameterValue"),
    ({"AuthToken": "Abcdefghijklmnop@234"}, "InvalidParameterValue"),
    ({"AuthToken": 'Abcdefghijklmnop"234'}, "InvalidParameterValue"),
    ({"AuthToken": "Abcdefghijklmnop%234"}, "InvalidParameterValue"),
    ({"AuthToken": "Abcdefghijklmn op1234"}, "InvalidParameterValue"),
    ({"CacheSubnetGroupName": "no-such-subnet-group"}, "CacheSubnetGroupNotFoundFault"),
])
def test_replication_groups_elasticache_refuses_are_refused(aws, network, cache_subnets, changes, code):
    """NumCacheClusters 1 to 6, automatic failover with at least 2, an AUTH token only with in-transit encryption and of
    16 to 128 letters, digits and ! & # $ ^ < > -, an existing subnet group. moto 5.2 creates every one of these."""
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        create_group(aws("elasticache"), network, cache_subnets, **changes)
    assert error_code(refused) == code


def test_modify_replication_group_changes_what_it_names(aws, network, cache_subnets):
    """ModifyReplicationGroup: node type, failover, Multi-AZ, security groups (on the cache clusters), one log delivery at
    a time, the AUTH token (ROTATE, SET, DELETE); failover needs 2 clusters, a token in-transit encryption. moto 5.2
    ignores the security groups, log deliveries and token and lets failover be enabled on a single cluster."""
    elasticache = aws("elasticache")
    group = create_group(elasticache, network, cache_subnets, NumCacheClusters=2)
    name = group["ReplicationGroupId"]
    modified = elasticache.modify_replication_group(
        ReplicationGroupId=name, ApplyImmediately=True, CacheNodeType="cache.t4g.medium", SecurityGroupIds=[network["other_group"]],
        AutomaticFailoverEnabled=False, MultiAZEnabled=False, AuthToken="Zyxwvutsrqponm-9876", AuthTokenUpdateStrategy="ROTATE",
        LogDeliveryConfigurations=[slow_log("/aws/elasticache/engine", log_type="engine-log"), slow_log(None, enabled=False)])["ReplicationGroup"]
    assert (modified["CacheNodeType"], modified["AutomaticFailover"], modified["MultiAZ"], modified["AuthTokenEnabled"]) == (
        "cache.t4g.medium", "disabled", "disabled", True)
    assert [(entry["LogType"], entry["DestinationDetails"]["CloudWatchLogsDetails"]["LogGroup"], entry["Status"])
            for entry in modified["LogDeliveryConfigurations"]] == [("engine-log", "/aws/elasticache/engine", "active")]
    for cluster in elasticache.describe_cache_clusters()["CacheClusters"]:
        if cluster.get("ReplicationGroupId") == name:
            assert cluster["SecurityGroups"] == [{"SecurityGroupId": network["other_group"], "Status": "active"}]
            assert cluster["CacheNodeType"] == "cache.t4g.medium"
    assert elasticache.modify_replication_group(ReplicationGroupId=name, ApplyImmediately=True, AutomaticFailoverEnabled=True,
                                                MultiAZEnabled=True)["ReplicationGroup"]["AutomaticFailover"] == "enabled"
    assert elasticache.modify_replication_group(ReplicationGroupId=name, ApplyImmediately=True,
                                                AuthTokenUpdateStrategy="DELETE")["ReplicationGroup"]["AuthTokenEnabled"] is False
    with pytest.raises(botocore.exceptions.ClientError) as bad_token:
        elasticache.modify_replication_group(ReplicationGroupId=name, ApplyImmediately=True, AuthToken="short", AuthTokenUpdateStrategy="SET")
    assert error_code(bad_token) == "InvalidParameterValue"

    single = create_group(elasticache, network, cache_subnets, NumCacheClusters=1, AutomaticFailoverEnabled=False, MultiAZEnabled=False,
                          TransitEncryptionEnabled=False, AuthToken=None)["ReplicationGroupId"]
    with pytest.raises(botocore.exceptions.ClientError) as lonely:
        elasticache.modify_replication_group(ReplicationGroupId=single, ApplyImmediately=True, AutomaticFailoverEnabled=True)
    assert error_code(lonely) == "InvalidParameterCombination"
    with pytest.raises(botocore.exceptions.ClientError) as no_tls:
        elasticache.modify_replication_group(ReplicationGroupId=single, ApplyImmediately=True, AuthToken=GOOD_TOKEN, AuthTokenUpdateStrategy="ROTATE")
    assert error_code(no_tls) == "InvalidParameterValue"


def test_replicas_are_added_and_removed(aws, network, cache_subnets):
    """IncreaseReplicaCount and DecreaseReplicaCount change the group's cache clusters; a group with automatic failover
    keeps a replica. moto 5.2 has neither operation (an internal error)."""
    elasticache = aws("elasticache")
    name = create_group(elasticache, network, cache_subnets, NumCacheClusters=2)["ReplicationGroupId"]
    grown = elasticache.increase_replica_count(ReplicationGroupId=name, NewReplicaCount=3, ApplyImmediately=True)["ReplicationGroup"]
    assert grown["MemberClusters"] == ["%s-00%d" % (name, number) for number in (1, 2, 3, 4)]
    assert len(grown["NodeGroups"][0]["NodeGroupMembers"]) == 4
    assert elasticache.describe_cache_clusters(CacheClusterId="%s-004" % name)["CacheClusters"][0]["ReplicationGroupId"] == name
    shrunk = elasticache.decrease_replica_count(ReplicationGroupId=name, NewReplicaCount=1, ApplyImmediately=True)["ReplicationGroup"]
    assert shrunk["MemberClusters"] == ["%s-001" % name, "%s-002" % name]
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        elasticache.describe_cache_clusters(CacheClusterId="%s-004" % name)
    assert error_code(gone) == "CacheClusterNotFound"
    for request in ({"NewReplicaCount": 0}, {"ReplicasToRemove": ["%s-002" % name]}, {"ReplicasToRemove": ["%s-001" % name]}):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            elasticache.decrease_replica_count(ReplicationGroupId=name, ApplyImmediately=True, **request)
        assert error_code(refused) == "InvalidParameterValue", request
    for count in (1, 6):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            elasticache.increase_replica_count(ReplicationGroupId=name, NewReplicaCount=count, ApplyImmediately=True)
        assert error_code(refused) == "InvalidParameterValue", count


def test_a_deleted_replication_group_goes_with_its_cache_clusters(aws, network, cache_subnets):
    """After DeleteReplicationGroup the group (and its clusters) are gone: ReplicationGroupNotFoundFault; with
    RetainPrimaryCluster the primary stays as a cluster of its own. moto 5.2 keeps the group deleting forever."""
    elasticache = aws("elasticache")
    name = create_group(elasticache, network, cache_subnets)["ReplicationGroupId"]
    assert elasticache.delete_replication_group(ReplicationGroupId=name)["ReplicationGroup"]["Status"] == "deleting"
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        elasticache.describe_replication_groups(ReplicationGroupId=name)
    assert error_code(gone) == "ReplicationGroupNotFoundFault"
    assert not [cluster for cluster in elasticache.describe_cache_clusters()["CacheClusters"] if cluster["CacheClusterId"].startswith(name)]
    kept = create_group(elasticache, network, cache_subnets, NumCacheClusters=2)["ReplicationGroupId"]
    elasticache.delete_replication_group(ReplicationGroupId=kept, RetainPrimaryCluster=True)
    primary = elasticache.describe_cache_clusters(CacheClusterId="%s-001" % kept)["CacheClusters"][0]
    assert "ReplicationGroupId" not in primary
    with pytest.raises(botocore.exceptions.ClientError) as replica_gone:
        elasticache.describe_cache_clusters(CacheClusterId="%s-002" % kept)
    assert error_code(replica_gone) == "CacheClusterNotFound"


def test_replication_groups_stay_pending_on_request(aws, control, network, cache_subnets):
    """With an elasticache delay a group (and its clusters) is creating, modifying and deleting until its time, takes no
    modification meanwhile (InvalidReplicationGroupState), and its log deliveries are enabling or disabling."""
    elasticache = aws("elasticache")
    control.set_pending("elasticache", 60)
    group = create_group(elasticache, network, cache_subnets, NumCacheClusters=2)
    name = group["ReplicationGroupId"]
    assert group["Status"] == "creating"
    assert elasticache.describe_cache_clusters(CacheClusterId="%s-002" % name)["CacheClusters"][0]["CacheClusterStatus"] == "creating"
    with pytest.raises(botocore.exceptions.ClientError) as busy:
        elasticache.modify_replication_group(ReplicationGroupId=name, ApplyImmediately=True, CacheNodeType="cache.t4g.medium")
    assert error_code(busy) == "InvalidReplicationGroupState"
    control.settle()
    assert elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]["Status"] == "available"
    modified = elasticache.modify_replication_group(ReplicationGroupId=name, ApplyImmediately=True, LogDeliveryConfigurations=[
        slow_log(None, enabled=False), slow_log("/aws/elasticache/engine", log_type="engine-log")])["ReplicationGroup"]
    assert modified["Status"] == "modifying"
    assert sorted((entry["LogType"], entry["Status"]) for entry in modified["LogDeliveryConfigurations"]) == [
        ("engine-log", "enabling"), ("slow-log", "disabling")]
    control.settle()
    settled = elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]
    assert settled["Status"] == "available" and [(entry["LogType"], entry["Status"]) for entry in settled["LogDeliveryConfigurations"]] == [
        ("engine-log", "active")]
    elasticache.delete_replication_group(ReplicationGroupId=name)
    assert elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]["Status"] == "deleting"
    control.settle()
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        elasticache.describe_replication_groups(ReplicationGroupId=name)
    assert error_code(gone) == "ReplicationGroupNotFoundFault"


def test_a_backup_window_ending_where_maintenance_begins_is_accepted(aws):
    """RDS takes backup 03:00-04:00 with maintenance sun:04:00-sun:05:00 (a shared boundary, no overlap); a real overlap
    is still refused. moto 5.2 refuses both with "must not overlap"."""
    rds = aws("rds")
    db = create_db(rds, PreferredBackupWindow="03:00-04:00", PreferredMaintenanceWindow="sun:04:00-sun:05:00")
    assert (db["PreferredBackupWindow"], db["PreferredMaintenanceWindow"]) == ("03:00-04:00", "sun:04:00-sun:05:00")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        create_db(rds, PreferredBackupWindow="03:00-04:30", PreferredMaintenanceWindow="sun:04:00-sun:05:00")
    assert error_code(refused) == "InvalidParameterValue" and "overlap" in str(refused.value)


def test_a_postgresql_endpoint_is_where_the_sandbox_serves_it(aws, monkeypatch):
    """With MOTOFIX_RDS_ENDPOINT_ADDRESS set (sandbox/ctl.py sets it), a PostgreSQL instance's Endpoint.Address is that
    address and its port the one requested, so a client that reads the endpoint reaches the sandbox's PostgreSQL, as an
    RDS endpoint reaches its instance. moto 5.2 answers <id>.aaaaaaaaaa.<region>.rds.amazonaws.com, which resolves
    nowhere. Other engines keep moto's name."""
    rds = aws("rds")
    plain = create_db(rds)
    assert plain["Endpoint"]["Address"].endswith(".rds.amazonaws.com")
    monkeypatch.setenv("MOTOFIX_RDS_ENDPOINT_ADDRESS", "10.244.255.252")
    postgres = create_db(rds, Port=5432)
    described = rds.describe_db_instances(DBInstanceIdentifier=postgres["DBInstanceIdentifier"])["DBInstances"][0]
    assert (described["Endpoint"]["Address"], described["Endpoint"]["Port"]) == ("10.244.255.252", 5432)
    mysql = create_db(rds, Engine="mysql")
    assert mysql["Endpoint"]["Address"].endswith(".rds.amazonaws.com")


def test_gp3_storage_has_its_baseline_iops_and_throughput(aws):
    """gp3 instances describe Iops and StorageThroughput (3,000 and 125 MiB/s under 400 GiB, 12,000 and 500 from 400 GiB)
    unless set; moto 5.2 describes neither, and rds_instance's second run fails with KeyError 'StorageThroughput'."""
    rds = aws("rds")
    small = create_db(rds, StorageType="gp3", AllocatedStorage=20)
    large = create_db(rds, StorageType="gp3", AllocatedStorage=400)
    chosen = create_db(rds, StorageType="gp3", AllocatedStorage=400, Iops=15000, StorageThroughput=750)
    described = {d["DBInstanceIdentifier"]: d for d in rds.describe_db_instances()["DBInstances"]}
    assert [(described[d["DBInstanceIdentifier"]]["Iops"], described[d["DBInstanceIdentifier"]]["StorageThroughput"]) for d in (small, large, chosen)] == [
        (3000, 125), (12000, 500), (15000, 750)]


# ---- EC2: flow logs ---------------------------------------------------------------------------------------------------------

FLOW_LOG_ROLE = "arn:aws:iam::123456789012:role/flow-logs"
OTHER_FLOW_LOG_ROLE = "arn:aws:iam::123456789012:role/flow-logs-other"
CUSTOM_LOG_FORMAT = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action}"


def new_log_group(aws):
    name = "/motofix/flow-logs/" + unique("group")
    aws("logs").create_log_group(logGroupName=name)
    return name


@pytest.fixture
def log_group(aws):
    return new_log_group(aws)


def create_flow_log(ec2, resource_id, log_group, **changes):
    request = dict(ResourceType="VPC", ResourceIds=[resource_id], TrafficType="ALL", LogDestinationType="cloud-watch-logs",
                   LogGroupName=log_group, DeliverLogsPermissionArn=FLOW_LOG_ROLE)
    request.update(changes)
    return ec2.create_flow_logs(**{key: value for key, value in request.items() if value is not None})


def flow_logs_of(ec2, resource_id):
    return ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [resource_id]}])["FlowLogs"]


@pytest.mark.parametrize("changes", [
    {"TrafficType": "REJECT"},
    {"MaxAggregationInterval": 60},
    {"LogFormat": CUSTOM_LOG_FORMAT},
    {"DeliverLogsPermissionArn": OTHER_FLOW_LOG_ROLE},
], ids=["traffic-type", "aggregation-interval", "log-format", "role"])
def test_a_flow_log_is_replaced_new_one_first_and_only_an_identical_one_is_a_duplicate(aws, network, log_group, changes):
    """A VPC takes a second flow log to the same log group when any of traffic type, aggregation interval, log format
    or IAM role differs, so the old one can be deleted after its replacement exists; only an identical configuration
    is FlowLogAlreadyExists (an error of the request). Fails without motofix's flow log correction: moto 5.2 answers
    FlowLogAlreadyExists for any second flow log of a resource to the same log group."""
    ec2 = aws("ec2")
    vpc = network["vpc"]
    old = create_flow_log(ec2, vpc, log_group)["FlowLogIds"][0]
    answer = create_flow_log(ec2, vpc, log_group, **changes)
    assert answer["Unsuccessful"] == [] and len(answer["FlowLogIds"]) == 1
    new = answer["FlowLogIds"][0]
    assert sorted(entry["FlowLogId"] for entry in flow_logs_of(ec2, vpc)) == sorted([old, new])
    ec2.delete_flow_logs(FlowLogIds=[old])
    [entry] = flow_logs_of(ec2, vpc)
    assert entry["FlowLogId"] == new and entry["LogGroupName"] == log_group
    for key, value in changes.items():
        assert entry[key] == value, key
    with pytest.raises(botocore.exceptions.ClientError) as duplicate:
        create_flow_log(ec2, vpc, log_group, **changes)
    assert error_code(duplicate) == "FlowLogAlreadyExists"
    assert duplicate.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert [entry["FlowLogId"] for entry in flow_logs_of(ec2, vpc)] == [new]


def test_a_resource_has_at_most_two_flow_logs(aws, network):
    """The VPC quotas: 2 flow logs per VPC, subnet or network interface, whatever their destinations. A third is
    FlowLogsLimitExceeded, an error of the request, so a request naming a resource at its limit creates no flow log,
    for that resource or another. Fails without motofix's flow log correction: moto 5.2 has no limit and creates the
    third (here to a third log group)."""
    ec2 = aws("ec2")
    vpc, (subnet, other_subnet) = network["vpc"], network["subnets"]
    groups = [new_log_group(aws), new_log_group(aws), new_log_group(aws)]
    create_flow_log(ec2, vpc, groups[0])
    create_flow_log(ec2, vpc, groups[1])
    with pytest.raises(botocore.exceptions.ClientError) as third:
        create_flow_log(ec2, vpc, groups[2])
    assert error_code(third) == "FlowLogsLimitExceeded"
    assert sorted(entry["LogGroupName"] for entry in flow_logs_of(ec2, vpc)) == sorted(groups[:2])
    create_flow_log(ec2, subnet, groups[0], ResourceType="Subnet")
    create_flow_log(ec2, subnet, groups[1], ResourceType="Subnet")
    with pytest.raises(botocore.exceptions.ClientError) as over:
        create_flow_log(ec2, other_subnet, groups[2], ResourceType="Subnet", ResourceIds=[other_subnet, subnet])
    assert error_code(over) == "FlowLogsLimitExceeded"
    assert flow_logs_of(ec2, other_subnet) == [] and len(flow_logs_of(ec2, subnet)) == 2


def test_an_s3_flow_log_writes_to_a_folder_of_its_bucket(aws, network):
    """An S3 LogDestination may name a folder (arn:aws:s3:::bucket/folder/): the bucket is the part before the first
    slash, and DescribeFlowLogs answers the ARN as given. Fails without motofix's flow log correction: moto 5.2 looks
    for a bucket named "bucket/folder/" and reports the VPC in Unsuccessful ("LogDestination: ... does not exist.")."""
    ec2, s3 = aws("ec2"), aws("s3")
    bucket = unique("flow-logs")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    folder = "arn:aws:s3:::%s/vpc/production/" % bucket
    answer = create_flow_log(ec2, network["vpc"], None, DeliverLogsPermissionArn=None, LogDestinationType="s3", LogDestination=folder)
    assert answer["Unsuccessful"] == [] and len(answer["FlowLogIds"]) == 1
    [entry] = flow_logs_of(ec2, network["vpc"])
    assert (entry["LogDestinationType"], entry["LogDestination"], entry["DeliverLogsStatus"]) == ("s3", folder, "SUCCESS")
    assert "LogGroupName" not in entry
    missing = create_flow_log(ec2, network["subnets"][0], None, ResourceType="Subnet", DeliverLogsPermissionArn=None, LogDestinationType="s3",
                              LogDestination="arn:aws:s3:::no-such-bucket-%s/vpc/" % bucket)
    assert missing["FlowLogIds"] == []
    assert [(item["ResourceId"], item["Error"]["Message"]) for item in missing["Unsuccessful"]] == [
        (network["subnets"][0], "LogDestination: no-such-bucket-%s does not exist." % bucket)]


def test_a_cloud_watch_logs_flow_log_is_described_with_its_log_group_arn(aws, network, log_group):
    """DescribeFlowLogs answers a cloud-watch-logs flow log's LogGroupName and, as LogDestination, the log group's ARN,
    whether CreateFlowLogs named the group or gave its ARN; both requests are the same configuration. Fails without
    motofix's flow log correction: moto 5.2 answers no LogDestination, and for the ARN no log group (delivery FAILED)."""
    ec2 = aws("ec2")
    arn = "arn:aws:logs:%s:123456789012:log-group:%s" % (REGION, log_group)
    by_name = create_flow_log(ec2, network["vpc"], log_group)["FlowLogIds"][0]
    by_arn = create_flow_log(ec2, network["subnets"][0], None, ResourceType="Subnet", LogDestination=arn)["FlowLogIds"][0]
    for flow_log_id in (by_name, by_arn):
        [entry] = ec2.describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"]
        assert (entry["LogDestinationType"], entry["LogGroupName"], entry["LogDestination"]) == ("cloud-watch-logs", log_group, arn)
        assert entry["DeliverLogsStatus"] == "SUCCESS"
    found = ec2.describe_flow_logs(Filters=[{"Name": "log-group-name", "Values": [log_group]}])["FlowLogs"]
    assert sorted(entry["FlowLogId"] for entry in found) == sorted([by_name, by_arn])
    with pytest.raises(botocore.exceptions.ClientError) as duplicate:
        create_flow_log(ec2, network["vpc"], None, LogDestination=arn)
    assert error_code(duplicate) == "FlowLogAlreadyExists"


def test_a_cache_subnet_group_is_deleted_once_no_cluster_uses_it(aws, network, cache_subnets):
    """DeleteCacheSubnetGroup: CacheSubnetGroupInUse while a cache cluster uses the group, gone afterwards,
    CacheSubnetGroupNotFoundFault when unknown. moto 5.2 does not implement it (500)."""
    elasticache = aws("elasticache")
    group = create_group(elasticache, network, cache_subnets)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        elasticache.delete_cache_subnet_group(CacheSubnetGroupName=cache_subnets)
    assert error_code(refused) == "CacheSubnetGroupInUse"
    elasticache.delete_replication_group(ReplicationGroupId=group["ReplicationGroupId"])
    elasticache.delete_cache_subnet_group(CacheSubnetGroupName=cache_subnets)
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=cache_subnets)
    assert error_code(missing) == "CacheSubnetGroupNotFoundFault"
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        elasticache.delete_cache_subnet_group(CacheSubnetGroupName=cache_subnets)
    assert error_code(missing) == "CacheSubnetGroupNotFoundFault"


# ---- CloudWatch Logs ----------------------------------------------------------------------------------------------------


def test_log_groups_are_found_by_a_name_pattern(aws):
    """DescribeLogGroups with logGroupNamePattern answers only the groups whose name contains it (case-sensitive), a page
    at a time, and refuses it together with logGroupNamePrefix. moto 5.2 ignores the pattern and answers every group."""
    logs = aws("logs")
    env, other = unique("env"), unique("env")
    names = ["/aws/vpc/%s/flow-logs" % env, "/aws/eks/%s/cluster" % env, "/aws/elasticache/%s/slow-log" % env]
    for name in names + ["/aws/vpc/%s/flow-logs" % other, "/aws/eks/%s/cluster" % env.upper()]:
        logs.create_log_group(logGroupName=name)
    found = logs.describe_log_groups(logGroupNamePattern=env)["logGroups"]
    assert sorted(group["logGroupName"] for group in found) == sorted(names)
    first = logs.describe_log_groups(logGroupNamePattern=env, limit=2)
    second = logs.describe_log_groups(logGroupNamePattern=env, limit=2, nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in first["logGroups"] + second["logGroups"]] == sorted(names) and "nextToken" not in second
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        logs.describe_log_groups(logGroupNamePattern=env, logGroupNamePrefix="/aws/")
    assert error_code(excinfo) == "InvalidParameterException"
    assert len(logs.describe_log_groups(logGroupNamePrefix="/aws/eks/%s" % env)["logGroups"]) == 1

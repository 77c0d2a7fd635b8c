"""loyalty.platform.elasticache_replication_group and _info through ansible-playbook against the sandbox's ElastiCache (moto
behind the sandbox's AWS front), read back with boto3.

The tests hold the module to ElastiCache's documented behaviour: a group created with NumCacheClusters=3 has three member
cache clusters, each describable with DescribeCacheClusters; ModifyReplicationGroup changes security groups and log
deliveries; IncreaseReplicaCount and DecreaseReplicaCount change the member clusters; a deleted group goes away.

Which requests a playbook sends is counted by a relay of the test's own: the module's requests go to it, and it forwards
each to the sandbox's AWS front (so the front's faults and corrections apply) after noting its operation. The front's own
statistics are the whole sandbox's: other suites reset them and send ElastiCache and RDS requests (AddTagsToResource,
DeleteReplicationGroup, ...) at the same time, so they cannot tell which requests a playbook made.
"""

import collections
import contextlib
import http.client
import http.server
import json
import threading
import urllib.parse
import uuid

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

MODULE = "loyalty.platform.elasticache_replication_group"
INFO = "loyalty.platform.elasticache_replication_group_info"
# Letters, digits and hyphens: an AUTH token every ElastiCache reference accepts.
TOKEN = "It-redis-token-" + uuid.uuid4().hex
WRITE_PREFIXES = ("Create", "Modify", "Delete", "Increase", "Decrease", "Add", "Remove")


# ---- helpers --------------------------------------------------------------------------------------------------------------


def new_id(tag="it"):
    return "%s-rg-%s" % (tag, uuid.uuid4().hex[:10])


def play(*tasks):
    return yaml.safe_dump([{"name": "elasticache", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}], sort_keys=False)


def task(title, args, module=MODULE):
    """A task of ``module`` with ``args``, whose failure is kept so that every task's result can be read."""
    return {"name": title, module: args, "ignore_errors": True}


def result_of(run, name="rg"):
    return run.task_result(name)


def succeeded(out):
    assert not out.get("failed"), json.dumps(out, indent=1, default=str)[:6000]
    return out


def writes_in(operations):
    return sorted(operation for operation in operations if operation.startswith(WRITE_PREFIXES))


class Relay:
    """An HTTP relay on 127.0.0.1 that forwards every AWS request to ``upstream`` (the sandbox's front) and counts its
    operation: the Action of a query-protocol request (ElastiCache, EC2, ...), the X-Amz-Target of a JSON one."""

    def __init__(self, upstream):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.operations = collections.Counter()
        self.lock = threading.Lock()
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                """Quiet."""

            def _relay(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                relay.count(self.path, self.headers, body)
                conn = http.client.HTTPConnection(relay.upstream.hostname, relay.upstream.port, timeout=300)
                try:
                    headers = {name: value for name, value in self.headers.items() if name.lower() not in ("connection", "transfer-encoding")}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                finally:
                    conn.close()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, path, headers, body):
        target = headers.get("X-Amz-Target")
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action") or urllib.parse.parse_qs(
            urllib.parse.urlsplit(path).query).get("Action")
        operation = target.rsplit(".", 1)[-1] if target else (action[0] if action else "other")
        with self.lock:
            self.operations[operation] += 1

    def snapshot(self):
        with self.lock:
            return dict(self.operations)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def counted(relay):
    """``with counted(relay) as seen:`` ... ``seen`` then holds the operations (with their counts) the relay forwarded meanwhile."""
    seen = {}
    before = relay.snapshot()
    yield seen
    seen.update({operation: count - before.get(operation, 0) for operation, count in relay.snapshot().items() if count > before.get(operation, 0)})


def member_clusters(elasticache, group):
    return [elasticache.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)["CacheClusters"][0]
            for cluster_id in group["MemberClusters"]]


def describe(elasticache, name):
    return elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]


def gone(elasticache, name):
    try:
        elasticache.describe_replication_groups(ReplicationGroupId=name)
    except ClientError as exc:
        return exc.response["Error"]["Code"] == "ReplicationGroupNotFoundFault"
    return False


def log_deliveries(group):
    found = {}
    for item in group.get("LogDeliveryConfigurations") or []:
        details = item.get("DestinationDetails") or {}
        destination = (details.get("CloudWatchLogsDetails") or {}).get("LogGroup") or (details.get("KinesisFirehoseDetails") or {}).get("DeliveryStream")
        found[item["LogType"]] = (item["DestinationType"], destination, item["LogFormat"])
    return found


# ---- fixtures -------------------------------------------------------------------------------------------------------------


def client(sandbox, service):
    return boto3.client(service, endpoint_url=sandbox["AWS_ENDPOINT_URL"], region_name=sandbox["AWS_DEFAULT_REGION"],
                        aws_access_key_id=sandbox["AWS_ACCESS_KEY_ID"], aws_secret_access_key=sandbox["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture(scope="module")
def elasticache(sandbox):
    return client(sandbox, "elasticache")


@pytest.fixture(scope="module")
def relay(sandbox):
    """The relay the playbooks' AWS requests go through, on their way to the sandbox's front."""
    made = Relay(sandbox["SANDBOX_AWS_FRONT_URL"])
    yield made
    made.close()


@pytest.fixture
def playbook(run_playbook, relay):
    """run_playbook, with the modules' AWS requests sent through the relay."""

    def run(text, env=None, **kwargs):
        return run_playbook(text, env=dict(env or {}, AWS_ENDPOINT_URL=relay.url), **kwargs)

    return run


@pytest.fixture(scope="module")
def network(sandbox, elasticache):
    """A VPC with two private subnets, their cache subnet group, two security groups and two log groups."""
    ec2 = client(sandbox, "ec2")
    logs = client(sandbox, "logs")
    tag = uuid.uuid4().hex[:8]
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    zones = [zone["ZoneName"] for zone in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.%d.0/24" % (index + 1), AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for index, zone in enumerate(zones)]
    subnet_group = "it-redis-" + tag
    elasticache.create_cache_subnet_group(CacheSubnetGroupName=subnet_group, CacheSubnetGroupDescription="integration tests",
                                          SubnetIds=subnets)
    groups = [ec2.create_security_group(GroupName="it-redis-%s-%s" % (tag, which), Description="redis " + which, VpcId=vpc)["GroupId"]
              for which in ("a", "b")]
    log_groups = ["/it/elasticache/%s/%s" % (tag, which) for which in ("slow-log", "engine-log")]
    for name in log_groups:
        logs.create_log_group(logGroupName=name)
    yield {"vpc": vpc, "subnets": subnets, "subnet_group": subnet_group, "security_groups": groups, "slow_log": log_groups[0],
           "engine_log": log_groups[1]}
    for name in log_groups:
        with contextlib.suppress(ClientError):
            logs.delete_log_group(logGroupName=name)
    # The cache subnet group stays: the groups deleted without waiting may still use it (and it costs nothing).
    for group in groups:
        with contextlib.suppress(ClientError):
            ec2.delete_security_group(GroupId=group)
    for subnet in subnets:
        with contextlib.suppress(ClientError):
            ec2.delete_subnet(SubnetId=subnet)
    with contextlib.suppress(ClientError):
        ec2.delete_vpc(VpcId=vpc)


@pytest.fixture
def group_ids(elasticache):
    """Make replication group ids (``make()``); every group made under one is deleted afterwards (without waiting)."""
    made = []

    def make(tag="it"):
        made.append(new_id(tag))
        return made[-1]

    yield make
    for name in made:
        with contextlib.suppress(ClientError):
            elasticache.delete_replication_group(ReplicationGroupId=name)


def reference_args(name, network, **overrides):
    """The Terraform reference's production group (with the sandbox's network and a small node type)."""
    args = {
        "replication_group_id": name,
        "description": "Redis cluster for loyalty integration",
        "node_type": "cache.t4g.small",
        "num_cache_clusters": 3,
        "port": 6379,
        "cache_parameter_group_name": "default.redis7",
        "cache_subnet_group_name": network["subnet_group"],
        "security_group_ids": [network["security_groups"][0]],
        "at_rest_encryption_enabled": True,
        "transit_encryption_enabled": True,
        "auth_token": TOKEN,
        "automatic_failover_enabled": True,
        "multi_az_enabled": True,
        "log_delivery_configurations": [{"log_type": "slow-log", "destination_type": "cloudwatch-logs", "destination": network["slow_log"],
                                         "log_format": "text"}],
        "tags": {"Project": "loyalty", "Environment": "integration"},
        "wait_timeout": 120,
    }
    args.update(overrides)
    return args


def create(playbook, args):
    out = succeeded(result_of(playbook(play(task("rg", args)))))
    assert out["changed"] is True and out["changes"] == ["created"]
    return out


# ---- creation and idempotency -----------------------------------------------------------------------------------------------


def test_create_the_reference_group(playbook, elasticache, network, group_ids):
    name = group_ids()
    out = create(playbook, reference_args(name, network))
    returned = out["replication_group"]
    assert returned["replication_group_id"] == name and returned["status"] == "available"
    assert returned["primary_endpoint"]["port"] == 6379 and returned["primary_endpoint"]["address"]

    group = describe(elasticache, name)
    assert group["Status"] == "available"
    assert group["AtRestEncryptionEnabled"] is True and group["TransitEncryptionEnabled"] is True
    assert group["AuthTokenEnabled"] is True
    assert group["CacheNodeType"] == "cache.t4g.small"
    assert group["AutomaticFailover"] == "enabled" and group["MultiAZ"] == "enabled"
    assert log_deliveries(group) == {"slow-log": ("cloudwatch-logs", network["slow_log"], "text")}
    tags = elasticache.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {"Project": "loyalty", "Environment": "integration"}
    # ElastiCache's documented behaviour: three member cache clusters, a primary and two replicas, each with the group's settings.
    assert len(group["MemberClusters"]) == 3, group["MemberClusters"]
    assert returned["num_cache_clusters"] == 3 and returned["member_clusters"] == group["MemberClusters"]
    roles = sorted(member["CurrentRole"] for member in group["NodeGroups"][0]["NodeGroupMembers"])
    assert roles == ["primary", "replica", "replica"]
    for member in member_clusters(elasticache, group):
        assert member["CacheSubnetGroupName"] == network["subnet_group"]
        assert [item["SecurityGroupId"] for item in member["SecurityGroups"]] == [network["security_groups"][0]]
        assert member["CacheParameterGroup"]["CacheParameterGroupName"] == "default.redis7"
    assert returned["cache_subnet_group_name"] == network["subnet_group"]
    assert returned["security_group_ids"] == [network["security_groups"][0]]


def test_a_second_identical_run_changes_nothing(playbook, elasticache, relay, network, group_ids):
    name = group_ids()
    args = reference_args(name, network)
    create(playbook, args)
    before = describe(elasticache, name)
    with counted(relay) as seen:
        out = succeeded(result_of(playbook(play(task("rg", args)))))
    assert out["changed"] is False and out["changes"] == []
    assert writes_in(seen) == [], seen
    assert seen.get("DescribeReplicationGroups", 0) >= 1
    after = describe(elasticache, name)
    assert after["MemberClusters"] == before["MemberClusters"]
    tags = elasticache.list_tags_for_resource(ResourceName=after["ARN"])["TagList"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {"Project": "loyalty", "Environment": "integration"}


# ---- changes in place ---------------------------------------------------------------------------------------------------------


def test_node_type_failover_and_multi_az_change_in_place(playbook, elasticache, network, group_ids):
    name = group_ids()
    args = reference_args(name, network, num_cache_clusters=2, automatic_failover_enabled=False, multi_az_enabled=False)
    create(playbook, args)
    changed = dict(args, node_type="cache.t4g.medium", automatic_failover_enabled=True, multi_az_enabled=True)
    out = succeeded(result_of(playbook(play(task("rg", changed)), diff=True)))
    assert out["changed"] is True
    assert out["changes"] == ["node_type", "automatic_failover_enabled", "multi_az_enabled"]
    assert out["diff"]["before"]["node_type"] == "cache.t4g.small" and out["diff"]["after"]["node_type"] == "cache.t4g.medium"
    group = describe(elasticache, name)
    assert group["CacheNodeType"] == "cache.t4g.medium"
    assert group["AutomaticFailover"] == "enabled" and group["MultiAZ"] == "enabled"
    assert group["AtRestEncryptionEnabled"] is True and len(group["MemberClusters"]) == 2
    again = succeeded(result_of(playbook(play(task("rg", changed)))))
    assert again["changed"] is False


def test_security_groups_and_log_deliveries_change_in_place(playbook, elasticache, network, group_ids):
    name = group_ids()
    args = reference_args(name, network)
    create(playbook, args)
    changed = dict(args, security_group_ids=[network["security_groups"][1]], log_delivery_configurations=[
        {"log_type": "slow-log", "destination_type": "cloudwatch-logs", "destination": network["slow_log"], "log_format": "json"},
        {"log_type": "engine-log", "destination_type": "cloudwatch-logs", "destination": network["engine_log"], "log_format": "text"},
    ])
    out = succeeded(result_of(playbook(play(task("rg", changed)))))
    assert out["changes"] == ["security_group_ids", "log_delivery_configurations"]
    group = describe(elasticache, name)
    assert log_deliveries(group) == {"slow-log": ("cloudwatch-logs", network["slow_log"], "json"),
                                     "engine-log": ("cloudwatch-logs", network["engine_log"], "text")}
    for member in member_clusters(elasticache, group):
        assert [item["SecurityGroupId"] for item in member["SecurityGroups"]] == [network["security_groups"][1]]
    assert out["replication_group"]["security_group_ids"] == [network["security_groups"][1]]
    # Then every log delivery disabled.
    out = succeeded(result_of(playbook(play(task("rg", dict(changed, log_delivery_configurations=[]))))))
    assert out["changes"] == ["log_delivery_configurations"]
    assert log_deliveries(describe(elasticache, name)) == {}


def test_the_cache_cluster_count_changes_through_the_replicas(playbook, elasticache, network, group_ids):
    name = group_ids()
    args = reference_args(name, network)
    create(playbook, args)
    out = succeeded(result_of(playbook(play(task("rg", dict(args, num_cache_clusters=4))))))
    assert out["changes"] == ["num_cache_clusters"]
    assert len(describe(elasticache, name)["MemberClusters"]) == 4
    fewer = dict(args, num_cache_clusters=1, automatic_failover_enabled=False, multi_az_enabled=False)
    out = succeeded(result_of(playbook(play(task("rg", fewer)))))
    assert out["changes"] == ["automatic_failover_enabled", "multi_az_enabled", "num_cache_clusters"]
    group = describe(elasticache, name)
    assert len(group["MemberClusters"]) == 1 and group["AutomaticFailover"] == "disabled"


# ---- refusals --------------------------------------------------------------------------------------------------------------


def test_an_impossible_change_is_refused_and_nothing_changes(playbook, elasticache, relay, network, group_ids):
    name = group_ids()
    args = {"replication_group_id": name, "description": "refusal", "node_type": "cache.t4g.small", "num_cache_clusters": 2,
            "at_rest_encryption_enabled": True, "transit_encryption_enabled": True, "auth_token": TOKEN, "wait_timeout": 120}
    create(playbook, args)
    before = describe(elasticache, name)
    with counted(relay) as seen:
        out = result_of(playbook(play(task("rg", dict(args, at_rest_encryption_enabled=False, port=6380, node_type="cache.t4g.medium")))))
    assert out.get("failed") is True
    assert out["refused"] == ["port", "at_rest_encryption_enabled"]
    assert ("replication group %s: port cannot be changed in place (it is 6379, the task wants 6380); to change it, recreate the group: "
            "run the task with state=absent, then with state=present" % name) in out["msg"]
    assert "at_rest_encryption_enabled cannot be changed in place (it is true, the task wants false)" in out["msg"]
    assert writes_in(seen) == [], seen
    after = describe(elasticache, name)
    assert after["AtRestEncryptionEnabled"] is True and after["CacheNodeType"] == before["CacheNodeType"] == "cache.t4g.small"
    assert after["NodeGroups"][0]["PrimaryEndpoint"]["Port"] == 6379


def test_bad_input_is_refused_before_any_request(playbook, relay, network):
    name = new_id("bad")
    base = {"replication_group_id": name, "description": "never created", "transit_encryption_enabled": True, "auth_token": TOKEN}
    forbidden = "a-token-with-an-@-sign"
    tasks = [
        task("short token", dict(base, auth_token="short")),
        task("forbidden character", dict(base, auth_token=forbidden)),
        task("token without transit encryption", dict(base, transit_encryption_enabled=False)),
        task("multi-az without failover", dict(base, num_cache_clusters=2, automatic_failover_enabled=False, multi_az_enabled=True)),
        task("failover with one cluster", dict(base, num_cache_clusters=1, automatic_failover_enabled=True)),
        task("seven clusters", dict(base, num_cache_clusters=7)),
        task("bad id", dict(base, replication_group_id="9-lives")),
        task("duplicate log type", dict(base, log_delivery_configurations=[
            {"log_type": "slow-log", "destination_type": "cloudwatch-logs", "destination": "a"},
            {"log_type": "slow-log", "destination_type": "cloudwatch-logs", "destination": "b"}])),
    ]
    # Last, a task that must make exactly one request: proof that this playbook's requests are the ones counted.
    control = task("control", {"replication_group_id": name}, INFO)
    with counted(relay) as seen:
        run = playbook(play(*(tasks + [control])), args=("-v",))
    expected = {
        "short token": "auth_token must have 16 to 128 characters, not 5",
        "forbidden character": "auth_token holds @ (character %d)" % (forbidden.index("@") + 1),
        "token without transit encryption": "auth_token needs transit_encryption_enabled=true",
        "multi-az without failover": "multi_az_enabled=true needs automatic_failover_enabled=true",
        "failover with one cluster": "automatic_failover_enabled=true needs at least 2 cache clusters",
        "seven clusters": "num_cache_clusters=7 must be between 1 and 6",
        "bad id": "replication_group_id=9-lives is not a valid ElastiCache id",
        "duplicate log type": "log_delivery_configurations lists log_type=slow-log twice",
    }
    for name_of_task, message in expected.items():
        out = run.task_result(name_of_task)
        assert out.get("failed") is True and message in out["msg"], (name_of_task, out.get("msg"))
    assert succeeded(run.task_result("control"))["replication_groups"] == []
    assert seen == {"DescribeReplicationGroups": 1}, seen
    assert TOKEN not in run.stdout + run.stderr
    assert forbidden not in run.stdout + run.stderr


# ---- check mode and diff ---------------------------------------------------------------------------------------------------------


def test_check_mode_writes_nothing(playbook, elasticache, relay, network, group_ids):
    name = group_ids()
    args = {"replication_group_id": name, "description": "check mode", "node_type": "cache.t4g.small", "transit_encryption_enabled": True,
            "auth_token": TOKEN, "tags": {"Project": "loyalty"}, "wait_timeout": 120}
    missing = group_ids()
    with counted(relay) as seen:
        run = playbook(play(task("create", dict(args, replication_group_id=missing))), check=True, diff=True)
    out = succeeded(run.task_result("create"))
    assert out["changed"] is True and out["changes"] == ["created"] and out["replication_group"] == {}
    assert out["diff"]["before"] == {} and out["diff"]["after"]["node_type"] == "cache.t4g.small"
    assert writes_in(seen) == [] and seen.get("DescribeReplicationGroups", 0) >= 1, seen
    assert gone(elasticache, missing)

    create(playbook, args)
    before = describe(elasticache, name)
    changed = dict(args, node_type="cache.t4g.medium", description="changed in check mode", tags={"Project": "other"})
    with counted(relay) as seen:
        run = playbook(play(task("modify", changed), task("delete", {"replication_group_id": name, "state": "absent"})), check=True, diff=True)
    out = succeeded(run.task_result("modify"))
    assert out["changed"] is True and out["changes"] == ["description", "node_type", "tags"]
    assert out["diff"]["before"]["node_type"] == "cache.t4g.small" and out["diff"]["after"]["node_type"] == "cache.t4g.medium"
    assert out["diff"]["after"]["tags"] == {"Project": "other"}
    deleted = succeeded(run.task_result("delete"))
    assert deleted["changed"] is True and deleted["changes"] == ["deleted"]
    assert writes_in(seen) == [], seen
    after = describe(elasticache, name)
    assert after["Status"] == "available"
    assert (after["CacheNodeType"], after["Description"]) == (before["CacheNodeType"], before["Description"]) == ("cache.t4g.small", "check mode")
    tags = elasticache.list_tags_for_resource(ResourceName=after["ARN"])["TagList"]
    assert tags == [{"Key": "Project", "Value": "loyalty"}]
    assert TOKEN not in run.stdout + run.stderr


# ---- deletion ----------------------------------------------------------------------------------------------------------------


def test_delete_waits_until_the_group_is_gone(playbook, elasticache, relay, group_ids):
    name = group_ids()
    create(playbook, {"replication_group_id": name, "description": "to delete", "node_type": "cache.t4g.small", "wait_timeout": 120})
    with counted(relay) as seen:
        out = succeeded(result_of(playbook(play(task("rg", {"replication_group_id": name, "state": "absent", "wait_timeout": 60})))))
    assert out["changed"] is True and out["changes"] == ["deleted"] and out["replication_group"] == {}
    assert seen.get("DeleteReplicationGroup") == 1
    assert gone(elasticache, name)
    with counted(relay) as seen:
        again = succeeded(result_of(playbook(play(task("rg", {"replication_group_id": name, "state": "absent"})))))
    assert again["changed"] is False and writes_in(seen) == []


def test_deleting_a_missing_group_changes_nothing(playbook, relay):
    with counted(relay) as seen:
        out = succeeded(result_of(playbook(play(task("rg", {"replication_group_id": new_id("missing"), "state": "absent"})))))
    assert out["changed"] is False and out["replication_group"] == {}
    assert writes_in(seen) == [] and seen.get("DescribeReplicationGroups") == 1


# ---- the token and the info ------------------------------------------------------------------------------------------------------


def test_the_auth_token_never_appears_in_the_output(playbook, elasticache, group_ids):
    name = group_ids()
    args = {"replication_group_id": name, "description": "token", "node_type": "cache.t4g.small", "transit_encryption_enabled": True,
            "auth_token": TOKEN, "wait_timeout": 120}
    new_token = "It-rotated-token-" + uuid.uuid4().hex
    tasks = [
        task("create", args),
        task("again", args),
        task("rotate", dict(args, auth_token=new_token, auth_token_update="rotate")),
        task("refused", dict(args, auth_token=new_token, port=6380)),
    ]
    for env, verbosity in (({}, "-v"), ({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}, "-vvv")):
        if env:
            tasks = tasks[1:]
        run = playbook(play(*tasks), args=(verbosity,), env=env, diff=True)
        assert run.rc in (0, 2), run.stderr[-2000:]
        output = run.stdout + run.stderr
        assert TOKEN not in output and new_token not in output
        if not env:
            assert succeeded(run.task_result("create"))["changed"] is True
            rotated = succeeded(run.task_result("rotate"))
            assert rotated["changes"] == ["auth_token"]
            assert run.task_result("refused").get("failed") is True
        else:
            # The verbose human-readable output, results and diffs included, was printed.
            assert "task path:" in output and "changes:" in output and "--- before" in output
    assert describe(elasticache, name)["AuthTokenEnabled"] is True


def test_info_describes_one_group_or_every_group(playbook, elasticache, group_ids):
    first, second = group_ids(), group_ids()
    for name in (first, second):
        create(playbook, {"replication_group_id": name, "description": "info " + name, "node_type": "cache.t4g.small",
                          "tags": {"Name": name}, "wait_timeout": 120})
    run = playbook(play(task("one", {"replication_group_id": first.upper()}, INFO), task("every", {}, INFO),
                        task("none", {"name": new_id("missing")}, INFO)),
                   check=True)
    one = succeeded(run.task_result("one"))
    assert one["changed"] is False
    assert [group["replication_group_id"] for group in one["replication_groups"]] == [first]
    group = one["replication_groups"][0]
    described = describe(elasticache, first)
    assert group["status"] == described["Status"] and group["member_clusters"] == described["MemberClusters"]
    assert group["description"] == "info " + first and group["tags"] == {"Name": first}
    assert group["primary_endpoint"]["address"] == described["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    every = succeeded(run.task_result("every"))
    names = {item["replication_group_id"] for item in every["replication_groups"]}
    assert {first, second} <= names
    assert succeeded(run.task_result("none"))["replication_groups"] == []

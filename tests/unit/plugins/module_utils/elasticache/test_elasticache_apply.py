"""Unit tests of the runs of plugins/module_utils/elasticache/replication_group.py against an in-memory ElastiCache that behaves as
the API reference describes: the order of the writes, the waits, check mode, deletion, the info, and the failures."""

import json

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.elasticache import replication_group as rg
from ansible_collections.loyalty.platform.plugins.module_utils.elasticache.validate import ElastiCacheError

from elasticache_fake import FakeClock, FakeElastiCache, client_error
from test_elasticache_validate import TOKEN, params

NAME = "loyalty-production"


@pytest.fixture
def fake():
    return FakeElastiCache(busy_polls=2)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def api(fake, clock):
    return rg.Api(fake, sleep=clock.sleep, clock=clock.clock)


def run(api, check_mode=False, **overrides):
    return rg.replication_group(params(**overrides), lambda: api, check_mode)


def created(api, fake, **overrides):
    result = run(api, **overrides)
    fake.calls.clear()
    api.writes.clear()
    return result


def test_create_waits_until_available_and_returns_the_group(api, fake, clock):
    result = run(api)
    assert result["changed"] is True and result["changes"] == ["created"]
    assert fake.writes() == ["CreateReplicationGroup"]
    request = fake.calls[fake.operations().index("CreateReplicationGroup")][1]
    assert request["NumCacheClusters"] == 3 and request["AuthToken"] == TOKEN
    group = result["replication_group"]
    assert group["status"] == "available"
    assert group["member_clusters"] == ["%s-001" % NAME, "%s-002" % NAME, "%s-003" % NAME]
    assert group["engine_version"] == "7.1.0" and group["cache_subnet_group_name"] == "loyalty-production"
    assert group["tags"] == {"Project": "loyalty"}
    assert clock.sleeps == [2, 4]
    assert TOKEN not in json.dumps(result, default=str)


def test_a_second_identical_run_changes_nothing(api, fake):
    created(api, fake)
    result = run(api)
    assert result["changed"] is False and result["changes"] == []
    assert fake.writes() == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_check_mode_creates_nothing(api, fake):
    result = run(api, check_mode=True)
    assert result["changed"] is True and result["changes"] == ["created"] and result["replication_group"] == {}
    assert fake.writes() == [] and fake.operations() == ["DescribeReplicationGroups"]
    assert result["diff"]["after"]["node_type"] == "cache.r6g.large"


def test_without_wait_the_creation_returns_at_once(api, fake, clock):
    result = run(api, wait=False)
    assert result["replication_group"]["status"] == "creating"
    assert clock.sleeps == []


def test_more_replicas_come_before_failover_is_enabled(api, fake, clock):
    created(api, fake, num_cache_clusters=1, automatic_failover_enabled=False, multi_az_enabled=False)
    clock.sleeps.clear()
    result = run(api, num_cache_clusters=3, automatic_failover_enabled=True, multi_az_enabled=True)
    assert result["changes"] == ["automatic_failover_enabled", "multi_az_enabled", "num_cache_clusters"]
    assert fake.writes() == ["IncreaseReplicaCount", "ModifyReplicationGroup"]
    increase = fake.calls[fake.operations().index("IncreaseReplicaCount")][1]
    assert increase == {"ReplicationGroupId": NAME, "NewReplicaCount": 2, "ApplyImmediately": True}
    modify = fake.calls[fake.operations().index("ModifyReplicationGroup")][1]
    assert modify == {"ReplicationGroupId": NAME, "ApplyImmediately": True, "AutomaticFailoverEnabled": True, "MultiAZEnabled": True}
    group = result["replication_group"]
    assert group["num_cache_clusters"] == 3 and group["automatic_failover"] == "enabled" and group["status"] == "available"
    # The group reads available before its new clusters do (the fake refuses a write meanwhile): the modification waited for
    # both new clusters to be described available.
    operations = fake.operations()
    between = [kwargs.get("CacheClusterId") for operation, kwargs in
               fake.calls[operations.index("IncreaseReplicaCount"):operations.index("ModifyReplicationGroup")] if operation == "DescribeCacheClusters"]
    assert {"%s-002" % NAME, "%s-003" % NAME} <= set(between)
    assert all(fake.clusters[cluster_id]["CacheClusterStatus"] == "available" for cluster_id in group["member_clusters"])
    assert max(clock.sleeps) <= 15


def test_fewer_replicas_come_after_failover_is_disabled(api, fake):
    created(api, fake)
    result = run(api, num_cache_clusters=1, automatic_failover_enabled=False, multi_az_enabled=False)
    assert fake.writes() == ["ModifyReplicationGroup", "DecreaseReplicaCount"]
    assert fake.calls[fake.operations().index("DecreaseReplicaCount")][1]["NewReplicaCount"] == 0
    assert result["replication_group"]["member_clusters"] == ["%s-001" % NAME]
    # The final wait lasted until the removed clusters were gone.
    assert fake.removing == {}
    assert run(api, num_cache_clusters=1, automatic_failover_enabled=False, multi_az_enabled=False)["changed"] is False


def test_the_waits_after_a_replica_change_cover_the_added_and_removed_clusters(api, fake):
    created(api, fake)
    result = run(api, num_cache_clusters=2, node_type="cache.r6g.xlarge", tags={"Project": "loyalty", "Size": "2"})
    assert fake.writes() == ["AddTagsToResource", "ModifyReplicationGroup", "DecreaseReplicaCount"]
    assert result["replication_group"]["cache_node_type"] == "cache.r6g.xlarge" and fake.removing == {}
    fake.calls.clear()
    result = run(api, num_cache_clusters=3, node_type="cache.r6g.large", tags={"Project": "loyalty", "Size": "2"}, wait=False)
    # The modification waited for the added cluster (the fake refuses it meanwhile); without wait, nothing after it.
    assert fake.writes() == ["IncreaseReplicaCount", "ModifyReplicationGroup"]
    assert result["replication_group"]["status"] == "modifying"


def test_in_place_changes_then_idempotent(api, fake):
    created(api, fake)
    task = {"node_type": "cache.r6g.xlarge", "security_group_ids": ["sg-0000000000000000a"], "snapshot_retention_limit": 7,
            "log_delivery_configurations": [], "tags": {"Project": "loyalty", "Environment": "production"}}
    result = run(api, **task)
    assert result["changes"] == ["node_type", "security_group_ids", "snapshot_retention_limit", "log_delivery_configurations", "tags"]
    # The tags first: ElastiCache refuses them while the group is modifying.
    assert fake.writes() == ["AddTagsToResource", "ModifyReplicationGroup"]
    group = result["replication_group"]
    assert (group["cache_node_type"], group["security_group_ids"], group["snapshot_retention_limit"]) == ("cache.r6g.xlarge", ["sg-0000000000000000a"], 7)
    assert group["log_delivery_configurations"] == [] and group["tags"] == {"Project": "loyalty", "Environment": "production"}
    fake.calls.clear()
    assert run(api, **task)["changed"] is False and fake.writes() == []


def test_tagging_makes_the_group_modifying_so_it_is_waited_for(api, fake, clock):
    created(api, fake)
    clock.sleeps.clear()
    result = run(api, tags={"Environment": "production"})
    assert fake.writes() == ["RemoveTagsFromResource", "AddTagsToResource"]
    assert result["replication_group"]["tags"] == {"Environment": "production"}
    assert result["replication_group"]["status"] == "available" and clock.sleeps == [2, 4, 2, 4]
    fake.calls.clear()
    result = run(api, tags={"Environment": "staging"}, wait=False)
    assert fake.writes() == ["AddTagsToResource"]
    assert result["replication_group"]["status"] == "modifying"
    # Not listable while modifying: the tags just written.
    assert result["replication_group"]["tags"] == {"Environment": "staging"}


def test_tags_of_a_busy_group_are_compared_once_it_is_available(api, fake, clock):
    created(api, fake)
    fake.add_tags_to_resource(ResourceName=fake.groups[NAME]["ARN"], Tags=[{"Key": "Owner", "Value": "platform"}])
    assert fake.groups[NAME]["Status"] == "modifying"
    preview = run(api, check_mode=True, tags={"Project": "loyalty"})
    assert preview["changes"] == [] and preview["replication_group"]["tags"] is None
    assert preview["warnings"] == ["the tags of the replication group cannot be read while it is not available, so they were not compared"]
    fake.calls.clear()
    result = run(api, tags={"Project": "loyalty"})
    assert result["changes"] == ["tags"] and fake.writes() == ["RemoveTagsFromResource"]
    assert fake.tags[fake.groups[NAME]["ARN"]] == {"Project": "loyalty"}


def test_check_mode_changes_nothing_but_reports_everything(api, fake):
    created(api, fake)
    result = run(api, check_mode=True, node_type="cache.r6g.xlarge", num_cache_clusters=4, tags={}, auth_token_update="rotate")
    assert result["changed"] is True
    assert result["changes"] == ["node_type", "num_cache_clusters", "auth_token", "tags"]
    assert fake.writes() == []
    assert result["replication_group"]["cache_node_type"] == "cache.r6g.large"
    assert result["diff"]["after"]["num_cache_clusters"] == 4
    assert TOKEN not in json.dumps(result, default=str)


def test_an_immutable_change_is_refused_before_any_write(api, fake):
    created(api, fake)
    with pytest.raises(ElastiCacheError) as caught:
        run(api, at_rest_encryption_enabled=False, node_type="cache.r6g.xlarge")
    assert "at_rest_encryption_enabled cannot be changed in place (it is true, the task wants false)" in caught.value.msg
    assert fake.writes() == []
    assert fake.groups[NAME]["CacheNodeType"] == "cache.r6g.large"


def test_bad_input_is_refused_before_the_client_is_made():
    def never():
        raise AssertionError("the client was made")

    with pytest.raises(ElastiCacheError, match="auth_token holds @"):
        rg.replication_group(params(auth_token="an@invalid-token-value"), never)


def test_the_token_is_rotated_then_set(api, fake):
    created(api, fake)
    new = "A-new-redis-token-0123456789"
    for update, strategy in (("rotate", "ROTATE"), ("set", "SET")):
        fake.calls.clear()
        result = run(api, auth_token=new, auth_token_update=update)
        assert result["changes"] == ["auth_token"]
        modify = fake.calls[fake.operations().index("ModifyReplicationGroup")][1]
        assert (modify["AuthToken"], modify["AuthTokenUpdateStrategy"], modify["ApplyImmediately"]) == (new, strategy, True)


def test_a_timeout_names_the_group_its_status_and_the_timeout(fake, clock):
    fake.busy_polls = 10 ** 6
    api = rg.Api(fake, sleep=clock.sleep, clock=clock.clock)
    with pytest.raises(ElastiCacheError) as caught:
        rg.replication_group(params(wait_timeout=60), lambda: api)
    assert caught.value.msg == ("replication group loyalty-production: timed out after 60 seconds (wait_timeout) waiting for it to become "
                                "available; its last status was creating")
    assert caught.value.details == {"status": "creating"}
    assert sum(clock.sleeps) == 60 and max(clock.sleeps) <= 15


def test_a_failed_creation_is_reported(api, fake):
    created(api, fake, wait=False)
    fake.groups[NAME]["Status"] = "create-failed"
    with pytest.raises(ElastiCacheError, match="is create-failed: delete it"):
        run(api)


def test_a_group_being_deleted_is_not_modified(api, fake):
    created(api, fake)
    fake.busy_polls = 10 ** 6
    fake.delete_replication_group(ReplicationGroupId=NAME)
    with pytest.raises(ElastiCacheError, match="is being deleted; run the task again once it is gone"):
        run(api)


def test_delete_waits_until_gone(api, fake, clock):
    created(api, fake)
    clock.sleeps.clear()
    result = run(api, state="absent")
    assert result["changed"] is True and result["changes"] == ["deleted"] and result["replication_group"] == {}
    assert fake.writes() == ["DeleteReplicationGroup"]
    assert fake.calls[fake.operations().index("DeleteReplicationGroup")][1] == {"ReplicationGroupId": NAME, "RetainPrimaryCluster": False}
    assert NAME not in fake.groups and fake.clusters == {}
    assert clock.sleeps == [2, 4]
    assert result["diff"]["before"]["num_cache_clusters"] == 3 and result["diff"]["after"] == {}
    fake.calls.clear()
    again = run(api, state="absent")
    assert again["changed"] is False and fake.writes() == []


def test_delete_with_a_final_snapshot_and_without_waiting(api, fake):
    created(api, fake)
    result = run(api, state="absent", final_snapshot_identifier="loyalty-final", wait=False)
    assert fake.calls[fake.operations().index("DeleteReplicationGroup")][1]["FinalSnapshotIdentifier"] == "loyalty-final"
    assert result["replication_group"]["status"] == "deleting"


def test_delete_in_check_mode_deletes_nothing(api, fake):
    created(api, fake)
    result = run(api, check_mode=True, state="absent")
    assert result["changed"] is True and fake.writes() == [] and fake.groups[NAME]["Status"] == "available"


def test_a_group_already_being_deleted_is_only_waited_for(api, fake):
    created(api, fake)
    fake.delete_replication_group(ReplicationGroupId=NAME)
    fake.calls.clear()
    result = run(api, state="absent")
    assert result["changed"] is False and fake.writes() == [] and NAME not in fake.groups


def test_delete_waits_for_a_busy_group_first(api, fake):
    created(api, fake, wait=False)
    run(api, state="absent")
    assert fake.writes() == ["DeleteReplicationGroup"] and NAME not in fake.groups


def test_a_member_that_cannot_be_described_is_skipped(api, fake):
    created(api, fake)
    del fake.clusters["%s-001" % NAME]
    result = run(api)
    assert result["changed"] is False
    assert fake.operations().count("DescribeCacheClusters") == 2


def test_an_aws_error_names_the_request(api, fake):
    created(api, fake)
    fake.fail["ModifyReplicationGroup"] = client_error("InvalidParameterCombination", "Cannot scale to that node type", "ModifyReplicationGroup")
    with pytest.raises(rg.AwsCallError) as caught:
        run(api, node_type="cache.x1.huge")
    assert caught.value.msg == "Failed to modify replication group loyalty-production"
    assert rg.error_code(caught.value.exception) == "InvalidParameterCombination"


def test_info_one_all_and_missing(api, fake):
    created(api, fake)
    created(api, fake, replication_group_id="loyalty-staging", num_cache_clusters=1, automatic_failover_enabled=False, multi_az_enabled=False,
            tags={"Environment": "staging"})
    one = rg.groups_info(api, "Loyalty-Production")
    assert [group["replication_group_id"] for group in one["replication_groups"]] == [NAME]
    assert one["replication_groups"][0]["engine_version"] == "7.1.0"
    every = rg.groups_info(api)
    assert sorted(group["replication_group_id"] for group in every["replication_groups"]) == ["loyalty-production", "loyalty-staging"]
    staging = next(group for group in every["replication_groups"] if group["replication_group_id"] == "loyalty-staging")
    assert staging["tags"] == {"Environment": "staging"} and staging["security_group_ids"] == ["sg-0123456789abcdef0"]
    assert rg.groups_info(api, "missing") == {"changed": False, "replication_groups": []}
    assert fake.writes() == []


class FakeModule:
    """The parts of AnsibleAWSModule that run() uses."""

    def __init__(self, diff=False):
        self._diff = diff
        self.warnings = []
        self.exited = self.failed = None

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        self.exited = result
        raise SystemExit(0)

    def fail_json(self, **result):
        self.failed = result
        raise SystemExit(1)

    def fail_json_aws(self, exception, msg=None):
        self.failed = {"msg": msg, "exception": exception}
        raise SystemExit(1)


def test_run_exits_with_the_result_warnings_and_diff_only_in_diff_mode():
    module = FakeModule()
    with pytest.raises(SystemExit):
        rg.run(module, lambda: {"changed": False, "changes": [], "replication_group": {}, "diff": {"before": {}, "after": {}}, "warnings": ["w"]})
    assert module.exited == {"changed": False, "changes": [], "replication_group": {}} and module.warnings == ["w"]
    module = FakeModule(diff=True)
    with pytest.raises(SystemExit):
        rg.run(module, lambda: {"changed": False, "diff": {"before": {}, "after": {}}})
    assert "diff" in module.exited


def raiser(exc):
    def work():
        raise exc

    return work


def test_run_fails_with_the_message_or_through_fail_json_aws():
    module = FakeModule()
    with pytest.raises(SystemExit):
        rg.run(module, raiser(ElastiCacheError("refused", refused=["port"])))
    assert module.failed == {"msg": "refused", "refused": ["port"]}
    error = client_error("AccessDenied", "no", "DescribeReplicationGroups")
    module = FakeModule()
    with pytest.raises(SystemExit):
        rg.run(module, raiser(rg.AwsCallError(error, "Failed to describe replication group x")))
    assert module.failed == {"msg": "Failed to describe replication group x", "exception": error}


def test_the_fake_refuses_what_elasticache_refuses_while_members_settle(fake):
    """The waits above are needed: the group reads available while an added cluster is creating, and tags are refused while modifying."""
    fake.busy_polls = 1
    fake.create_replication_group(ReplicationGroupId=NAME, ReplicationGroupDescription="d", NumCacheClusters=1)
    arn = fake.groups[NAME]["ARN"]
    with pytest.raises(Exception, match="InvalidReplicationGroupState"):
        fake.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "a", "Value": "b"}])
    fake.describe_replication_groups(ReplicationGroupId=NAME)
    fake.describe_replication_groups(ReplicationGroupId=NAME)
    fake.increase_replica_count(ReplicationGroupId=NAME, NewReplicaCount=1, ApplyImmediately=True)
    fake.describe_replication_groups(ReplicationGroupId=NAME)
    assert fake.describe_replication_groups(ReplicationGroupId=NAME)["ReplicationGroups"][0]["Status"] == "available"
    with pytest.raises(Exception, match="InvalidCacheClusterState"):
        fake.modify_replication_group(ReplicationGroupId=NAME, CacheNodeType="cache.r6g.xlarge")


def test_a_timeout_while_members_settle_names_the_member(fake, clock):
    api = rg.Api(fake, sleep=clock.sleep, clock=clock.clock)
    created(api, fake, num_cache_clusters=2, automatic_failover_enabled=False, multi_az_enabled=False)
    fake.busy_polls = 10 ** 6
    # The group is available again at once, its new cluster never.
    fake._busy_now = lambda name, status: fake._busy.__setitem__(name, 0)  # pylint: disable=protected-access
    with pytest.raises(ElastiCacheError) as caught:
        run(api, num_cache_clusters=3, automatic_failover_enabled=True, multi_az_enabled=False, wait_timeout=30)
    assert caught.value.msg == ("replication group loyalty-production: timed out after 30 seconds (wait_timeout) waiting for it to become "
                                "available; its last status was available (member cache cluster loyalty-production-003 is creating)")
    assert fake.writes() == ["IncreaseReplicaCount"]

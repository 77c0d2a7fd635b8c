"""Unit tests of the comparison and the plan of plugins/module_utils/elasticache/replication_group.py: what an existing group
needs, what is refused (before any write), and the diff."""

import copy

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.elasticache import replication_group as rg
from ansible_collections.loyalty.platform.plugins.module_utils.elasticache.validate import ElastiCacheError

from test_elasticache_validate import TOKEN, params

NAME = "loyalty-production"
SLOW_LOG = {"log_type": "slow-log", "destination_type": "cloudwatch-logs", "destination": "/aws/elasticache/loyalty-production/slow-log",
            "log_format": "text"}


def described_group(**overrides):
    """DescribeReplicationGroups of the production group as AWS answers it (cluster mode disabled, three cache clusters)."""
    group = {
        "ReplicationGroupId": NAME,
        "Description": "Redis cluster for loyalty production",
        "Status": "available",
        "PendingModifiedValues": {},
        "MemberClusters": ["%s-001" % NAME, "%s-002" % NAME, "%s-003" % NAME],
        "NodeGroups": [{
            "NodeGroupId": "0001", "Status": "available",
            "PrimaryEndpoint": {"Address": "master.%s.abc123.usw2.cache.amazonaws.com" % NAME, "Port": 6379},
            "ReaderEndpoint": {"Address": "replica.%s.abc123.usw2.cache.amazonaws.com" % NAME, "Port": 6379},
            "NodeGroupMembers": [
                {"CacheClusterId": "%s-002" % NAME, "CurrentRole": "replica"},
                {"CacheClusterId": "%s-001" % NAME, "CurrentRole": "primary"},
                {"CacheClusterId": "%s-003" % NAME, "CurrentRole": "replica"},
            ],
        }],
        "AutomaticFailover": "enabled",
        "MultiAZ": "enabled",
        "SnapshotRetentionLimit": 0,
        "ClusterEnabled": False,
        "CacheNodeType": "cache.r6g.large",
        "AuthTokenEnabled": True,
        "TransitEncryptionEnabled": True,
        "AtRestEncryptionEnabled": True,
        "ARN": "arn:aws:elasticache:us-west-2:123456789012:replicationgroup:%s" % NAME,
        "LogDeliveryConfigurations": [{
            "LogType": "slow-log", "DestinationType": "cloudwatch-logs",
            "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": "/aws/elasticache/loyalty-production/slow-log"}},
            "LogFormat": "text", "Status": "active", "Message": "",
        }],
        "ClusterMode": "disabled",
        "Engine": "redis",
    }
    group.update(overrides)
    return group


def described_member(**overrides):
    member = {
        "CacheClusterId": "%s-001" % NAME,
        "ReplicationGroupId": NAME,
        "Engine": "redis",
        "EngineVersion": "7.1.0",
        "CacheNodeType": "cache.r6g.large",
        "CacheParameterGroup": {"CacheParameterGroupName": "default.redis7", "ParameterApplyStatus": "in-sync"},
        "CacheSubnetGroupName": "loyalty-production",
        "SecurityGroups": [{"SecurityGroupId": "sg-0123456789abcdef0", "Status": "active"}],
        "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
        "PendingModifiedValues": {},
    }
    member.update(overrides)
    return member


def observed(group=None, member="default", tags=None):
    return rg.Observed(group or described_group(), described_member() if member == "default" else member,
                       {"Project": "loyalty"} if tags is None else tags)


def test_current_settings_in_the_tasks_terms():
    settings = rg.current_settings(described_group(), described_member())
    assert settings == {
        "description": "Redis cluster for loyalty production", "engine": "redis", "engine_version": "7.1.0", "node_type": "cache.r6g.large",
        "num_cache_clusters": 3, "port": 6379, "cache_parameter_group_name": "default.redis7", "cache_subnet_group_name": "loyalty-production",
        "security_group_ids": ["sg-0123456789abcdef0"], "at_rest_encryption_enabled": True, "transit_encryption_enabled": True,
        "automatic_failover_enabled": True, "multi_az_enabled": True, "snapshot_retention_limit": 0,
        "preferred_maintenance_window": "sun:05:00-sun:06:00", "log_delivery_configurations": [SLOW_LOG],
    }


def test_member_settings_are_unknown_without_a_member_and_pending_values_count():
    settings = rg.current_settings(described_group(AutomaticFailover="disabled", PendingModifiedValues={"AutomaticFailoverStatus": "enabled"}), None)
    assert settings["automatic_failover_enabled"] is True
    assert all(settings[field] == rg.UNKNOWN for field in rg.MEMBER_SETTINGS)
    member = described_member(PendingModifiedValues={"CacheNodeType": "cache.r6g.xlarge", "EngineVersion": "7.1.1"})
    settings = rg.current_settings(described_group(), member)
    assert (settings["node_type"], settings["engine_version"]) == ("cache.r6g.xlarge", "7.1.1")


def test_the_primary_is_read_first():
    assert rg.member_ids(described_group()) == ["%s-001" % NAME, "%s-002" % NAME, "%s-003" % NAME]
    group = described_group()
    group["NodeGroups"][0]["NodeGroupMembers"][1]["CurrentRole"] = "replica"
    group["NodeGroups"][0]["NodeGroupMembers"][2]["CurrentRole"] = "primary"
    assert rg.member_ids(group)[0] == "%s-003" % NAME


@pytest.mark.parametrize("current, wanted, same", [
    ("7.1.0", "7.1", True), ("7.1.0", "7.1.0", True), ("6.2.6", "6.x", True), ("7.0.7", "7.1", False), ("7.1.0", "7", True),
    ("7.10.0", "7.1", False), ("7.1", "7.1.0", False),
])
def test_engine_versions_compare_as_a_prefix(current, wanted, same):
    assert rg.version_matches(current, wanted) is same


def test_an_identical_task_changes_nothing():
    plan = rg.plan_update(NAME, observed(), params())
    assert plan.changes == [] and plan.modify == {} and plan.replicas is None
    assert plan.before == plan.after
    assert plan.before["log_delivery_configurations"] == [SLOW_LOG]
    assert plan.before["tags"] == {"Project": "loyalty"}
    assert "auth_token" not in plan.before


def test_options_left_out_are_not_compared():
    task = {"replication_group_id": NAME, "state": "present", "engine": "redis", "port": 6379, "auth_token_update": "on_create",
            "purge_tags": True, "tags": None}
    plan = rg.plan_update(NAME, observed(group=described_group(Description="anything", SnapshotRetentionLimit=5)), task)
    assert plan.changes == []
    assert set(plan.before) == {"engine", "port"}


def test_in_place_changes_and_their_diff():
    task = params(node_type="cache.r6g.xlarge", security_group_ids=["sg-0000000000000000b", "sg-0000000000000000a", "sg-0000000000000000a"],
                  description="Redis of loyalty production", engine_version="7.2", cache_parameter_group_name="loyalty-redis7",
                  snapshot_retention_limit=7, preferred_maintenance_window="Sun:06:00-Sun:07:00")
    plan = rg.plan_update(NAME, observed(), task)
    assert plan.changes == ["description", "node_type", "engine_version", "cache_parameter_group_name", "security_group_ids",
                            "snapshot_retention_limit", "preferred_maintenance_window"]
    assert plan.modify == {
        "ReplicationGroupDescription": "Redis of loyalty production", "CacheNodeType": "cache.r6g.xlarge", "EngineVersion": "7.2",
        "CacheParameterGroupName": "loyalty-redis7", "SecurityGroupIds": ["sg-0000000000000000a", "sg-0000000000000000b"],
        "SnapshotRetentionLimit": 7, "PreferredMaintenanceWindow": "sun:06:00-sun:07:00",
    }
    assert plan.before["node_type"] == "cache.r6g.large" and plan.after["node_type"] == "cache.r6g.xlarge"
    assert plan.before["security_group_ids"] == ["sg-0123456789abcdef0"]
    assert plan.before["engine_version"] == "7.1.0" and plan.after["engine_version"] == "7.2"
    assert plan.before["port"] == plan.after["port"] == 6379


def test_security_groups_compare_as_a_set():
    member = described_member(SecurityGroups=[{"SecurityGroupId": "sg-b"}, {"SecurityGroupId": "sg-a"}])
    assert rg.plan_update(NAME, observed(member=member), params(security_group_ids=["sg-a", "sg-b", "sg-a"])).changes == []


def test_failover_and_multi_az_off_together():
    plan = rg.plan_update(NAME, observed(), params(automatic_failover_enabled=False, multi_az_enabled=False))
    assert plan.changes == ["automatic_failover_enabled", "multi_az_enabled"]
    assert plan.modify == {"AutomaticFailoverEnabled": False, "MultiAZEnabled": False}


def test_failover_off_while_the_group_keeps_multi_az_is_refused():
    with pytest.raises(ElastiCacheError) as caught:
        rg.plan_update(NAME, observed(), params(automatic_failover_enabled=False, multi_az_enabled=None))
    assert caught.value.msg == ("replication group loyalty-production: multi_az_enabled=true needs automatic_failover_enabled=true (an option "
                                "the task leaves out keeps the group's value: 3 cache clusters, automatic failover true, Multi-AZ true)")


def test_fewer_cache_clusters_than_failover_needs_is_refused():
    with pytest.raises(ElastiCacheError) as caught:
        rg.plan_update(NAME, observed(), params(num_cache_clusters=1, multi_az_enabled=None, automatic_failover_enabled=None))
    assert "automatic_failover_enabled=true needs at least 2 cache clusters" in caught.value.msg


@pytest.mark.parametrize("clusters, replicas, more", [(5, 4, True), (2, 1, False)])
def test_cache_cluster_count_changes_through_the_replica_count(clusters, replicas, more):
    plan = rg.plan_update(NAME, observed(), params(num_cache_clusters=clusters))
    assert plan.changes == ["num_cache_clusters"]
    assert (plan.replicas, plan.more_replicas) == (replicas, more)
    assert plan.modify == {}
    assert (plan.before["num_cache_clusters"], plan.after["num_cache_clusters"]) == (3, clusters)


def test_log_deliveries_added_changed_and_disabled():
    engine_log = {"log_type": "engine-log", "destination_type": "kinesis-firehose", "destination": "loyalty-engine-log", "log_format": "json"}
    plan = rg.plan_update(NAME, observed(), params(log_delivery_configurations=[dict(SLOW_LOG, log_format="json"), engine_log]))
    assert plan.changes == ["log_delivery_configurations"]
    assert plan.modify["LogDeliveryConfigurations"] == [
        {"LogType": "engine-log", "DestinationType": "kinesis-firehose",
         "DestinationDetails": {"KinesisFirehoseDetails": {"DeliveryStream": "loyalty-engine-log"}}, "LogFormat": "json", "Enabled": True},
        {"LogType": "slow-log", "DestinationType": "cloudwatch-logs",
         "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": "/aws/elasticache/loyalty-production/slow-log"}}, "LogFormat": "json", "Enabled": True},
    ]
    plan = rg.plan_update(NAME, observed(), params(log_delivery_configurations=[]))
    assert plan.modify["LogDeliveryConfigurations"] == [{"LogType": "slow-log", "Enabled": False}]
    assert (plan.before["log_delivery_configurations"], plan.after["log_delivery_configurations"]) == ([SLOW_LOG], [])


def test_a_log_delivery_being_disabled_counts_as_gone():
    group = described_group()
    group["LogDeliveryConfigurations"][0]["Status"] = "disabling"
    assert rg.plan_update(NAME, observed(group=group), params(log_delivery_configurations=[])).changes == []


@pytest.mark.parametrize("field, value, current", [
    ("at_rest_encryption_enabled", False, "true"),
    ("transit_encryption_enabled", False, "true"),
    ("port", 6380, "6379"),
    ("engine", "valkey", "redis"),
    ("cache_subnet_group_name", "other-subnets", "loyalty-production"),
])
def test_immutable_settings_are_refused_with_the_fix(field, value, current):
    task = params(**{field: value})
    if field == "transit_encryption_enabled":
        task["auth_token"] = None
    with pytest.raises(ElastiCacheError) as caught:
        rg.plan_update(NAME, observed(), task)
    assert caught.value.msg == ("replication group loyalty-production: %s cannot be changed in place (it is %s, the task wants %s); to change it, "
                                "recreate the group: run the task with state=absent, then with state=present (its data is lost unless restored "
                                "from a snapshot)" % (field, current, rg.text(value)))
    assert caught.value.details["refused"] == [field]


def test_every_immutable_difference_is_named_at_once():
    with pytest.raises(ElastiCacheError) as caught:
        rg.plan_update(NAME, observed(), params(port=6380, at_rest_encryption_enabled=False, node_type="cache.r6g.xlarge"))
    assert caught.value.details["refused"] == ["port", "at_rest_encryption_enabled"]


def test_a_setting_that_cannot_be_read_is_not_guessed():
    with pytest.raises(ElastiCacheError) as caught:
        rg.plan_update(NAME, observed(member=None), params())
    assert caught.value.details["unreadable"] == ["engine_version", "cache_parameter_group_name", "cache_subnet_group_name", "security_group_ids"]
    assert caught.value.msg.startswith("replication group loyalty-production (status available): cannot compare engine_version, ")
    assert "none of them (loyalty-production-001, loyalty-production-002, loyalty-production-003) could be described" in caught.value.msg
    # A task that sets none of them is compared from the group alone.
    task = params(engine_version=None, cache_parameter_group_name=None, cache_subnet_group_name=None, security_group_ids=None)
    assert rg.plan_update(NAME, observed(member=None), task).changes == []


def test_cluster_mode_enabled_groups_are_refused():
    with pytest.raises(ElastiCacheError, match="has cluster mode enabled"):
        rg.plan_update(NAME, observed(group=described_group(ClusterEnabled=True, ClusterMode="enabled")), params())


@pytest.mark.parametrize("update, strategy", [("rotate", "ROTATE"), ("set", "SET")])
def test_a_token_update_is_always_sent_and_never_shown(update, strategy):
    plan = rg.plan_update(NAME, observed(), params(auth_token_update=update))
    assert plan.changes == ["auth_token"]
    assert plan.modify == {"AuthToken": TOKEN, "AuthTokenUpdateStrategy": strategy}
    assert TOKEN not in repr(plan.before) + repr(plan.after) + repr(plan.changes)
    assert plan.before["auth_token"] == "(set, not readable)"


def test_a_token_on_create_is_not_compared_but_a_group_without_one_is_reported():
    assert rg.plan_update(NAME, observed(), params()).warnings == []
    plan = rg.plan_update(NAME, observed(group=described_group(AuthTokenEnabled=False)), params())
    assert plan.changes == []
    assert plan.warnings == ["replication group loyalty-production has no AUTH token, and auth_token is only used to create a group with "
                             "auth_token_update=on_create; use auth_token_update=rotate to add it"]


def test_tags_follow_purge_tags():
    current = {"Project": "loyalty", "Owner": "platform", "aws:cloudformation:stack-name": "x"}
    plan = rg.plan_update(NAME, observed(tags=current), params(tags={"Project": "loyalty", "Environment": "production"}))
    assert plan.changes == ["tags"]
    assert plan.tags_to_add == {"Environment": "production"} and plan.tags_to_remove == ["Owner"]
    assert plan.after["tags"] == {"Project": "loyalty", "Environment": "production", "aws:cloudformation:stack-name": "x"}
    plan = rg.plan_update(NAME, observed(tags=current), params(tags={"Environment": "production"}, purge_tags=False))
    assert plan.tags_to_remove == [] and plan.tags_to_add == {"Environment": "production"}
    assert rg.plan_update(NAME, observed(tags=current), params(tags=None)).changes == []


def test_the_create_request_of_the_reference():
    request = rg.create_request(NAME, params(security_group_ids=["sg-b", "sg-a"]))
    assert request == {
        "ReplicationGroupId": NAME, "ReplicationGroupDescription": "Redis cluster for loyalty production", "Engine": "redis", "Port": 6379,
        "EngineVersion": "7.1", "CacheNodeType": "cache.r6g.large", "NumCacheClusters": 3, "CacheParameterGroupName": "default.redis7",
        "CacheSubnetGroupName": "loyalty-production", "SecurityGroupIds": ["sg-a", "sg-b"], "AtRestEncryptionEnabled": True,
        "TransitEncryptionEnabled": True, "AuthToken": TOKEN, "AutomaticFailoverEnabled": True, "MultiAZEnabled": True,
        "LogDeliveryConfigurations": [{"LogType": "slow-log", "DestinationType": "cloudwatch-logs",
                                       "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": "/aws/elasticache/loyalty-production/slow-log"}},
                                       "LogFormat": "text", "Enabled": True}],
        "Tags": [{"Key": "Project", "Value": "loyalty"}],
    }


def test_a_creation_needs_a_description_and_a_possible_topology():
    with pytest.raises(ElastiCacheError, match="does not exist, and creating it needs a description"):
        rg.plan_create(NAME, params(description=None))
    with pytest.raises(ElastiCacheError) as caught:
        rg.plan_create(NAME, params(num_cache_clusters=None, multi_az_enabled=None))
    assert "automatic_failover_enabled=true needs at least 2 cache clusters" in caught.value.msg
    assert "num_cache_clusters defaults to 1" in caught.value.msg
    diff = rg.plan_create(NAME, params())
    assert diff["before"] == {} and diff["after"]["num_cache_clusters"] == 3 and diff["after"]["auth_token"] == "(set)"
    assert TOKEN not in repr(diff)


def test_the_result_is_the_snake_cased_description_with_member_settings():
    result = rg.group_result(observed())
    assert result["replication_group_id"] == NAME and result["status"] == "available"
    assert result["primary_endpoint"] == {"address": "master.%s.abc123.usw2.cache.amazonaws.com" % NAME, "port": 6379}
    assert result["reader_endpoint"]["address"].startswith("replica.")
    assert result["member_clusters"] == ["%s-001" % NAME, "%s-002" % NAME, "%s-003" % NAME]
    assert result["node_groups"][0]["primary_endpoint"]["port"] == 6379
    assert (result["engine_version"], result["security_group_ids"], result["num_cache_clusters"]) == ("7.1.0", ["sg-0123456789abcdef0"], 3)
    assert result["multi_az"] == "enabled" and result["arn"].endswith(NAME)
    assert result["log_delivery_configurations"][0]["destination_details"]["cloud_watch_logs_details"]["log_group"].endswith("slow-log")
    assert result["tags"] == {"Project": "loyalty"}
    unread = rg.group_result(observed(member=None))
    assert unread["engine_version"] is None and unread["security_group_ids"] is None


def test_tag_keys_are_not_snake_cased():
    assert rg.group_result(observed(tags={"CostCenter": "Loyalty"}))["tags"] == {"CostCenter": "Loyalty"}


def test_the_plan_does_not_change_what_it_read():
    seen = observed()
    before = copy.deepcopy((seen.group, seen.member, seen.tags))
    rg.plan_update(NAME, seen, params(node_type="cache.r6g.xlarge", tags={"Other": "x"}, log_delivery_configurations=[]))
    assert (seen.group, seen.member, seen.tags) == before

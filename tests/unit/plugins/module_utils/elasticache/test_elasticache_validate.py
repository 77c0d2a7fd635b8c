"""Unit tests of plugins/module_utils/elasticache/validate.py: what is refused before any AWS call, and how it is named."""

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.elasticache.validate import (
    ElastiCacheError, auth_token_problem, group_id_problem, problems, topology_problems, validate,
)

TOKEN = "Loyalty-redis-token-0123456789abcdef"


def params(**overrides):
    """The module's parameters for the production group of the Terraform reference, as Ansible hands them over."""
    values = {
        "replication_group_id": "loyalty-production",
        "state": "present",
        "description": "Redis cluster for loyalty production",
        "engine": "redis",
        "engine_version": "7.1",
        "node_type": "cache.r6g.large",
        "num_cache_clusters": 3,
        "port": 6379,
        "cache_parameter_group_name": "default.redis7",
        "cache_subnet_group_name": "loyalty-production",
        "security_group_ids": ["sg-0123456789abcdef0"],
        "at_rest_encryption_enabled": True,
        "transit_encryption_enabled": True,
        "auth_token": TOKEN,
        "auth_token_update": "on_create",
        "automatic_failover_enabled": True,
        "multi_az_enabled": True,
        "snapshot_retention_limit": None,
        "preferred_maintenance_window": None,
        "log_delivery_configurations": [{"log_type": "slow-log", "destination_type": "cloudwatch-logs",
                                         "destination": "/aws/elasticache/loyalty-production/slow-log", "log_format": "text"}],
        "final_snapshot_identifier": None,
        "apply_immediately": True,
        "wait": True,
        "wait_timeout": 1800,
        "tags": {"Project": "loyalty"},
        "purge_tags": True,
    }
    values.update(overrides)
    return values


def test_the_reference_production_group_passes():
    assert problems(params()) == []
    validate(params())


def test_a_minimal_task_passes():
    assert problems({"replication_group_id": "cache", "state": "present", "port": 6379, "wait_timeout": 1800}) == []


@pytest.mark.parametrize("token", [
    "a" * 16, "b" * 128, "Abc-123!&#$^<>xyz", "0123456789ABCDEFabcdef", "----------------",
])
def test_tokens_elasticache_accepts(token):
    assert auth_token_problem(token) is None


ALLOWED = "besides ASCII letters and digits, ElastiCache takes only ! & # $ ^ < > - in an AUTH token"


@pytest.mark.parametrize("token, expected", [
    ("a" * 15, "auth_token must have 16 to 128 characters, not 15"),
    ("a" * 129, "auth_token must have 16 to 128 characters, not 129"),
    ("", "auth_token must have 16 to 128 characters, not 0"),
    ("has-an@sign-inside-it", "auth_token holds @ (character 7): " + ALLOWED),
    ('has-a"quote-inside-it', 'auth_token holds " (character 6)'),
    ("has-a/slash-inside-it", "auth_token holds / (character 6)"),
    ("has-a%percent-inside", "auth_token holds % (character 6)"),
    ("under_score_is_refused", "auth_token holds _ (character 6)"),
    ("has a space inside it", "auth_token has a space, a control or a non-ASCII character (U+0020, character 4): " + ALLOWED),
    ("has-a-tab\tinside-it", "U+0009, character 10"),
    ("non-ascii-caf\u00e9-token", "U+00E9, character 14"),
    ("full-width-\uff21-letter", "U+FF21, character 12"),
])
def test_tokens_elasticache_refuses_are_named_without_the_token(token, expected):
    problem = auth_token_problem(token)
    assert problem is not None and expected in problem
    assert problem.startswith("auth_token ")
    if token:
        assert token not in problem


def test_a_bad_token_is_refused_with_the_option_named_and_never_quoted():
    bad = "short@token"
    with pytest.raises(ElastiCacheError) as caught:
        validate(params(auth_token=bad))
    assert "auth_token must have 16 to 128 characters, not 11" in caught.value.msg
    assert bad not in caught.value.msg and bad not in str(caught.value.details)


@pytest.mark.parametrize("transit", [False, None])
def test_a_token_needs_transit_encryption(transit):
    found = problems(params(transit_encryption_enabled=transit))
    assert found == ["auth_token needs transit_encryption_enabled=true: ElastiCache accepts an AUTH token only with in-transit encryption"]


def test_no_token_needs_no_transit_encryption():
    assert problems(params(auth_token=None, transit_encryption_enabled=False)) == []


@pytest.mark.parametrize("update", ["rotate", "set"])
def test_a_token_update_needs_a_token_and_applying_immediately(update):
    found = problems(params(auth_token=None, auth_token_update=update, apply_immediately=False))
    assert "auth_token_update=%s needs auth_token, the new token" % update in found
    assert any(item.startswith("auth_token_update=%s needs apply_immediately=true" % update) for item in found)


@pytest.mark.parametrize("clusters", [0, 7, -1])
def test_cache_cluster_count_is_one_to_six(clusters):
    assert "num_cache_clusters=%d must be between 1 and 6 (one primary and up to 5 replicas)" % clusters in problems(
        params(num_cache_clusters=clusters, automatic_failover_enabled=False, multi_az_enabled=False))


def test_failover_needs_two_cache_clusters():
    found = problems(params(num_cache_clusters=1, multi_az_enabled=False))
    assert found == ["automatic_failover_enabled=true needs at least 2 cache clusters (a primary and a replica to promote); "
                     "num_cache_clusters is 1"]


def test_multi_az_needs_failover_and_two_cache_clusters():
    assert problems(params(automatic_failover_enabled=False)) == ["multi_az_enabled=true needs automatic_failover_enabled=true"]
    found = problems(params(automatic_failover_enabled=False, num_cache_clusters=1))
    assert found == ["multi_az_enabled=true needs automatic_failover_enabled=true",
                     "multi_az_enabled=true needs at least 2 cache clusters; num_cache_clusters is 1"]


def test_topology_left_to_the_group_is_not_judged_here():
    """Options the task leaves out keep the group's value, checked once the group is read."""
    assert problems(params(automatic_failover_enabled=None, num_cache_clusters=None)) == []
    assert topology_problems(None, None, True) == []
    assert topology_problems(1, None, True) == ["multi_az_enabled=true needs at least 2 cache clusters; num_cache_clusters is 1"]


@pytest.mark.parametrize("name", ["loyalty-production", "a", "Loyalty-Production", "r" + "1" * 39])
def test_valid_group_ids(name):
    assert problems(params(replication_group_id=name)) == []


@pytest.mark.parametrize("name", ["1loyalty", "loyalty-", "loyalty--production", "loyalty_production", "", "r" * 41, "loyalty.prod"])
def test_invalid_group_ids(name):
    problem = group_id_problem(name.lower())
    assert problem is not None and problem.startswith("replication_group_id")
    assert problem in problems(params(replication_group_id=name))


@pytest.mark.parametrize("window, ok", [
    ("sun:05:00-sun:06:00", True), ("Mon:23:30-Tue:00:30", True), ("sun:24:00-sun:25:00", False), ("sunday 5-6", False), ("sun:5:00-sun:6:00", False),
])
def test_maintenance_window(window, ok):
    found = problems(params(preferred_maintenance_window=window))
    assert (found == []) == ok
    if not ok:
        assert found[0].startswith("preferred_maintenance_window=%s is not ddd:hh24:mi-ddd:hh24:mi" % window)


def test_numbers_out_of_range():
    found = problems(params(port=70000, snapshot_retention_limit=36, wait_timeout=0))
    assert "port=70000 is not a TCP port (1 to 65535)" in found
    assert "snapshot_retention_limit=36 must be between 0 (no automatic backups) and 35 days" in found
    assert "wait_timeout=0 must be at least 1 second" in found


def test_log_deliveries():
    entry = {"log_type": "slow-log", "destination_type": "cloudwatch-logs", "destination": "group", "log_format": "text"}
    found = problems(params(log_delivery_configurations=[entry, dict(entry, destination=" ")]))
    assert found == ["log_delivery_configurations lists log_type=slow-log twice; ElastiCache takes one destination per log type",
                     "log_delivery_configurations: the slow-log entry needs a destination (a CloudWatch Logs group name or a Kinesis Data "
                     "Firehose delivery stream)"]
    assert problems(params(log_delivery_configurations=[])) == []


def test_names_that_are_not_what_aws_expects():
    found = problems(params(node_type="r6g.large", security_group_ids=["loyalty-redis"], description=" "))
    assert "node_type=r6g.large is not an ElastiCache node type (they begin with cache., for example cache.r6g.large)" in found
    assert "security_group_ids: loyalty-redis is not a VPC security group id (sg-...)" in found
    assert "description must not be empty" in found


def test_absent_checks_only_the_id_and_the_timeout():
    assert problems(params(state="absent", auth_token="x", num_cache_clusters=9)) == []
    assert problems(params(state="absent", replication_group_id="-bad", wait_timeout=0))[1] == "wait_timeout=0 must be at least 1 second"


def test_every_problem_is_reported_at_once():
    with pytest.raises(ElastiCacheError) as caught:
        validate(params(num_cache_clusters=9, port=0, auth_token="x" * 10))
    assert len(caught.value.details["problems"]) == 3
    assert caught.value.msg == "; ".join(caught.value.details["problems"])

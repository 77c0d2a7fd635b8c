"""The aws_infra input checks: the guide's production values pass; each fault AWS would reject is named."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.loyalty.platform.plugins.module_utils.aws_infra.validate import problems

ALLOWED = {
    "eks_versions": ["1.32", "1.33", "1.34"],
    "node_instance_types": ["t3.large", "t3.xlarge", "m6i.large"],
    "db_instance_classes": ["db.r6g.large", "db.r6g.xlarge", "db.t4g.medium"],
    "redis_node_types": ["cache.r6g.large", "cache.t4g.small"],
}
WHERE = "inventories/production/group_vars/all/aws_infra.yml"
VAULT = "inventories/production/group_vars/all/vault.yml"
GUIDE = {
    "aws_infra_region": "us-west-2",
    "aws_infra_vpc_cidr": "10.0.0.0/16",
    "aws_infra_availability_zones": ["us-west-2a", "us-west-2b", "us-west-2c"],
    "aws_infra_private_subnet_cidrs": ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"],
    "aws_infra_public_subnet_cidrs": ["10.0.101.0/24", "10.0.102.0/24", "10.0.103.0/24"],
    "aws_infra_eks_version": "1.34",
    "aws_infra_node_instance_types": ["t3.large"],
    "aws_infra_node_min_size": 3,
    "aws_infra_node_desired_size": 6,
    "aws_infra_node_max_size": 12,
    "aws_infra_db_instance_class": "db.r6g.xlarge",
    "aws_infra_db_allocated_storage": 100,
    "aws_infra_db_max_allocated_storage": 1000,
    "aws_infra_db_backup_retention_days": 7,
    "aws_infra_db_username": "loyalty_admin",
    "aws_infra_db_master_password": "Sup3r-secret_master",
    "aws_infra_redis_node_type": "cache.r6g.large",
    "aws_infra_redis_num_cache_clusters": 3,
    "aws_infra_redis_automatic_failover": True,
    "aws_infra_redis_multi_az": True,
    "aws_infra_redis_auth_token": "a-redis-auth-token-of-32-chars!&#$^<>",
}


def check(**changes):
    values = copy.deepcopy(GUIDE)
    values.update(changes)
    return problems(values, ALLOWED, WHERE, VAULT)


def test_the_guides_production_values_pass():
    assert check() == []


@pytest.mark.parametrize("changes, variable, words", [
    ({"aws_infra_availability_zones": ["us-west-2a", "us-west-2b"]}, "aws_infra_private_subnet_cidrs", "only 2 zones"),
    ({"aws_infra_availability_zones": ["us-east-1a", "us-west-2b", "us-west-2c"]}, "aws_infra_availability_zones", "'us-east-1a'"),
    ({"aws_infra_availability_zones": ["us-west-2a", "us-west-2a", "us-west-2c"]}, "aws_infra_availability_zones", "twice"),
    ({"aws_infra_private_subnet_cidrs": ["10.0.1.0/24", "10.1.2.0/24", "10.0.3.0/24"]}, "aws_infra_private_subnet_cidrs", "outside aws_infra_vpc_cidr"),
    ({"aws_infra_public_subnet_cidrs": ["10.0.101.0/24", "10.0.0.0/22", "10.0.103.0/24"]},
     "aws_infra_private_subnet_cidrs", "overlaps 10.0.0.0/22 of aws_infra_public_subnet_cidrs"),
    ({"aws_infra_private_subnet_cidrs": ["10.0.1.0/24", "10.0.1.128/25", "10.0.3.0/24"]}, "aws_infra_private_subnet_cidrs", "overlaps 10.0.1.0/24"),
    ({"aws_infra_private_subnet_cidrs": ["10.0.1.5/24", "10.0.2.0/24", "10.0.3.0/24"]}, "aws_infra_private_subnet_cidrs", "not an IPv4 network"),
    ({"aws_infra_vpc_cidr": "10.0.0.0/8"}, "aws_infra_vpc_cidr", "between /16 and /28"),
    ({"aws_infra_vpc_cidr": "banana"}, "aws_infra_vpc_cidr", "not an IPv4 network"),
    ({"aws_infra_eks_version": "1.28"}, "aws_infra_eks_version", "does not offer"),
    ({"aws_infra_node_instance_types": ["t2.micro"]}, "aws_infra_node_instance_types", "'t2.micro'"),
    ({"aws_infra_node_desired_size": 20}, "aws_infra_node_desired_size", "between aws_infra_node_min_size"),
    ({"aws_infra_node_max_size": "many"}, "aws_infra_node_max_size", "not a whole number"),
    ({"aws_infra_db_instance_class": "db.x1e.32xlarge"}, "aws_infra_db_instance_class", "choose one of"),
    ({"aws_infra_db_max_allocated_storage": 105}, "aws_infra_db_max_allocated_storage", "10% above"),
    ({"aws_infra_db_allocated_storage": 10}, "aws_infra_db_allocated_storage", "between 20 and 65536"),
    ({"aws_infra_db_backup_retention_days": 40}, "aws_infra_db_backup_retention_days", "between 0 and 35"),
    ({"aws_infra_db_username": "postgres"}, "aws_infra_db_username", "reserves"),
    ({"aws_infra_db_username": "1admin"}, "aws_infra_db_username", "start with a letter"),
    ({"aws_infra_redis_node_type": "cache.m1.small"}, "aws_infra_redis_node_type", "choose one of"),
    ({"aws_infra_redis_num_cache_clusters": 7}, "aws_infra_redis_num_cache_clusters", "between 1 and 6"),
    ({"aws_infra_redis_num_cache_clusters": 1}, "aws_infra_redis_automatic_failover", "at least 2"),
    ({"aws_infra_redis_automatic_failover": False}, "aws_infra_redis_multi_az", "automatic_failover"),
])
def test_each_fault_names_its_variable_and_the_file(changes, variable, words):
    found = check(**changes)
    assert found, "no problem found for %r" % changes
    assert any(message.startswith(variable + " ") and words in message and WHERE in message for message in found), found


@pytest.mark.parametrize("secret, source, value, words", [
    ("aws_infra_db_master_password", "vault_loyalty_db_master_password", "", "empty or missing"),
    ("aws_infra_db_master_password", "vault_loyalty_db_master_password", "<database password>", "placeholder"),
    ("aws_infra_db_master_password", "vault_loyalty_db_master_password", "short", "8 to 128"),
    ("aws_infra_db_master_password", "vault_loyalty_db_master_password", "has a space in it", "rejects"),
    ("aws_infra_db_master_password", "vault_loyalty_db_master_password", "with@sign-12345", "rejects"),
    ("aws_infra_redis_auth_token", "vault_loyalty_redis_password", "fifteen-chars!!", "16 to 128"),
    ("aws_infra_redis_auth_token", "vault_loyalty_redis_password", "x" * 129, "16 to 128"),
    ("aws_infra_redis_auth_token", "vault_loyalty_redis_password", "a/slash/in/the/token", "rejects"),
    ("aws_infra_redis_auth_token", "vault_loyalty_redis_password", "tab\tinside-the-token", "rejects"),
    ("aws_infra_redis_auth_token", "vault_loyalty_redis_password", "an_underscore_in_the_token", "rejects"),
    ("aws_infra_redis_auth_token", "vault_loyalty_redis_password", "percent%in-the-token", "rejects"),
])
def test_a_bad_secret_names_the_vault_key_and_never_its_value(secret, source, value, words):
    found = check(**{secret: value})
    assert len(found) == 1, found
    assert found[0].startswith(secret) and source in found[0] and VAULT in found[0] and words in found[0]
    if value:
        assert value not in found[0]


def test_every_problem_is_reported_at_once():
    found = check(aws_infra_eks_version="1.20", aws_infra_db_master_password="", aws_infra_redis_num_cache_clusters=0)
    assert [message.split()[0] for message in found] == [
        "aws_infra_eks_version", "aws_infra_db_master_password", "aws_infra_redis_num_cache_clusters"]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=16, max_value=24), st.integers(min_value=1, max_value=8), st.data())
def test_subnets_carved_from_the_vpc_never_conflict(prefix, count, data):
    """Any set of distinct subnets of the VPC, one per zone, passes; moving one outside the VPC fails."""
    import ipaddress  # pylint: disable=import-outside-toplevel

    vpc = ipaddress.ip_network("10.%d.0.0/%d" % (data.draw(st.integers(0, 255)), prefix), strict=False)
    size = data.draw(st.integers(min_value=max(prefix + 4, 20), max_value=28))
    pool = list(vpc.subnets(new_prefix=size))
    chosen = data.draw(st.lists(st.sampled_from(pool), min_size=2 * count, max_size=2 * count, unique=True))
    zones = ["us-west-2" + chr(ord("a") + index) for index in range(count)]
    values = {"aws_infra_vpc_cidr": str(vpc), "aws_infra_availability_zones": zones,
              "aws_infra_public_subnet_cidrs": [str(net) for net in chosen[:count]],
              "aws_infra_private_subnet_cidrs": [str(net) for net in chosen[count:]]}
    assert check(**values) == []
    outside = str(next(ipaddress.ip_network("172.16.0.0/12").subnets(new_prefix=size)))
    values["aws_infra_private_subnet_cidrs"] = [outside] + values["aws_infra_private_subnet_cidrs"][1:]
    assert any("outside aws_infra_vpc_cidr" in message for message in check(**values))

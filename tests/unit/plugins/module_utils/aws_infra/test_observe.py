"""The one-pass read of an environment: what counts as in sync, what does not, and that doubt means "run the task".

A fake client answers each read from one table (an environment exactly as wanted); each test spoils one answer.
"""

import copy
import json

import botocore.exceptions
import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.common import AwsGapError
from ansible_collections.loyalty.platform.plugins.module_utils.aws_infra.observe import expand, observe

NAME = "shop-staging"
TAGS = {"Project": "shop", "Environment": "staging", "ManagedBy": "ansible", "Owner": "platform-team"}
ACCOUNT = "123456789012"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
SECRET = {"password": "s3cr3t-Passw0rd-value"}


def tag_list(tags):
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def wanted():
    return {
        "name": NAME, "tags": TAGS,
        "vpc": {"cidr": "10.1.0.0/16", "tags": dict(TAGS, Name=NAME)},
        "public_subnets": {"cidrs": ["10.1.101.0/24"], "zones": ["us-west-2a"], "name_prefix": NAME + "-public-", "tags": dict(TAGS, Tier="public")},
        "private_subnets": {"cidrs": ["10.1.1.0/24"], "zones": ["us-west-2a"], "name_prefix": NAME + "-private-", "tags": dict(TAGS, Tier="private")},
        "internet_gateway_tags": dict(TAGS, Name=NAME),
        "nat_gateways": {"cidrs": ["10.1.101.0/24"], "zones": ["us-west-2a"], "name_prefix": NAME + "-", "tags": TAGS},
        "public_route_table": {"tags": dict(TAGS, Name=NAME + "-public"), "subnet_cidrs": ["10.1.101.0/24"]},
        "private_route_tables": {"cidrs": ["10.1.1.0/24"], "zones": ["us-west-2a"], "name_prefix": NAME + "-private-", "tags": TAGS,
                                 "nat_per_zone": False},
        "log_groups": {"eks_log_group": {"name": "/aws/eks/%s/cluster" % NAME, "retention": 14}},
        "roles": {"eks_cluster_role": {"name": NAME + "-eks-cluster", "trust_policy": TRUST, "description": "EKS of " + NAME,
                                       "managed_policies": ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]}},
        "role_policies": {},
        "flow_log": {"role": "eks_cluster_role", "traffic_type": "ALL", "log_group_name": "/aws/eks/%s/cluster" % NAME,
                     "max_aggregation_interval": 60, "tags": dict(TAGS, Name=NAME)},
        "eks": {"name": NAME, "version": "1.34", "subnet_cidrs": ["10.1.1.0/24"], "log_types": ["api", "audit"]},
        "nodegroup": {"name": NAME + "-main", "role": "eks_cluster_role", "instance_types": ["t3.large"], "disk_size": 50,
                      "ami_type": "BOTTLEROCKET_x86_64", "min_size": 1,
                      "max_size": 3, "desired_size": 2, "max_unavailable": 1, "labels": {"NodeGroup": "main"}},
        "security_groups": {"db_security_group": {"name": NAME + "-rds", "port": 5432, "rule_description": "PostgreSQL from the EKS nodes",
                                                  "tags": dict(TAGS, Name=NAME + "-rds")},
                            "redis_security_group": {"name": NAME + "-redis", "port": 6379, "rule_description": "Redis from the EKS nodes",
                                                     "tags": dict(TAGS, Name=NAME + "-redis")}},
        "database": {"identifier": NAME, "subnet_group_description": "Private subnets", "subnet_cidrs": ["10.1.1.0/24"], "engine_version": "15.12",
                     "instance_class": "db.t4g.medium", "allocated_storage": 20, "max_allocated_storage": 100, "db_name": "loyalty",
                     "username": "admin_user", "port": 5432, "backup_retention": 1, "backup_window": "03:00-04:00",
                     "maintenance_window": "sun:04:00-sun:05:00", "deletion_protection": False, "performance_insights": True,
                     "monitoring_interval": 60, "monitoring_role": "eks_cluster_role", "tags": dict(TAGS, Name=NAME + "-db")},
        "redis": {"subnet_group": NAME, "subnet_group_description": "Private subnets", "subnet_cidrs": ["10.1.1.0/24"], "params": {
            "replication_group_id": NAME, "description": "Redis", "engine": "redis", "engine_version": "7.1", "node_type": "cache.t4g.small",
            "num_cache_clusters": 1, "port": 6379, "cache_parameter_group_name": "default.redis7", "cache_subnet_group_name": NAME,
            "at_rest_encryption_enabled": True, "transit_encryption_enabled": True, "auth_token_update": "on_create",
            "automatic_failover_enabled": False, "multi_az_enabled": False, "log_delivery_configurations": [], "tags": TAGS, "purge_tags": False}},
        "secrets": {"db_secret": {"name": NAME + "/database", "description": "PostgreSQL", "host_of": "database", "value": {"port": 5432}}},
    }


ROLE_ARN = "arn:aws:iam::%s:role/%s-eks-cluster" % (ACCOUNT, NAME)
LOG_GROUP_ARN = "arn:aws:logs:us-west-2:%s:log-group:/aws/eks/%s/cluster" % (ACCOUNT, NAME)


def answers():
    """Every read of an environment exactly as wanted()."""
    route = [{"DestinationCidrBlock": "10.1.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"}]
    return {
        ("ec2", "describe_vpcs"): {"Vpcs": [{"VpcId": "vpc-1", "Tags": tag_list(dict(TAGS, Name=NAME))}]},
        ("ec2", "describe_vpc_attribute", "enableDnsSupport"): {"EnableDnsSupport": {"Value": True}},
        ("ec2", "describe_vpc_attribute", "enableDnsHostnames"): {"EnableDnsHostnames": {"Value": True}},
        ("ec2", "describe_subnets"): {"Subnets": [
            {"SubnetId": "subnet-pub", "CidrBlock": "10.1.101.0/24", "AvailabilityZone": "us-west-2a", "MapPublicIpOnLaunch": True,
             "State": "available", "Tags": tag_list(dict(TAGS, Tier="public", Name=NAME + "-public-us-west-2a"))},
            {"SubnetId": "subnet-priv", "CidrBlock": "10.1.1.0/24", "AvailabilityZone": "us-west-2a", "MapPublicIpOnLaunch": False,
             "State": "available", "Tags": tag_list(dict(TAGS, Tier="private", Name=NAME + "-private-us-west-2a"))}]},
        ("ec2", "describe_internet_gateways"): {"InternetGateways": [{"InternetGatewayId": "igw-1", "Tags": tag_list(dict(TAGS, Name=NAME))}]},
        ("ec2", "describe_nat_gateways"): {"NatGateways": [{"NatGatewayId": "nat-1", "SubnetId": "subnet-pub", "State": "available",
                                                            "Tags": tag_list(dict(TAGS, Name=NAME + "-us-west-2a"))}]},
        ("ec2", "describe_route_tables"): {"RouteTables": [
            {"RouteTableId": "rtb-main", "Associations": [{"Main": True}], "Routes": route, "Tags": []},
            {"RouteTableId": "rtb-pub", "Tags": tag_list(dict(TAGS, Name=NAME + "-public")), "Associations": [{"SubnetId": "subnet-pub"}],
             "Routes": route + [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"}]},
            {"RouteTableId": "rtb-priv", "Tags": tag_list(dict(TAGS, Name=NAME + "-private-us-west-2a")), "Associations": [{"SubnetId": "subnet-priv"}],
             "Routes": route + [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "active"}]}]},
        ("logs", "describe_log_groups"): {"logGroups": [{"logGroupName": "/aws/eks/%s/cluster" % NAME, "retentionInDays": 14, "arn": LOG_GROUP_ARN + ":*"}]},
        ("logs", "list_tags_for_resource"): {"tags": dict(TAGS)},
        ("iam", "get_role"): {"Role": {"Arn": ROLE_ARN, "Path": "/", "Description": "EKS of " + NAME, "AssumeRolePolicyDocument": TRUST,
                                       "Tags": tag_list(TAGS)}},
        ("iam", "list_attached_role_policies"): {"AttachedPolicies": [{"PolicyArn": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}]},
        ("ec2", "describe_flow_logs"): {"FlowLogs": [{
            "FlowLogId": "fl-1", "ResourceId": "vpc-1", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": "/aws/eks/%s/cluster" % NAME, "DeliverLogsPermissionArn": ROLE_ARN, "MaxAggregationInterval": 60,
            "Tags": tag_list(dict(TAGS, Name=NAME))}]},
        ("eks", "describe_cluster"): {"cluster": {
            "name": NAME, "status": "ACTIVE", "version": "1.34", "endpoint": "https://eks", "certificateAuthority": {"data": "Q0E="},
            "resourcesVpcConfig": {"subnetIds": ["subnet-priv"], "securityGroupIds": [], "clusterSecurityGroupId": "sg-eks"},
            "logging": {"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]}}},
        ("eks", "describe_nodegroup"): {"nodegroup": {
            "status": "ACTIVE", "nodeRole": ROLE_ARN, "subnets": ["subnet-priv"], "instanceTypes": ["t3.large"], "diskSize": 50,
            "amiType": "BOTTLEROCKET_x86_64",
            "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 2}, "updateConfig": {"maxUnavailable": 1},
            "labels": {"NodeGroup": "main"}, "tags": dict(TAGS)}},
        ("ec2", "describe_security_groups"): {"SecurityGroups": [
            {"GroupId": "sg-rds", "GroupName": NAME + "-rds", "Tags": tag_list(dict(TAGS, Name=NAME + "-rds")), "IpPermissionsEgress": [],
             "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [],
                                "UserIdGroupPairs": [{"GroupId": "sg-eks", "Description": "PostgreSQL from the EKS nodes"}]}]},
            {"GroupId": "sg-redis", "GroupName": NAME + "-redis", "Tags": tag_list(dict(TAGS, Name=NAME + "-redis")), "IpPermissionsEgress": [],
             "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379,
                                "UserIdGroupPairs": [{"GroupId": "sg-eks", "Description": "Redis from the EKS nodes"}]}]}]},
        ("rds", "describe_db_instances"): {"DBInstances": [{
            "DBInstanceStatus": "available", "Engine": "postgres", "EngineVersion": "15.12", "DBInstanceClass": "db.t4g.medium", "AllocatedStorage": 20,
            "MaxAllocatedStorage": 100, "StorageType": "gp3", "StorageEncrypted": True, "DBName": "loyalty", "MasterUsername": "admin_user",
            "Endpoint": {"Address": "db.example", "Port": 5432}, "PubliclyAccessible": False, "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-rds"}],
            "DBSubnetGroup": {"DBSubnetGroupName": NAME, "DBSubnetGroupDescription": "Private subnets", "DBSubnetGroupArn": "arn:subgrp",
                              "Subnets": [{"SubnetIdentifier": "subnet-priv"}]},
            "BackupRetentionPeriod": 1, "PreferredBackupWindow": "03:00-04:00", "PreferredMaintenanceWindow": "sun:04:00-sun:05:00",
            "DeletionProtection": False, "CopyTagsToSnapshot": True, "PerformanceInsightsEnabled": True, "MonitoringInterval": 60,
            "MonitoringRoleArn": ROLE_ARN, "AutoMinorVersionUpgrade": True, "PendingModifiedValues": {}, "TagList": tag_list(dict(TAGS, Name=NAME + "-db"))}]},
        ("rds", "list_tags_for_resource"): {"TagList": tag_list(TAGS)},
        ("elasticache", "describe_cache_subnet_groups"): {"CacheSubnetGroups": [{"CacheSubnetGroupDescription": "Private subnets",
                                                                                 "Subnets": [{"SubnetIdentifier": "subnet-priv"}]}]},
        ("elasticache", "describe_replication_groups"): {"ReplicationGroups": [{
            "ReplicationGroupId": NAME, "ARN": "arn:rg", "Status": "available", "Description": "Redis", "Engine": "redis", "CacheNodeType": "cache.t4g.small",
            "MemberClusters": [NAME + "-001"], "AtRestEncryptionEnabled": True, "TransitEncryptionEnabled": True, "AuthTokenEnabled": True,
            "AutomaticFailover": "disabled", "MultiAZ": "disabled", "ClusterEnabled": False,
            "NodeGroups": [{"PrimaryEndpoint": {"Address": "master.redis", "Port": 6379}, "ReaderEndpoint": {"Address": "replica.redis", "Port": 6379},
                            "NodeGroupMembers": [{"CacheClusterId": NAME + "-001", "CurrentRole": "primary"}]}]}]},
        ("elasticache", "describe_cache_clusters"): {"CacheClusters": [{
            "CacheClusterId": NAME + "-001", "EngineVersion": "7.1.0", "CacheParameterGroup": {"CacheParameterGroupName": "default.redis7"},
            "CacheSubnetGroupName": NAME, "SecurityGroups": [{"SecurityGroupId": "sg-redis"}]}]},
        ("elasticache", "list_tags_for_resource"): {"TagList": tag_list(TAGS)},
        ("secretsmanager", "list_secrets"): {"SecretList": [{"Name": NAME + "/database", "ARN": "arn:secret", "Description": "PostgreSQL",
                                                             "Tags": tag_list(TAGS)}]},
        ("secretsmanager", "batch_get_secret_value"): {"SecretValues": [
            # As secretsmanager_secret writes it: the task's keys in its order (value, secret part, host), json.dumps.
            {"Name": NAME + "/database", "SecretString": json.dumps({"port": 5432, "password": SECRET["password"], "host": "db.example"})}]},
    }


class FakeClient:
    def __init__(self, service, table, calls):
        self.service, self.table, self.calls = service, table, calls

    def __getattr__(self, operation):
        def call(**kwargs):
            self.calls.append((self.service, operation))
            key = (self.service, operation, kwargs.get("Attribute")) if operation == "describe_vpc_attribute" else (self.service, operation)
            answer = self.table.get(key)
            if isinstance(answer, Exception):
                raise answer
            if answer is None:
                raise botocore.exceptions.ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, operation)
            return copy.deepcopy(answer)

        return call


def read(table, want=None):
    calls = []
    result = observe(lambda service: FakeClient(service, table, calls), want or wanted(), {"db_secret": dict(SECRET)})
    return result, calls


def test_an_environment_as_wanted_is_in_sync_in_about_one_read_per_resource():
    result, calls = read(answers())
    assert result["differences"] == {} and result["all_in_sync"] is True
    assert len(result["in_sync"]) == 20
    assert len(calls) == result["reads"] == 23
    assert result["ids"]["public_subnet_ids"] == {"10.1.101.0/24": "subnet-pub"} and result["ids"]["nat_gateway_ids"] == {"us-west-2a": "nat-1"}
    assert result["ids"]["database"] == {"address": "db.example", "port": 5432, "allocated_storage": 20, "engine_version": "15.12"}
    assert result["ids"]["redis"] == {"primary_endpoint": "master.redis", "reader_endpoint": "replica.redis"}
    assert result["ids"]["eks"]["cluster_security_group_id"] == "sg-eks"


def spoil(path, value):
    table = answers()
    target = table[path[0]]
    for key in path[1:-1]:
        target = target[key]
    target[path[-1]] = value
    return table


@pytest.mark.parametrize("path, value, key, words", [
    ((("ec2", "describe_vpc_attribute", "enableDnsHostnames"), "EnableDnsHostnames", {"Value": False}), None, "vpc", "enableDnsHostnames"),
    ((("ec2", "describe_vpcs"), "Vpcs", 0, "Tags"), tag_list(dict(TAGS, Owner="else", Name=NAME)), "vpc", "tag Owner"),
    ((("ec2", "describe_subnets"), "Subnets", 0, "MapPublicIpOnLaunch"), False, "public_subnet 10.1.101.0/24", "public IPs"),
    ((("ec2", "describe_nat_gateways"), "NatGateways", 0, "State"), "pending", "nat_gateway us-west-2a", "state"),
    ((("ec2", "describe_route_tables"), "RouteTables", 1, "Associations"), [], "public_route_table", "associated subnets"),
    ((("ec2", "describe_route_tables"), "RouteTables", 2, "Tags"), tag_list(dict(TAGS, Name=NAME + "-private-us-west-2a", Extra="x")),
     "private_route_table us-west-2a", "extra tag Extra"),
    ((("logs", "describe_log_groups"), "logGroups", 0, "retentionInDays"), 1, "eks_log_group", "retention"),
    ((("iam", "list_attached_role_policies"), "AttachedPolicies"), [], "eks_cluster_role", "managed policies"),
    ((("iam", "get_role"), "Role", "AssumeRolePolicyDocument"), {"Version": "2012-10-17", "Statement": []}, "eks_cluster_role", "trust policy"),
    ((("ec2", "describe_flow_logs"), "FlowLogs", 0, "TrafficType"), "REJECT", "flow_log", "replace"),
    # Its logging can only change once the cluster is ACTIVE, so both tasks run (and wait).
    ((("eks", "describe_cluster"), "cluster", "status"), "UPDATING", ("eks", "eks_logging"), "status"),
    ((("eks", "describe_cluster"), "cluster", "logging"), {"clusterLogging": []}, "eks_logging", "to enable"),
    ((("eks", "describe_nodegroup"), "nodegroup", "labels"), {"NodeGroup": "other"}, "nodegroup", "labels"),
    ((("ec2", "describe_security_groups"), "SecurityGroups", 0, "IpPermissionsEgress"), [{"IpProtocol": "-1"}], "db_security_group", "egress"),
    ((("rds", "describe_db_instances"), "DBInstances", 0, "BackupRetentionPeriod"), 7, "database", "backup_retention"),
    ((("rds", "describe_db_instances"), "DBInstances", 0, "PendingModifiedValues"), {"DBInstanceClass": "db.r6g.large"}, "database", "pending"),
    ((("rds", "list_tags_for_resource"), "TagList"), [], "db_subnet_group", "tag Project"),
    ((("elasticache", "describe_replication_groups"), "ReplicationGroups", 0, "CacheNodeType"), "cache.r6g.large", "redis", "node_type"),
    ((("elasticache", "describe_replication_groups"), "ReplicationGroups", 0, "Status"), "modifying", "redis", "status"),
    ((("secretsmanager", "list_secrets"), "SecretList", 0, "Description"), "old", "db_secret", "description"),
])
def test_each_difference_makes_only_its_resource_out_of_sync(path, value, key, words):
    table = answers()
    if value is None:  # the whole answer is replaced
        table[path[0]] = {path[1]: path[2]}
    else:
        table = spoil(path, value)
    result, _calls = read(table)
    keys = list(key) if isinstance(key, tuple) else [key]
    assert sorted(name for name, ok in result["in_sync"].items() if not ok) == keys, result["differences"]
    assert words in " ".join(result["differences"][keys[0]]), result["differences"]


def test_a_changed_secret_value_is_named_never_shown():
    table = spoil((("secretsmanager", "batch_get_secret_value"), "SecretValues", 0, "SecretString"),
                  json.dumps({"password": "another-Passw0rd", "port": 5432, "host": "db.example"}))
    result, _calls = read(table)
    assert result["differences"] == {"db_secret": ["secret value"]}
    assert "another-Passw0rd" not in json.dumps(result) and SECRET["password"] not in json.dumps(result)


def test_what_does_not_exist_is_out_of_sync_and_its_children_with_it():
    table = answers()
    table[("ec2", "describe_vpcs")] = {"Vpcs": []}
    table[("eks", "describe_cluster")] = None
    result, _calls = read(table)
    assert result["differences"]["vpc"] == ["does not exist"]
    for key in ("public_subnet 10.1.101.0/24", "internet_gateway", "nat_gateway us-west-2a", "public_route_table", "flow_log",
                "db_security_group", "eks", "eks_logging", "nodegroup"):
        assert result["in_sync"][key] is False, key
    assert "vpc_id" not in result["ids"] and "eks" not in result["ids"]


def test_two_route_tables_with_the_same_tags_are_out_of_sync():
    table = answers()
    tables = table[("ec2", "describe_route_tables")]["RouteTables"]
    tables.append(dict(tables[1], RouteTableId="rtb-pub2"))
    result, _calls = read(table)
    assert result["differences"]["public_route_table"] == ["2 route tables carry its tags"]


def test_a_read_that_fails_names_the_operation():
    table = answers()
    table[("iam", "get_role")] = botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetRole")
    with pytest.raises(AwsGapError) as excinfo:
        read(table)
    assert "iam get_role" in excinfo.value.msg


def test_per_zone_entries_name_each_resource_after_its_zone():
    want = wanted()
    want["private_route_tables"].update(cidrs=["10.1.1.0/24", "10.1.2.0/24"], zones=["us-west-2a", "us-west-2b"], nat_per_zone=True)
    tables = expand(want)["private_route_tables"]
    assert [(t["cidr"], t["nat_zone"], t["tags"]["Name"]) for t in tables] == [
        ("10.1.1.0/24", "us-west-2a", NAME + "-private-us-west-2a"), ("10.1.2.0/24", "us-west-2b", NAME + "-private-us-west-2b")]
    want["private_route_tables"]["nat_per_zone"] = False
    assert [t["nat_zone"] for t in expand(want)["private_route_tables"]] == ["us-west-2a", "us-west-2a"]


def test_a_secret_equal_as_data_but_written_otherwise_is_out_of_sync():
    """secretsmanager_secret compares the text: another key order would be rewritten, so its task must run."""
    table = spoil((("secretsmanager", "batch_get_secret_value"), "SecretValues", 0, "SecretString"),
                  json.dumps({"host": "db.example", "port": 5432, "password": SECRET["password"]}))
    assert read(table)[0]["differences"] == {"db_secret": ["secret value"]}


def test_a_secret_whose_host_does_not_exist_yet_is_out_of_sync():
    table = answers()
    table[("rds", "describe_db_instances")] = None
    table[("rds", "describe_db_subnet_groups")] = {"DBSubnetGroups": [{"DBSubnetGroupDescription": "Private subnets", "DBSubnetGroupArn": "arn:subgrp",
                                                                       "Subnets": [{"SubnetIdentifier": "subnet-priv"}]}]}
    table[("secretsmanager", "batch_get_secret_value")] = {"SecretValues": [
        {"Name": NAME + "/database", "SecretString": json.dumps({"port": 5432, "password": SECRET["password"], "host": ""})}]}
    result = read(table)[0]
    assert "its host (the database endpoint) does not exist yet" in result["differences"]["db_secret"]
    assert result["in_sync"]["db_subnet_group"] is True and result["differences"]["database"] == ["does not exist"]


def test_storage_grown_by_autoscaling_and_a_minor_upgrade_are_kept():
    table = answers()
    db = table[("rds", "describe_db_instances")]["DBInstances"][0]
    db.update(AllocatedStorage=40, EngineVersion="15.13")
    result = read(table)[0]
    assert result["in_sync"]["database"] is True, result["differences"]
    assert (result["ids"]["database"]["allocated_storage"], result["ids"]["database"]["engine_version"]) == (40, "15.13")
    db.update(EngineVersion="16.1")
    assert "engine_version" in " ".join(read(table)[0]["differences"]["database"])


def test_ipv6_blocks_two_nat_gateways_and_an_unavailable_group_s_tags_are_out_of_sync():
    table = answers()
    table[("ec2", "describe_subnets")]["Subnets"][0]["Ipv6CidrBlockAssociationSet"] = [
        {"Ipv6CidrBlock": "2600:1f14::/64", "Ipv6CidrBlockState": {"State": "associated"}}]
    gateways = table[("ec2", "describe_nat_gateways")]["NatGateways"]
    gateways.append(dict(gateways[0], NatGatewayId="nat-2"))
    table[("elasticache", "list_tags_for_resource")] = botocore.exceptions.ClientError(
        {"Error": {"Code": "InvalidReplicationGroupState", "Message": "not available"}}, "ListTagsForResource")
    result = read(table)[0]
    assert "IPv6 CIDR blocks" in " ".join(result["differences"]["public_subnet 10.1.101.0/24"])
    assert result["differences"]["nat_gateway us-west-2a"] == ["2 NAT gateways in its subnet"]
    assert result["differences"]["redis"] == ["its tags cannot be read yet"]


def test_routes_the_module_never_purges_are_not_differences():
    table = answers()
    table[("ec2", "describe_route_tables")]["RouteTables"][1]["Routes"].append(
        {"DestinationPrefixListId": "pl-123", "GatewayId": "vpce-1", "Origin": "CreateRoute", "State": "active"})
    assert read(table)[0]["all_in_sync"] is True

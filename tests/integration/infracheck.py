"""Read an aws_infra environment back through boto3 and list what differs from the local inventory's settings.

Used by tests/integration/test_aws_infra.py and by the role's molecule verify and destroy steps:

  python tests/integration/infracheck.py --present <name> --outputs <infra-outputs.json>
  python tests/integration/infracheck.py --absent <name>

The AWS endpoint comes from the environment (AWS_ENDPOINT_URL, as .sandbox/env sets it). Exit status 1 and one
line per finding when something differs or is left over.
"""

import argparse
import json
import os
import sys

import boto3
import yaml
from botocore.config import Config

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def local_settings():
    """The local inventory's aws_infra values (the literal ones the checks compare)."""
    with open(os.path.join(REPO_ROOT, "inventories", "local", "group_vars", "all", "aws_infra.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def client(service):
    return boto3.client(service, region_name=os.environ.get("AWS_REGION", "us-west-2"), config=Config(retries={"total_max_attempts": 2}))


class Findings(list):
    def expect(self, what, got, wanted):
        if got != wanted:
            self.append("%s: got %r, expected %r" % (what, got, wanted))


def check_network(name, outputs, settings, found):
    ec2 = client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]
    found.expect("VPCs named %s" % name, len(vpcs), 1)
    if not vpcs:
        return
    vpc = vpcs[0]
    found.expect("outputs vpc_id", outputs.get("vpc_id"), vpc["VpcId"])
    found.expect("VPC CIDR", vpc["CidrBlock"], settings["aws_infra_vpc_cidr"])
    tags = {tag["Key"]: tag["Value"] for tag in vpc.get("Tags", [])}
    found.expect("VPC tags", tags, {"Name": name, "Project": name.rsplit("-", 1)[0], "Environment": "local", "ManagedBy": "ansible",
                                    "Owner": "platform-team"})
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        found.expect("VPC %s" % attribute, ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)[key]["Value"], True)
    subnets = {s["CidrBlock"]: s for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]}
    zones = settings["aws_infra_availability_zones"]
    public, private = settings["aws_infra_public_subnet_cidrs"], settings["aws_infra_private_subnet_cidrs"]
    found.expect("subnet CIDRs", sorted(subnets), sorted(public + private))
    for cidrs, is_public in ((public, True), (private, False)):
        for cidr, zone in zip(cidrs, zones):
            subnet = subnets.get(cidr, {})
            found.expect("subnet %s zone" % cidr, subnet.get("AvailabilityZone"), zone)
            found.expect("subnet %s public IPs" % cidr, subnet.get("MapPublicIpOnLaunch"), is_public)
    found.expect("outputs private_subnet_ids", sorted(outputs.get("private_subnet_ids", [])),
                 sorted(subnets[c]["SubnetId"] for c in private if c in subnets))
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]
    found.expect("internet gateways", len(igws), 1)
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "state", "Values": ["available"]}])["NatGateways"]
    found.expect("NAT gateways", len(nats), len(zones) if settings.get("aws_infra_nat_gateway_per_az") else 1)
    nat_ids = {nat["NatGatewayId"] for nat in nats}
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
    by_subnet = {a.get("SubnetId"): t for t in tables for a in t.get("Associations", []) if a.get("SubnetId")}
    for cidr in public + private:
        subnet_id = subnets.get(cidr, {}).get("SubnetId")
        defaults = [r for r in by_subnet.get(subnet_id, {}).get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        target = [r.get("GatewayId") if cidr in public else r.get("NatGatewayId") for r in defaults]
        wanted = [igws[0]["InternetGatewayId"]] if cidr in public and igws else None
        if cidr in public:
            found.expect("default route of %s" % cidr, target, wanted)
        elif len(target) != 1 or target[0] not in nat_ids:
            found.append("default route of %s: got %r, expected one NAT gateway of the VPC" % (cidr, target))
    flow_logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])["FlowLogs"]
    found.expect("flow logs", [(f.get("TrafficType"), f.get("LogGroupName"), f.get("MaxAggregationInterval")) for f in flow_logs],
                 [("ALL", "/aws/vpc/%s/flow-logs" % name, 60)])
    groups = {g["GroupId"]: g for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]}
    for key, port in (("database_security_group_id", 5432), ("redis_security_group_id", 6379)):
        rules = groups.get(outputs.get(key), {}).get("IpPermissions")
        found.expect("ingress of %s" % key, [(r.get("IpProtocol"), r.get("FromPort"), r.get("ToPort"), r.get("IpRanges"),
                                              [p["GroupId"] for p in r.get("UserIdGroupPairs", [])]) for r in rules or []],
                     [("tcp", port, port, [], [outputs.get("cluster_security_group_id")])])


def check_logs(name, found):
    logs = client("logs")
    groups = {g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups(logGroupNamePrefix="/aws/")["logGroups"]}
    for group, days in (("/aws/vpc/%s/flow-logs" % name, 14), ("/aws/eks/%s/cluster" % name, 14), ("/aws/elasticache/%s/slow-log" % name, 7)):
        found.expect("retention of %s" % group, groups.get(group, "missing"), days)


def check_eks(name, outputs, settings, found):
    eks = client("eks")
    cluster = eks.describe_cluster(name=name)["cluster"]
    found.expect("EKS version", cluster["version"], "1.34")
    found.expect("EKS subnets", sorted(cluster["resourcesVpcConfig"]["subnetIds"]), sorted(outputs.get("private_subnet_ids", [])))
    found.expect("EKS role", cluster["roleArn"].rsplit("/", 1)[-1], name + "-eks-cluster")
    enabled = sorted(t for entry in cluster.get("logging", {}).get("clusterLogging", []) if entry.get("enabled") for t in entry["types"])
    found.expect("EKS control-plane logging", enabled, sorted(LOG_TYPES))
    found.expect("outputs cluster_endpoint", outputs.get("cluster_endpoint"), cluster.get("endpoint"))
    found.expect("outputs cluster_security_group_id", outputs.get("cluster_security_group_id"),
                 cluster["resourcesVpcConfig"].get("clusterSecurityGroupId"))
    group = eks.describe_nodegroup(clusterName=name, nodegroupName=name + "-main")["nodegroup"]
    scaling = {"minSize": settings["aws_infra_node_min_size"], "maxSize": settings["aws_infra_node_max_size"],
               "desiredSize": settings["aws_infra_node_desired_size"]}
    found.expect("node group scaling", group["scalingConfig"], scaling)
    found.expect("node group instance types", group["instanceTypes"], ["t3.large"])
    found.expect("node group labels", group.get("labels"), {"Environment": "local", "NodeGroup": "main"})
    found.expect("node group role", group["nodeRole"].rsplit("/", 1)[-1], name + "-eks-nodes")
    iam = client("iam")
    for role, policies in (("eks-cluster", ["AmazonEKSClusterPolicy"]),
                           ("eks-nodes", ["AmazonEC2ContainerRegistryReadOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]),
                           ("rds-monitoring", ["AmazonRDSEnhancedMonitoringRole"])):
        attached = iam.list_attached_role_policies(RoleName="%s-%s" % (name, role))["AttachedPolicies"]
        found.expect("policies of %s-%s" % (name, role), sorted(p["PolicyName"] for p in attached), policies)


def check_database(name, outputs, settings, found):
    db = client("rds").describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    found.expect("RDS engine, class, storage", (db["Engine"], db["DBInstanceClass"], db["AllocatedStorage"], db.get("MaxAllocatedStorage")),
                 ("postgres", "db.t4g.medium", 20, 100))
    found.expect("RDS encryption, public, deletion protection", (db["StorageEncrypted"], db["PubliclyAccessible"], db["DeletionProtection"]),
                 (True, False, False))
    found.expect("RDS backups and maintenance", (db["BackupRetentionPeriod"], db["PreferredBackupWindow"], db["PreferredMaintenanceWindow"]),
                 (1, "03:00-04:00", "sun:04:00-sun:05:00"))
    found.expect("RDS monitoring", (db.get("MonitoringInterval"), (db.get("MonitoringRoleArn") or "").rsplit("/", 1)[-1],
                                    db.get("PerformanceInsightsEnabled")), (60, name + "-rds-monitoring", True))
    found.expect("RDS security groups", [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]], [outputs.get("database_security_group_id")])
    found.expect("RDS subnet group", db["DBSubnetGroup"]["DBSubnetGroupName"], name)
    found.expect("outputs database_address", outputs.get("database_address"), db["Endpoint"]["Address"])
    found.expect("database name", db.get("DBName"), settings["aws_infra_db_name"])


def check_redis(name, outputs, settings, found):
    group = client("elasticache").describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]
    found.expect("Redis encryption and AUTH", (group.get("AtRestEncryptionEnabled"), group.get("TransitEncryptionEnabled"), group.get("AuthTokenEnabled")),
                 (True, True, True))
    found.expect("Redis cache clusters", len(group.get("MemberClusters", [])), settings["aws_infra_redis_num_cache_clusters"])
    found.expect("Redis failover", group.get("AutomaticFailover"), "enabled" if settings.get("aws_infra_redis_automatic_failover") else "disabled")
    found.expect("Redis node type", group.get("CacheNodeType"), "cache.t4g.small")
    found.expect("Redis slow log", [(c.get("LogType"), c.get("DestinationType"), c.get("DestinationDetails", {}).get("CloudWatchLogsDetails", {})
                                     .get("LogGroup")) for c in group.get("LogDeliveryConfigurations", [])],
                 [("slow-log", "cloudwatch-logs", "/aws/elasticache/%s/slow-log" % name)])
    primary = (group.get("NodeGroups") or [{}])[0].get("PrimaryEndpoint", {}).get("Address")
    found.expect("outputs redis_primary_endpoint", outputs.get("redis_primary_endpoint"), primary)


def check_secrets(name, outputs, found):
    secrets = client("secretsmanager")
    database = json.loads(secrets.get_secret_value(SecretId=name + "/database")["SecretString"])
    found.expect("database secret host", database.get("host"), outputs.get("database_address"))
    found.expect("database secret keys", sorted(database), ["dbname", "engine", "host", "password", "port", "username"])
    redis = json.loads(secrets.get_secret_value(SecretId=name + "/redis")["SecretString"])
    found.expect("Redis secret host", redis.get("host"), outputs.get("redis_primary_endpoint"))
    if len(redis.get("auth_token") or "") < 16:
        found.append("Redis secret: no AUTH token of at least 16 characters")


def present(name, outputs_file):
    found = Findings()
    try:
        with open(outputs_file, encoding="utf-8") as handle:
            outputs = json.load(handle)
    except (OSError, ValueError) as exc:
        return ["outputs file %s: %s" % (outputs_file, exc)]
    settings = local_settings()
    for check in (lambda: check_network(name, outputs, settings, found), lambda: check_logs(name, found),
                  lambda: check_eks(name, outputs, settings, found), lambda: check_database(name, outputs, settings, found),
                  lambda: check_redis(name, outputs, settings, found), lambda: check_secrets(name, outputs, found)):
        try:
            check()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            found.append("%s: %s" % (type(exc).__name__, exc))
    return found


def absent(name):
    """What is left of an environment that was torn down."""
    left = []
    if client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]:
        left.append("VPC %s" % name)
    if name in client("eks").list_clusters()["clusters"]:
        left.append("EKS cluster %s" % name)
    left += ["RDS instance %s" % d["DBInstanceIdentifier"] for d in client("rds").describe_db_instances()["DBInstances"]
             if d["DBInstanceIdentifier"] == name]
    left += ["replication group %s" % g["ReplicationGroupId"] for g in client("elasticache").describe_replication_groups()["ReplicationGroups"]
             if g["ReplicationGroupId"] == name]
    left += ["secret %s" % s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"] if s["Name"].startswith(name + "/")]
    left += ["IAM role %s" % r["RoleName"] for r in client("iam").list_roles()["Roles"] if r["RoleName"].startswith(name + "-")]
    left += ["log group %s" % g["logGroupName"] for g in client("logs").describe_log_groups(logGroupNamePrefix="/aws/")["logGroups"]
             if "/%s/" % name in g["logGroupName"]]
    return left


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--present", metavar="NAME")
    mode.add_argument("--absent", metavar="NAME")
    parser.add_argument("--outputs", help="the role's outputs file (with --present)")
    args = parser.parse_args(argv)
    found = present(args.present, args.outputs) if args.present else ["left over: " + what for what in absent(args.absent)]
    for line in found:
        print(line)
    print("%s: %d finding(s)" % (args.present or args.absent, len(found)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One read of an aws_infra environment: every resource described once and compared with what the role wants.

The role's tasks each describe their resource again before deciding; on an environment that already matches, that is
one module run (and several describes) per resource for nothing. This reads the whole environment in a few batched
calls (the subnets, route tables, NAT gateways and security groups of the VPC in one DescribeX each, the log groups by
one name pattern, the secrets in one batch) and says, per resource, whether it already has every setting its task
would set. The role skips the task of a resource that does; any other runs as before and decides for itself.

The comparison is never looser than the task's module: a setting the task sets and this cannot read, or reads
otherwise, makes the resource "not in sync", so its task runs. A wrong "not in sync" costs a module run; a wrong "in
sync" would hide drift, so every doubt falls on the side of running the task.
"""

from __future__ import annotations

import json

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps import eks_logging, flow_logs
from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.common import AwsGapError, aws_error_code
from ansible_collections.loyalty.platform.plugins.module_utils.elasticache import replication_group as rg
from ansible_collections.loyalty.platform.plugins.module_utils.elasticache.validate import ElastiCacheError

MISSING = "does not exist"
NOT_FOUND = ("NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "DBInstanceNotFound", "DBInstanceNotFoundFault",
             "DBSubnetGroupNotFoundFault", "CacheSubnetGroupNotFoundFault", "ReplicationGroupNotFoundFault", "CacheClusterNotFound",
             "ResourceNotFound")


class Counted:
    """A boto3 client whose every request adds one to ``reader.reads``."""

    def __init__(self, client, reader):
        self._client = client
        self._reader = reader

    def __getattr__(self, operation):
        method = getattr(self._client, operation)

        def call(**kwargs):
            self._reader.reads += 1
            return method(**kwargs)

        return call


class Reader:
    """The AWS clients (``client(service)``), each read counted; a failed read raises AwsGapError naming it."""

    def __init__(self, client):
        self._client = client
        self._clients = {}
        self.reads = 0

    def client(self, service):
        """The counted client of ``service``, made once."""
        if service not in self._clients:
            self._clients[service] = Counted(self._client(service), self)
        return self._clients[service]

    def call(self, service, operation, missing_ok=False, **kwargs):
        """The answer of ``operation``; None for "not found" when ``missing_ok``."""
        try:
            return getattr(self.client(service), operation)(**kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            if missing_ok and aws_error_code(exc) in NOT_FOUND:
                return None
            raise AwsGapError("reading the environment failed at %s %s" % (service, operation), exception=exc) from exc


class Seen:
    """What the read found: per resource key, in sync or the differences; and the ids later tasks need."""

    def __init__(self):
        self.differences = {}
        self.ids = {}

    def note(self, key, differences):
        self.differences[key] = list(differences)

    @property
    def in_sync(self):
        return {key: not found for key, found in self.differences.items()}


def tags_missing(current, wanted):
    """The wanted tags (purge_tags=false) the resource lacks or has with another value."""
    return sorted(key for key, value in (wanted or {}).items() if (current or {}).get(key) != value)


def tag_differences(current, wanted, exact=False):
    missing = tags_missing(current, wanted)
    found = ["tag %s" % key for key in missing]
    if exact:
        found += ["extra tag %s" % key for key in sorted(set(current or {}) - set(wanted or {})) if not key.startswith("aws:")]
    return found


def compare(found, label, current, wanted):
    if current != wanted:
        found.append("%s is %s, not %s" % (label, json.dumps(current, sort_keys=True, default=str), json.dumps(wanted, sort_keys=True, default=str)))


# ---- the network ------------------------------------------------------------------------------------------------------


def read_vpc(reader, wanted, seen):
    answer = reader.call("ec2", "describe_vpcs", Filters=[{"Name": "tag:Name", "Values": [wanted["name"]]},
                                                          {"Name": "cidr-block", "Values": [wanted["vpc"]["cidr"]]}])
    vpcs = answer.get("Vpcs") or []
    if len(vpcs) != 1:
        seen.note("vpc", [MISSING] if not vpcs else ["%d VPCs are named %s" % (len(vpcs), wanted["name"])])
        return None
    vpc = vpcs[0]
    found = tag_differences(boto3_tag_list_to_ansible_dict(vpc.get("Tags") or []), wanted["vpc"]["tags"])
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        value = reader.call("ec2", "describe_vpc_attribute", VpcId=vpc["VpcId"], Attribute=attribute).get(key, {}).get("Value")
        compare(found, attribute, value, True)
    seen.note("vpc", found)
    seen.ids["vpc_id"] = vpc["VpcId"]
    return vpc["VpcId"]


def read_subnets(reader, wanted, seen, vpc_id):
    subnets = reader.call("ec2", "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]).get("Subnets") or [] if vpc_id else []
    by_cidr = {subnet["CidrBlock"]: subnet for subnet in subnets}
    for tier in ("public", "private"):
        ids = seen.ids.setdefault("%s_subnet_ids" % tier, {})
        for item in wanted["%s_subnets" % tier]:
            key = "%s_subnet %s" % (tier, item["cidr"])
            subnet = by_cidr.get(item["cidr"])
            if subnet is None:
                seen.note(key, [MISSING])
                continue
            ids[item["cidr"]] = subnet["SubnetId"]
            found = tag_differences(boto3_tag_list_to_ansible_dict(subnet.get("Tags") or []), item["tags"])
            compare(found, "availability zone", subnet.get("AvailabilityZone"), item["zone"])
            compare(found, "public IPs on launch", bool(subnet.get("MapPublicIpOnLaunch")), tier == "public")
            compare(found, "IPv6 addresses on creation", bool(subnet.get("AssignIpv6AddressOnCreation")), False)
            # The task sets no IPv6 CIDR, and ec2_vpc_subnet disassociates one it finds.
            compare(found, "IPv6 CIDR blocks", [block.get("Ipv6CidrBlock") for block in subnet.get("Ipv6CidrBlockAssociationSet") or []
                                                if (block.get("Ipv6CidrBlockState") or {}).get("State") in ("associated", "associating")], [])
            compare(found, "state", subnet.get("State"), "available")
            seen.note(key, found)


def read_internet_gateway(reader, wanted, seen, vpc_id):
    gateways = (reader.call("ec2", "describe_internet_gateways", Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
                .get("InternetGateways") or []) if vpc_id else []
    if len(gateways) != 1:
        seen.note("internet_gateway", [MISSING] if not gateways else ["%d internet gateways are attached" % len(gateways)])
        return
    seen.ids["internet_gateway_id"] = gateways[0]["InternetGatewayId"]
    seen.note("internet_gateway", tag_differences(boto3_tag_list_to_ansible_dict(gateways[0].get("Tags") or []), wanted["internet_gateway_tags"]))


def read_nat_gateways(reader, wanted, seen, vpc_id):
    gateways = (reader.call("ec2", "describe_nat_gateways", Filter=[{"Name": "vpc-id", "Values": [vpc_id]}]).get("NatGateways") or []
                if vpc_id else [])
    ids = seen.ids.setdefault("nat_gateway_ids", {})
    public_ids = seen.ids.get("public_subnet_ids", {})
    for item in wanted["nat_gateways"]:
        key = "nat_gateway %s" % item["zone"]
        subnet_id = public_ids.get(item["subnet_cidr"])
        # ec2_vpc_nat_gateway with if_exist_do_not_create takes a gateway of the subnet that is available or pending.
        mine = [gw for gw in gateways if subnet_id and gw.get("SubnetId") == subnet_id and gw.get("State") in ("available", "pending")]
        if not mine:
            seen.note(key, [MISSING])
            continue
        gateway = sorted(mine, key=lambda gw: gw.get("State") != "available")[0]
        ids[item["zone"]] = gateway["NatGatewayId"]
        found = tag_differences(boto3_tag_list_to_ansible_dict(gateway.get("Tags") or []), item["tags"])
        if len(mine) > 1:
            # Which one the module would tag is AWS's order: let it decide.
            found.append("%d NAT gateways in its subnet" % len(mine))
        compare(found, "state", gateway.get("State"), "available")
        seen.note(key, found)


def route_differences(table, wanted_route, subnet_ids):
    found = []
    # purge_routes deletes only routes made by CreateRoute with an IPv4 destination: the local route, propagated
    # routes, and prefix-list (VPC endpoint) or IPv6 routes stay, so they are not the task's business here either.
    routes = [route for route in table.get("Routes") or []
              if route.get("DestinationCidrBlock") and route.get("GatewayId") != "local" and route.get("Origin", "CreateRoute") == "CreateRoute"]
    have = [{key: route.get(key) for key in ("DestinationCidrBlock", "GatewayId", "NatGatewayId") if route.get(key)} for route in routes]
    compare(found, "routes", have, [wanted_route])
    if any(route.get("State") not in (None, "active") for route in routes):
        found.append("a route is %s" % ", ".join(sorted({str(route.get("State")) for route in routes if route.get("State") != "active"})))
    associated = sorted(assoc["SubnetId"] for assoc in table.get("Associations") or [] if assoc.get("SubnetId") and not assoc.get("Main"))
    compare(found, "associated subnets", associated, sorted(subnet or "(missing)" for subnet in subnet_ids))
    return found


def read_route_tables(reader, wanted, seen, vpc_id):
    tables = reader.call("ec2", "describe_route_tables", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]).get("RouteTables") or [] if vpc_id else []

    def table_of(key, tags):
        # lookup=tag: the one table carrying every tag of the task (purge_tags: and no other).
        matching = [table for table in tables if not tags_missing(boto3_tag_list_to_ansible_dict(table.get("Tags") or []), tags)]
        if len(matching) != 1:
            seen.note(key, [MISSING] if not matching else ["%d route tables carry its tags" % len(matching)])
            return None
        return matching[0]

    public_ids = seen.ids.get("public_subnet_ids", {})
    private_ids = seen.ids.get("private_subnet_ids", {})
    nat_ids = seen.ids.get("nat_gateway_ids", {})
    table = table_of("public_route_table", wanted["public_route_table"]["tags"])
    if table is not None:
        igw = seen.ids.get("internet_gateway_id")
        found = tag_differences(boto3_tag_list_to_ansible_dict(table.get("Tags") or []), wanted["public_route_table"]["tags"], exact=True)
        found += route_differences(table, {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw},
                                   [public_ids.get(cidr) for cidr in wanted["public_route_table"]["subnet_cidrs"]])
        if igw is None or None in [public_ids.get(cidr) for cidr in wanted["public_route_table"]["subnet_cidrs"]]:
            found.append("its gateway or a subnet does not exist")
        seen.note("public_route_table", found)
    for item in wanted["private_route_tables"]:
        key = "private_route_table %s" % item["zone"]
        table = table_of(key, item["tags"])
        if table is None:
            continue
        nat = nat_ids.get(item["nat_zone"])
        subnet = private_ids.get(item["subnet_cidr"])
        found = tag_differences(boto3_tag_list_to_ansible_dict(table.get("Tags") or []), item["tags"], exact=True)
        found += route_differences(table, {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat}, [subnet])
        if nat is None or subnet is None:
            found.append("its NAT gateway or subnet does not exist")
        seen.note(key, found)


# ---- CloudWatch Logs, IAM -----------------------------------------------------------------------------------------


def read_log_groups(reader, wanted, seen):
    groups, token = {}, None
    while True:
        kwargs = {"logGroupNamePattern": wanted["name"]}
        if token:
            kwargs["nextToken"] = token
        answer = reader.call("logs", "describe_log_groups", **kwargs)
        groups.update({group["logGroupName"]: group for group in answer.get("logGroups") or []})
        token = answer.get("nextToken")
        if not token:
            break
    for key, item in sorted(wanted["log_groups"].items()):
        group = groups.get(item["name"])
        if group is None:
            seen.note(key, [MISSING])
            continue
        found = []
        compare(found, "retention", group.get("retentionInDays"), item["retention"])
        compare(found, "KMS key", group.get("kmsKeyId"), None)
        arn = group.get("logGroupArn") or (group.get("arn") or "").rstrip("*").rstrip(":")
        seen.ids.setdefault("log_group_arns", {})[key] = arn
        tags = reader.call("logs", "list_tags_for_resource", resourceArn=arn).get("tags") or {}
        found += tag_differences(tags, wanted["tags"])
        seen.note(key, found)


def read_roles(reader, wanted, seen):
    arns = seen.ids.setdefault("role_arns", {})
    for key, item in sorted(wanted["roles"].items()):
        answer = reader.call("iam", "get_role", missing_ok=True, RoleName=item["name"])
        if answer is None:
            seen.note(key, [MISSING])
            continue
        role = answer["Role"]
        arns[key] = role["Arn"]
        found = tag_differences(boto3_tag_list_to_ansible_dict(role.get("Tags") or []), wanted["tags"])
        document = role.get("AssumeRolePolicyDocument")
        if isinstance(document, str):
            document = json.loads(document)
        if compare_policies(document, item["trust_policy"]):
            found.append("trust policy")
        compare(found, "description", role.get("Description"), item["description"])
        compare(found, "path", role.get("Path"), "/")
        if role.get("PermissionsBoundary"):
            found.append("a permissions boundary")
        if item.get("managed_policies") is not None:
            attached = reader.call("iam", "list_attached_role_policies", RoleName=item["name"], MaxItems=1000)
            have = sorted(policy["PolicyArn"] for policy in attached.get("AttachedPolicies") or [])
            if attached.get("IsTruncated"):
                found.append("more managed policies than one page")
            compare(found, "managed policies", have, sorted(item["managed_policies"]))
        seen.note(key, found)
    for key, item in sorted(wanted.get("role_policies", {}).items()):
        if item["role"] not in arns:
            seen.note(key, [MISSING])
            continue
        answer = reader.call("iam", "get_role_policy", missing_ok=True, RoleName=wanted["roles"][item["role"]]["name"], PolicyName=item["name"])
        if answer is None:
            seen.note(key, [MISSING])
            continue
        document = answer.get("PolicyDocument")
        if isinstance(document, str):
            document = json.loads(document)
        seen.note(key, ["policy document"] if compare_policies(document, policy_for(item, seen)) else [])


def policy_for(item, seen):
    """The wanted document; with ``log_group``, every statement's Resource is that log group's streams (its ARN and ``:*``),
    as the role's template writes it."""
    document = item["document"]
    if not item.get("log_group"):
        return document
    arn = seen.ids.get("log_group_arns", {}).get(item["log_group"]) or "(missing)"
    return dict(document, Statement=[dict(statement, Resource=arn + ":*") for statement in document.get("Statement") or []])


def read_flow_log(reader, wanted, seen, vpc_id):
    item = wanted["flow_log"]
    role_arn = seen.ids.get("role_arns", {}).get(item["role"])
    if not vpc_id or not role_arn:
        seen.note("flow_log", [MISSING])
        return
    params = {"resource_id": vpc_id, "traffic_type": item["traffic_type"], "log_destination_type": flow_logs.CLOUDWATCH,
              "log_group_name": item["log_group_name"], "deliver_logs_permission_arn": role_arn,
              "max_aggregation_interval": item["max_aggregation_interval"], "log_format": None, "tags": item["tags"],
              "purge_tags": False, "state": "present"}
    answer = reader.call("ec2", "describe_flow_logs", Filters=[{"Name": "resource-id", "Values": [vpc_id]}])
    try:
        current = flow_logs.select(answer.get("FlowLogs") or [], params)
    except AwsGapError as exc:
        seen.note("flow_log", [exc.msg])
        return
    step = flow_logs.plan(current, params)
    seen.note("flow_log", [] if step["action"] == "none" else [MISSING if current is None else "needs %s" % step["action"]])


# ---- EKS ------------------------------------------------------------------------------------------------------------


def read_eks(reader, wanted, seen):
    item = wanted["eks"]
    answer = reader.call("eks", "describe_cluster", missing_ok=True, name=item["name"])
    if answer is None:
        for key in ("eks", "eks_logging", "nodegroup"):
            seen.note(key, [MISSING])
        return
    cluster = answer["cluster"]
    config = cluster.get("resourcesVpcConfig") or {}
    private_ids = seen.ids.get("private_subnet_ids", {})
    subnets = [private_ids.get(cidr) for cidr in item["subnet_cidrs"]]
    found = []
    compare(found, "status", cluster.get("status"), "ACTIVE")
    compare(found, "version", cluster.get("version"), item["version"])
    compare(found, "subnets", sorted(config.get("subnetIds") or []), sorted(subnet for subnet in subnets if subnet))
    if None in subnets:
        found.append("a private subnet does not exist")
    compare(found, "security groups", sorted(config.get("securityGroupIds") or []), [])
    seen.note("eks", found)
    seen.ids["eks"] = {"name": cluster.get("name"), "endpoint": cluster.get("endpoint") or "",
                       "certificate_authority": (cluster.get("certificateAuthority") or {}).get("data") or "",
                       "cluster_security_group_id": config.get("clusterSecurityGroupId") or ""}
    logging = []
    compare(logging, "status", cluster.get("status"), "ACTIVE")
    to_enable, to_disable = eks_logging.plan(eks_logging.enabled_types(cluster), item["log_types"])
    if to_enable or to_disable:
        logging.append("log types to enable %s, to disable %s" % (to_enable, to_disable))
    seen.note("eks_logging", logging)
    read_nodegroup(reader, wanted, seen, subnets)


def read_nodegroup(reader, wanted, seen, subnets):
    item = wanted["nodegroup"]
    answer = reader.call("eks", "describe_nodegroup", missing_ok=True, clusterName=wanted["eks"]["name"], nodegroupName=item["name"])
    if answer is None:
        seen.note("nodegroup", [MISSING])
        return
    group = answer["nodegroup"]
    found = []
    compare(found, "status", group.get("status"), "ACTIVE")
    compare(found, "node role", group.get("nodeRole"), seen.ids.get("role_arns", {}).get(item["role"]))
    compare(found, "subnets", sorted(group.get("subnets") or []), sorted(subnet for subnet in subnets if subnet))
    compare(found, "instance types", group.get("instanceTypes"), item["instance_types"])
    compare(found, "disk size", group.get("diskSize"), item["disk_size"])
    compare(found, "AMI type", group.get("amiType"), item["ami_type"])
    compare(found, "scaling", group.get("scalingConfig"), {"minSize": item["min_size"], "maxSize": item["max_size"], "desiredSize": item["desired_size"]})
    compare(found, "update config", group.get("updateConfig"), {"maxUnavailable": item["max_unavailable"]})
    compare(found, "labels", group.get("labels") or {}, item["labels"])
    compare(found, "taints", group.get("taints") or [], [])
    found += tag_differences(group.get("tags") or {}, wanted["tags"])
    seen.note("nodegroup", found)


# ---- security groups, RDS ---------------------------------------------------------------------------------------------


def rule_differences(group, item, source):
    found = []
    ingress = group.get("IpPermissions") or []
    have = [{"proto": rule.get("IpProtocol"), "from": rule.get("FromPort"), "to": rule.get("ToPort"),
             "groups": sorted((pair.get("GroupId"), pair.get("Description")) for pair in rule.get("UserIdGroupPairs") or []),
             "other": bool(rule.get("IpRanges") or rule.get("Ipv6Ranges") or rule.get("PrefixListIds"))} for rule in ingress]
    want = [{"proto": "tcp", "from": item["port"], "to": item["port"], "groups": [(source, item["rule_description"])], "other": False}]
    compare(found, "ingress rules", have, want)
    compare(found, "egress rules", len(group.get("IpPermissionsEgress") or []), 0)
    return found


def read_security_groups(reader, wanted, seen, vpc_id):
    names = {item["name"]: key for key, item in wanted["security_groups"].items()}
    groups = (reader.call("ec2", "describe_security_groups", Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                                      {"Name": "group-name", "Values": sorted(names)}]).get("SecurityGroups") or []
              if vpc_id else [])
    by_name = {group["GroupName"]: group for group in groups}
    source = seen.ids.get("eks", {}).get("cluster_security_group_id")
    ids = seen.ids.setdefault("security_group_ids", {})
    for name, key in sorted(names.items()):
        group = by_name.get(name)
        if group is None:
            seen.note(key, [MISSING])
            continue
        ids[key] = group["GroupId"]
        item = wanted["security_groups"][key]
        found = tag_differences(boto3_tag_list_to_ansible_dict(group.get("Tags") or []), item["tags"])
        found += rule_differences(group, item, source) if source else ["the EKS cluster security group does not exist"]
        seen.note(key, found)


def subnet_group_differences(group, description, item, subnets):
    """An RDS or ElastiCache subnet group's description and subnets against the task's."""
    found = []
    compare(found, "description", description, item["subnet_group_description"])
    compare(found, "subnets", sorted(subnet["SubnetIdentifier"] for subnet in group.get("Subnets") or []), subnets)
    return found


def _version(text):
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return None


def kept_storage(db, item):
    """The storage to ask for: the inventory's, or more when storage autoscaling has grown it (RDS never shrinks)."""
    current = (db.get("PendingModifiedValues") or {}).get("AllocatedStorage", db.get("AllocatedStorage"))
    return max(item["allocated_storage"], current) if isinstance(current, int) else item["allocated_storage"]


def kept_version(db, item):
    """The engine version to ask for: the inventory's, or the running one when an automatic minor upgrade has moved it
    past the inventory's within the same major version (RDS cannot go back)."""
    current, wanted_version = _version(db.get("EngineVersion")), _version(item["engine_version"])
    if db.get("AutoMinorVersionUpgrade") and current and wanted_version and current[0] == wanted_version[0] and current > wanted_version:
        return db["EngineVersion"]
    return item["engine_version"]


def read_database(reader, wanted, seen):
    item = wanted["database"]
    answer = reader.call("rds", "describe_db_instances", missing_ok=True, DBInstanceIdentifier=item["identifier"])
    instances = (answer or {}).get("DBInstances") or []
    private_ids = seen.ids.get("private_subnet_ids", {})
    subnets = sorted(private_ids.get(cidr) or "(missing)" for cidr in item["subnet_cidrs"])
    subnet_group = instances[0].get("DBSubnetGroup") if instances else None
    if subnet_group is None or subnet_group.get("DBSubnetGroupName") != item["identifier"] or not subnet_group.get("DBSubnetGroupArn"):
        answer = reader.call("rds", "describe_db_subnet_groups", missing_ok=True, DBSubnetGroupName=item["identifier"])
        subnet_group = ((answer or {}).get("DBSubnetGroups") or [None])[0]
    if subnet_group is None:
        seen.note("db_subnet_group", [MISSING])
    else:
        found = subnet_group_differences(subnet_group, subnet_group.get("DBSubnetGroupDescription"), item, subnets)
        arn = subnet_group.get("DBSubnetGroupArn")
        tags = boto3_tag_list_to_ansible_dict(reader.call("rds", "list_tags_for_resource", ResourceName=arn).get("TagList") or []) if arn else {}
        found += tag_differences(tags, wanted["tags"])
        seen.note("db_subnet_group", found)
    if not instances:
        seen.note("database", [MISSING])
        return
    db = instances[0]
    storage, version = kept_storage(db, item), kept_version(db, item)
    seen.ids["database"] = {"address": (db.get("Endpoint") or {}).get("Address") or "", "port": (db.get("Endpoint") or {}).get("Port") or item["port"],
                            "allocated_storage": storage, "engine_version": version}
    found = []
    compare(found, "status", db.get("DBInstanceStatus"), "available")
    if db.get("PendingModifiedValues"):
        found.append("modifications pending: %s" % ", ".join(sorted(db["PendingModifiedValues"])))
    security_group = seen.ids.get("security_group_ids", {}).get("db_security_group")
    current = {
        "engine": db.get("Engine"), "engine_version": db.get("EngineVersion"), "instance_class": db.get("DBInstanceClass"),
        "allocated_storage": db.get("AllocatedStorage"), "max_allocated_storage": db.get("MaxAllocatedStorage"),
        "storage_type": db.get("StorageType"), "storage_encrypted": db.get("StorageEncrypted"), "db_name": db.get("DBName"),
        "username": db.get("MasterUsername"), "port": (db.get("Endpoint") or {}).get("Port") or db.get("DbInstancePort"),
        "publicly_accessible": db.get("PubliclyAccessible"),
        "security_groups": sorted(group["VpcSecurityGroupId"] for group in db.get("VpcSecurityGroups") or []),
        "subnet_group": (db.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
        "backup_retention": db.get("BackupRetentionPeriod"), "backup_window": db.get("PreferredBackupWindow"),
        "maintenance_window": (db.get("PreferredMaintenanceWindow") or "").lower(), "deletion_protection": db.get("DeletionProtection"),
        "copy_tags_to_snapshot": db.get("CopyTagsToSnapshot"), "performance_insights": db.get("PerformanceInsightsEnabled"),
        "monitoring_interval": db.get("MonitoringInterval"), "monitoring_role_arn": db.get("MonitoringRoleArn"),
        "auto_minor_version_upgrade": db.get("AutoMinorVersionUpgrade"),
    }
    want = {
        "engine": "postgres", "engine_version": version, "instance_class": item["instance_class"],
        "allocated_storage": storage, "max_allocated_storage": item["max_allocated_storage"], "storage_type": "gp3",
        "storage_encrypted": True, "db_name": item["db_name"], "username": item["username"], "port": item["port"],
        "publicly_accessible": False, "security_groups": [security_group or "(missing)"], "subnet_group": item["identifier"],
        "backup_retention": item["backup_retention"], "backup_window": item["backup_window"],
        "maintenance_window": item["maintenance_window"].lower(), "deletion_protection": item["deletion_protection"],
        "copy_tags_to_snapshot": True, "performance_insights": item["performance_insights"],
        "monitoring_interval": item["monitoring_interval"], "monitoring_role_arn": seen.ids.get("role_arns", {}).get(item["monitoring_role"]),
        "auto_minor_version_upgrade": True,
    }
    for field in sorted(want):
        compare(found, field, current[field], want[field])
    found += tag_differences(boto3_tag_list_to_ansible_dict(db.get("TagList") or []), item["tags"])
    seen.note("database", found)


# ---- ElastiCache --------------------------------------------------------------------------------------------------------


def read_cache(reader, wanted, seen):
    item = wanted["redis"]
    private_ids = seen.ids.get("private_subnet_ids", {})
    answer = reader.call("elasticache", "describe_cache_subnet_groups", missing_ok=True, CacheSubnetGroupName=item["subnet_group"])
    subnet_group = ((answer or {}).get("CacheSubnetGroups") or [None])[0]
    if subnet_group is None:
        seen.note("redis_subnet_group", [MISSING])
    else:
        subnets = sorted(private_ids.get(cidr) or "(missing)" for cidr in item["subnet_cidrs"])
        seen.note("redis_subnet_group", subnet_group_differences(subnet_group, subnet_group.get("CacheSubnetGroupDescription"), item, subnets))
    # Read as the module reads it (its member cluster and its tags, None while they cannot be listed), counted.
    try:
        observed = rg.observe(rg.Api(reader.client("elasticache")), item["params"]["replication_group_id"].lower())
    except rg.AwsCallError as exc:
        raise AwsGapError("reading the environment failed: %s" % exc.msg, exception=exc.exception) from exc
    if observed is None:
        seen.note("redis", [MISSING])
        return
    result = rg.group_result(observed)
    seen.ids["redis"] = {"primary_endpoint": (result.get("primary_endpoint") or {}).get("address") or "",
                         "reader_endpoint": (result.get("reader_endpoint") or {}).get("address") or ""}
    if observed.status != rg.AVAILABLE:
        seen.note("redis", ["status %s" % observed.status])
        return
    if observed.tags is None:
        seen.note("redis", ["its tags cannot be read yet"])
        return
    params = dict(item["params"], security_group_ids=[seen.ids.get("security_group_ids", {}).get("redis_security_group") or "(missing)"])
    try:
        plan = rg.plan_update(params["replication_group_id"], observed, params)
    except ElastiCacheError as exc:
        seen.note("redis", [exc.msg])
        return
    seen.note("redis", ["%s" % change for change in plan.changes])


# ---- Secrets Manager ----------------------------------------------------------------------------------------------------


def read_secrets(reader, wanted, secret_values, seen):
    items = wanted.get("secrets") or {}
    if not items:
        return
    names = {item["name"]: key for key, item in items.items()}
    listed = reader.call("secretsmanager", "list_secrets", Filters=[{"Key": "name", "Values": sorted(names)}]).get("SecretList") or []
    metadata = {secret["Name"]: secret for secret in listed if secret.get("Name") in names}
    values = {}
    if metadata:
        answer = reader.call("secretsmanager", "batch_get_secret_value", SecretIdList=sorted(metadata))
        values = {secret["Name"]: secret.get("SecretString") for secret in answer.get("SecretValues") or []}
    arns = seen.ids.setdefault("secret_arns", {})
    hosts = {"database": seen.ids.get("database", {}).get("address", ""), "redis": seen.ids.get("redis", {}).get("primary_endpoint", "")}
    for name, key in sorted(names.items()):
        secret = metadata.get(name)
        if secret is None or secret.get("DeletedDate"):
            seen.note(key, [MISSING])
            continue
        arns[key] = secret["ARN"]
        item = items[key]
        found = []
        compare(found, "description", secret.get("Description") or "", item["description"])
        compare(found, "KMS key", secret.get("KmsKeyId"), None)
        compare(found, "rotation", bool(secret.get("RotationEnabled")), False)
        found += tag_differences(boto3_tag_list_to_ansible_dict(secret.get("Tags") or []), wanted["tags"], exact=True)
        wanted_value = dict(item.get("value") or {})
        wanted_value.update(secret_values.get(key) or {})
        if item.get("host_of"):
            wanted_value["host"] = hosts.get(item["host_of"], "")
            if not wanted_value["host"]:
                found.append("its host (the %s endpoint) does not exist yet" % item["host_of"])
        # secretsmanager_secret compares the stored text with its json_secret as JSON text (json.dumps), key order
        # included: so does this, or a value equal as data but written otherwise would be left for good.
        if values.get(name) != json.dumps(wanted_value):
            found.append("secret value")  # never the values themselves
        seen.note(key, found)


def per_zone(entry):
    """[{cidr, zone, tags}] of a per-zone entry (cidrs, zones, name_prefix, tags: Name is name_prefix + zone)."""
    return [{"cidr": cidr, "zone": zone, "tags": dict(entry["tags"], Name=entry["name_prefix"] + zone)}
            for cidr, zone in zip(entry["cidrs"], entry["zones"])]


def expand(wanted):
    """``wanted`` with its per-zone entries as lists of resources."""
    wanted = dict(wanted)
    for key in ("public_subnets", "private_subnets", "nat_gateways"):
        wanted[key] = per_zone(wanted[key])
    tables = wanted["private_route_tables"]
    first = (wanted["nat_gateways"] or [{"zone": None}])[0]["zone"]
    wanted["private_route_tables"] = [dict(item, subnet_cidr=item["cidr"], nat_zone=item["zone"] if tables.get("nat_per_zone") else first)
                                      for item in per_zone(tables)]
    wanted["nat_gateways"] = [dict(item, subnet_cidr=item["cidr"]) for item in wanted["nat_gateways"]]
    return wanted


def observe(client, wanted, secret_values=None):
    """Read the environment ``wanted`` describes; the module's result (in_sync, differences, ids, reads)."""
    wanted = expand(wanted)
    reader = Reader(client)
    seen = Seen()
    vpc_id = read_vpc(reader, wanted, seen)
    read_subnets(reader, wanted, seen, vpc_id)
    read_internet_gateway(reader, wanted, seen, vpc_id)
    read_nat_gateways(reader, wanted, seen, vpc_id)
    read_route_tables(reader, wanted, seen, vpc_id)
    read_log_groups(reader, wanted, seen)
    read_roles(reader, wanted, seen)
    read_flow_log(reader, wanted, seen, vpc_id)
    read_eks(reader, wanted, seen)
    read_security_groups(reader, wanted, seen, vpc_id)
    read_database(reader, wanted, seen)
    read_cache(reader, wanted, seen)
    read_secrets(reader, wanted, secret_values or {}, seen)
    in_sync = seen.in_sync
    return {"changed": False, "in_sync": in_sync, "differences": {key: found for key, found in seen.differences.items() if found},
            "ids": seen.ids, "reads": reader.reads, "all_in_sync": all(in_sync.values())}

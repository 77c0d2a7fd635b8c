# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""An ElastiCache replication group (Valkey or Redis OSS, cluster mode disabled): read, compared with the task, planned,
applied and waited for.

DescribeReplicationGroups does not return every setting: the engine version, the parameter group, the subnet group,
the security groups and the maintenance window are the member cache clusters' (DescribeCacheClusters), so the group
is read together with one of its members (the primary first). A setting that cannot be read is never guessed: a task
that sets it fails, naming it.

Every write is planned first: the immutable settings are refused before anything is sent, check mode stops after the
plan, and the writes go in an order AWS accepts (replicas added before failover is enabled, removed after it is
disabled), each once the group is ``available``.
"""

from __future__ import annotations

import time

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import normalize_boto3_result
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list, boto3_tag_list_to_ansible_dict, compare_aws_tags,
)
from ansible_collections.loyalty.platform.plugins.module_utils.elasticache.validate import ElastiCacheError, topology_problems, validate

# Settings that cannot be read (no member cluster could be described) are UNKNOWN, never guessed.
UNKNOWN = "(unknown)"
AVAILABLE = "available"
GONE = "gone"
FAILED_STATUSES = ("create-failed",)

# ModifyReplicationGroup's parameter for each setting it changes in place, in the order of the task's options.
MODIFY_PARAMETERS = (
    ("description", "ReplicationGroupDescription"),
    ("node_type", "CacheNodeType"),
    ("engine_version", "EngineVersion"),
    ("cache_parameter_group_name", "CacheParameterGroupName"),
    ("security_group_ids", "SecurityGroupIds"),
    ("automatic_failover_enabled", "AutomaticFailoverEnabled"),
    ("multi_az_enabled", "MultiAZEnabled"),
    ("snapshot_retention_limit", "SnapshotRetentionLimit"),
    ("preferred_maintenance_window", "PreferredMaintenanceWindow"),
)
# Settings AWS fixes when the group is created (or that this module treats so): a change needs a new group.
IMMUTABLE = ("engine", "port", "cache_subnet_group_name", "at_rest_encryption_enabled", "transit_encryption_enabled")
# Settings read from a member cache cluster, not from the replication group.
MEMBER_SETTINGS = ("engine_version", "cache_parameter_group_name", "cache_subnet_group_name", "security_group_ids", "preferred_maintenance_window")
# CreateReplicationGroup's parameter for each option (besides the id, the description, the engine and the port).
CREATE_PARAMETERS = (
    ("engine_version", "EngineVersion"),
    ("node_type", "CacheNodeType"),
    ("num_cache_clusters", "NumCacheClusters"),
    ("cache_parameter_group_name", "CacheParameterGroupName"),
    ("cache_subnet_group_name", "CacheSubnetGroupName"),
    ("security_group_ids", "SecurityGroupIds"),
    ("at_rest_encryption_enabled", "AtRestEncryptionEnabled"),
    ("transit_encryption_enabled", "TransitEncryptionEnabled"),
    ("auth_token", "AuthToken"),
    ("automatic_failover_enabled", "AutomaticFailoverEnabled"),
    ("multi_az_enabled", "MultiAZEnabled"),
    ("snapshot_retention_limit", "SnapshotRetentionLimit"),
    ("preferred_maintenance_window", "PreferredMaintenanceWindow"),
)
# Every compared setting, in the order of the diff.
COMPARED = ("description", "engine", "engine_version", "node_type", "num_cache_clusters", "port", "cache_parameter_group_name",
            "cache_subnet_group_name", "security_group_ids", "at_rest_encryption_enabled", "transit_encryption_enabled",
            "automatic_failover_enabled", "multi_az_enabled", "snapshot_retention_limit", "preferred_maintenance_window",
            "log_delivery_configurations")
DESTINATION_DETAILS = {
    "cloudwatch-logs": ("CloudWatchLogsDetails", "LogGroup"),
    "kinesis-firehose": ("KinesisFirehoseDetails", "DeliveryStream"),
}
# How the AUTH token shows in a diff: it is write-only in AWS and never shown.
TOKEN_BEFORE = {True: "(set, not readable)", False: "(none)"}
TOKEN_AFTER = {"rotate": "(new token added, the old one still accepted)", "set": "(new token only)"}
POLL_DELAYS = (2, 4, 8, 15)


class AwsCallError(Exception):
    """An AWS request that failed: the module hands ``exception`` and ``msg`` to fail_json_aws."""

    def __init__(self, exception, msg):
        super().__init__(msg)
        self.exception = exception
        self.msg = msg


def error_code(exc):
    return ((getattr(exc, "response", None) or {}).get("Error") or {}).get("Code")


class Api:
    """The ElastiCache requests the modules make; ``writes`` records every write sent, by operation name."""

    def __init__(self, client, sleep=time.sleep, clock=time.monotonic):
        self.client = client
        self.sleep = sleep
        self.clock = clock
        self.writes = []

    def _call(self, what, method, **kwargs):
        try:
            return getattr(self.client, method)(**kwargs)
        except Exception as exc:  # pylint: disable=broad-except
            # botocore's ClientError and BotoCoreError (connection, credentials, ...): fail_json_aws gives their details.
            raise AwsCallError(exc, what) from exc

    def _write(self, operation, what, method, **kwargs):
        self.writes.append(operation)
        return self._call(what, method, **kwargs)

    def describe_group(self, name):
        """The group, or None when there is none of that id."""
        try:
            return self._call("Failed to describe replication group %s" % name, "describe_replication_groups",
                              ReplicationGroupId=name)["ReplicationGroups"][0]
        except AwsCallError as exc:
            if error_code(exc.exception) == "ReplicationGroupNotFoundFault":
                return None
            raise

    def list_groups(self):
        return self._pages("Failed to list replication groups", "describe_replication_groups", "ReplicationGroups")

    def describe_cluster(self, cluster_id):
        """A cache cluster (with its nodes), or None when there is none of that id."""
        try:
            return self._call("Failed to describe cache cluster %s" % cluster_id, "describe_cache_clusters",
                              CacheClusterId=cluster_id, ShowCacheNodeInfo=True)["CacheClusters"][0]
        except AwsCallError as exc:
            if error_code(exc.exception) == "CacheClusterNotFound":
                return None
            raise

    def list_clusters(self):
        return self._pages("Failed to list cache clusters", "describe_cache_clusters", "CacheClusters", ShowCacheNodeInfo=True)

    def _pages(self, what, method, key, **kwargs):
        items = []
        marker = None
        while True:
            page = self._call(what, method, **dict(kwargs, **({"Marker": marker} if marker else {})))
            items.extend(page.get(key) or [])
            marker = page.get("Marker")
            if not marker:
                return items

    def tags(self, arn):
        """The tags of ``arn``, or None while ElastiCache refuses to list them (a group that is not available)."""
        try:
            answer = self._call("Failed to list the tags of %s" % arn, "list_tags_for_resource", ResourceName=arn)
        except AwsCallError as exc:
            if error_code(exc.exception) == "InvalidReplicationGroupState":
                return None
            raise
        return boto3_tag_list_to_ansible_dict(answer.get("TagList") or [])

    def create(self, request):
        name = request["ReplicationGroupId"]
        return self._write("CreateReplicationGroup", "Failed to create replication group %s" % name, "create_replication_group",
                           **request)["ReplicationGroup"]

    def modify(self, name, changes, apply_immediately):
        return self._write("ModifyReplicationGroup", "Failed to modify replication group %s" % name, "modify_replication_group",
                           ReplicationGroupId=name, ApplyImmediately=apply_immediately, **changes)["ReplicationGroup"]

    def increase_replicas(self, name, replicas):
        # ApplyImmediately=False "is not currently supported" (the API reference).
        return self._write("IncreaseReplicaCount", "Failed to add replicas to replication group %s" % name, "increase_replica_count",
                           ReplicationGroupId=name, NewReplicaCount=replicas, ApplyImmediately=True)["ReplicationGroup"]

    def decrease_replicas(self, name, replicas):
        return self._write("DecreaseReplicaCount", "Failed to remove replicas from replication group %s" % name, "decrease_replica_count",
                           ReplicationGroupId=name, NewReplicaCount=replicas, ApplyImmediately=True)["ReplicationGroup"]

    def delete(self, name, final_snapshot=None):
        request = {"ReplicationGroupId": name, "RetainPrimaryCluster": False}
        if final_snapshot:
            request["FinalSnapshotIdentifier"] = final_snapshot
        return self._write("DeleteReplicationGroup", "Failed to delete replication group %s" % name, "delete_replication_group",
                           **request)["ReplicationGroup"]

    def add_tags(self, arn, tags):
        self._write("AddTagsToResource", "Failed to tag %s" % arn, "add_tags_to_resource", ResourceName=arn,
                    Tags=ansible_dict_to_boto3_tag_list(tags))

    def remove_tags(self, arn, keys):
        self._write("RemoveTagsFromResource", "Failed to untag %s" % arn, "remove_tags_from_resource", ResourceName=arn, TagKeys=list(keys))


# ---- reading ----------------------------------------------------------------------------------------------------


def member_ids(group):
    """The member cache clusters, the primary first."""
    primaries = [member.get("CacheClusterId") for node_group in group.get("NodeGroups") or []
                 for member in node_group.get("NodeGroupMembers") or [] if member.get("CurrentRole") == "primary"]
    ordered = [cluster for cluster in primaries if cluster]
    ordered += [cluster for cluster in group.get("MemberClusters") or [] if cluster not in ordered]
    return ordered


def read_member(api, group):
    """One member cache cluster of ``group`` (the primary if it can be described), or None when none can be."""
    for cluster_id in member_ids(group):
        cluster = api.describe_cluster(cluster_id)
        if cluster is not None:
            return cluster
    return None


class Observed:
    """A replication group as read: the group, one member cache cluster (or None) and the tags (None: unreadable)."""

    def __init__(self, group, member, tags):
        self.group = group
        self.member = member
        self.tags = tags

    @property
    def status(self):
        return self.group.get("Status")


def observe(api, name):
    """The group of id ``name`` with a member and its tags, or None when it does not exist."""
    group = api.describe_group(name)
    if group is None:
        return None
    return Observed(group, read_member(api, group), api.tags(group["ARN"]) if group.get("ARN") else {})


def log_entry(log_type, destination_type, details, log_format):
    key, field = DESTINATION_DETAILS.get(destination_type, (None, None))
    destination = ((details or {}).get(key) or {}).get(field) if key else None
    return {"log_type": log_type, "destination_type": destination_type, "destination": destination, "log_format": log_format}


def current_log_delivery(group):
    """The group's log deliveries (pending ones as they will be; one being disabled counts as gone), by log type."""
    entries = {}
    for item in group.get("LogDeliveryConfigurations") or []:
        if item.get("Status") in ("disabling",):
            continue
        entries[item.get("LogType")] = log_entry(item.get("LogType"), item.get("DestinationType"), item.get("DestinationDetails"),
                                                 item.get("LogFormat"))
    for item in ((group.get("PendingModifiedValues") or {}).get("LogDeliveryConfigurations")) or []:
        entries[item.get("LogType")] = log_entry(item.get("LogType"), item.get("DestinationType"), item.get("DestinationDetails"),
                                                 item.get("LogFormat"))
    return [entries[log_type] for log_type in sorted(entries)]


def group_port(group, member):
    node_group = (group.get("NodeGroups") or [{}])[0]
    for endpoint in (node_group.get("PrimaryEndpoint"), group.get("ConfigurationEndpoint")):
        if endpoint and endpoint.get("Port") is not None:
            return endpoint["Port"]
    for node in (member or {}).get("CacheNodes") or []:
        if (node.get("Endpoint") or {}).get("Port") is not None:
            return node["Endpoint"]["Port"]
    return None


def current_settings(group, member):
    """Every compared setting of the group in the task's terms; member settings are UNKNOWN without a member."""
    pending = (member or {}).get("PendingModifiedValues") or {}
    failover = ((group.get("PendingModifiedValues") or {}).get("AutomaticFailoverStatus") or group.get("AutomaticFailover") or "disabled")
    port = group_port(group, member)
    settings = {
        "description": group.get("Description"),
        "engine": group.get("Engine") or (member or {}).get("Engine") or UNKNOWN,
        "node_type": pending.get("CacheNodeType") or group.get("CacheNodeType"),
        "num_cache_clusters": len(group.get("MemberClusters") or []),
        "port": UNKNOWN if port is None else port,
        "at_rest_encryption_enabled": bool(group.get("AtRestEncryptionEnabled")),
        "transit_encryption_enabled": bool(group.get("TransitEncryptionEnabled")),
        "automatic_failover_enabled": failover in ("enabled", "enabling"),
        "multi_az_enabled": group.get("MultiAZ") == "enabled",
        "snapshot_retention_limit": group.get("SnapshotRetentionLimit") or 0,
        "log_delivery_configurations": current_log_delivery(group),
    }
    if member is None:
        settings.update({field: UNKNOWN for field in MEMBER_SETTINGS})
    else:
        settings.update({
            "engine_version": pending.get("EngineVersion") or member.get("EngineVersion"),
            "cache_parameter_group_name": (member.get("CacheParameterGroup") or {}).get("CacheParameterGroupName"),
            "cache_subnet_group_name": member.get("CacheSubnetGroupName"),
            "security_group_ids": sorted(item["SecurityGroupId"] for item in member.get("SecurityGroups") or [] if item.get("SecurityGroupId")),
            "preferred_maintenance_window": (member.get("PreferredMaintenanceWindow") or "").lower() or None,
        })
    return settings


def wanted_log_delivery(entries):
    wanted = [{"log_type": item["log_type"], "destination_type": item["destination_type"], "destination": item["destination"].strip(),
               "log_format": item.get("log_format") or "text"} for item in entries]
    return sorted(wanted, key=lambda item: item["log_type"])


def wanted_settings(params):
    """The compared settings the task sets (an option left out is not compared), normalized as current_settings reads them."""
    wanted = {field: params[field] for field in COMPARED if params.get(field) is not None}
    if "security_group_ids" in wanted:
        wanted["security_group_ids"] = sorted(set(wanted["security_group_ids"]))
    if "preferred_maintenance_window" in wanted:
        wanted["preferred_maintenance_window"] = wanted["preferred_maintenance_window"].lower()
    if "log_delivery_configurations" in wanted:
        wanted["log_delivery_configurations"] = wanted_log_delivery(wanted["log_delivery_configurations"])
    return wanted


def version_matches(current, wanted):
    """Whether the running ``current`` engine version is the ``wanted`` one: 7.1 is 7.1.0, 6.x any 6."""
    if current == wanted:
        return True
    have = str(current).split(".")
    want = str(wanted).split(".")
    if len(want) > len(have):
        return False
    return all(part in ("x", "X") or part == have[index] for index, part in enumerate(want))


def same(field, current, wanted):
    if field == "engine_version":
        return version_matches(current, wanted)
    return current == wanted


# ---- planning ---------------------------------------------------------------------------------------------------


class Plan:
    """What a run changes on an existing group: the ModifyReplicationGroup arguments, the replica count, the tags."""

    def __init__(self):
        self.changes = []
        self.modify = {}
        self.replicas = None
        self.more_replicas = False
        self.tags_to_add = {}
        self.tags_to_remove = []
        self.before = {}
        self.after = {}
        self.warnings = []

    def note(self, field, before, after):
        if field not in self.changes:
            self.changes.append(field)
        self.before[field] = before
        self.after[field] = after


def immutable_message(name, field, current, wanted):
    return ("replication group %s: %s cannot be changed in place (it is %s, the task wants %s); to change it, recreate the group: "
            "run the task with state=absent, then with state=present (its data is lost unless restored from a snapshot)"
            % (name, field, text(current), text(wanted)))


def unreadable_message(name, group, member, fields):
    why = []
    from_members = [field for field in fields if field in MEMBER_SETTINGS]
    if from_members and member is None:
        why.append("%s are read from the member cache clusters, and none of them (%s) could be described"
                   % (", ".join(from_members), ", ".join(member_ids(group)) or "it lists none"))
    others = [field for field in fields if field not in from_members]
    if others:
        why.append("%s not in its description" % ", ".join(others))
    return "replication group %s (status %s): cannot compare %s with the task: %s" % (
        name, group.get("Status"), ", ".join(fields), "; ".join(why))


def text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def log_delivery_request(entry, enabled=True):
    """A LogDeliveryConfigurationRequest: the whole destination to enable or change one, only the type to disable one."""
    if not enabled:
        return {"LogType": entry["log_type"], "Enabled": False}
    key, field = DESTINATION_DETAILS[entry["destination_type"]]
    return {"LogType": entry["log_type"], "DestinationType": entry["destination_type"], "DestinationDetails": {key: {field: entry["destination"]}},
            "LogFormat": entry["log_format"], "Enabled": True}


def log_delivery_changes(current, wanted):
    """The requests that turn the ``current`` log deliveries into the ``wanted`` ones (both lists of entries)."""
    have = {entry["log_type"]: entry for entry in current}
    want = {entry["log_type"]: entry for entry in wanted}
    requests = [log_delivery_request(entry) for log_type, entry in sorted(want.items()) if have.get(log_type) != entry]
    requests += [log_delivery_request(entry, enabled=False) for log_type, entry in sorted(have.items()) if log_type not in want]
    return requests


def check_cluster_mode(name, group):
    if group.get("ClusterEnabled") or (group.get("ClusterMode") or "disabled") != "disabled":
        raise ElastiCacheError("replication group %s has cluster mode %s (shards); this module manages cluster-mode-disabled groups only "
                               "(one primary and its replicas)" % (name, group.get("ClusterMode") or "enabled"))


def plan_update(name, observed, params):
    """The Plan that brings the existing group to the task; raises ElastiCacheError for what cannot be done in place."""
    group = observed.group
    check_cluster_mode(name, group)
    current = current_settings(group, observed.member)
    wanted = wanted_settings(params)
    unreadable = [field for field in wanted if current.get(field) == UNKNOWN]
    if unreadable:
        raise ElastiCacheError(unreadable_message(name, group, observed.member, unreadable), unreadable=unreadable)
    refused = [field for field in IMMUTABLE if field in wanted and not same(field, current[field], wanted[field])]
    if refused:
        raise ElastiCacheError("; ".join(immutable_message(name, field, current[field], wanted[field]) for field in refused), refused=refused)
    clusters = wanted.get("num_cache_clusters", current["num_cache_clusters"])
    failover = wanted.get("automatic_failover_enabled", current["automatic_failover_enabled"])
    multi_az = wanted.get("multi_az_enabled", current["multi_az_enabled"])
    problems = topology_problems(clusters, failover, multi_az)
    if problems:
        raise ElastiCacheError("replication group %s: %s (an option the task leaves out keeps the group's value: %d cache clusters, automatic "
                               "failover %s, Multi-AZ %s)" % (name, "; ".join(problems), current["num_cache_clusters"],
                                                              text(current["automatic_failover_enabled"]), text(current["multi_az_enabled"])))

    plan = Plan()
    for field in COMPARED:
        if field in wanted:
            # A matching value shows as the group's (engine version 7.1 is the running 7.1.0): the diff shows only changes.
            plan.before[field] = current[field]
            plan.after[field] = current[field] if same(field, current[field], wanted[field]) else wanted[field]
    for field, parameter in MODIFY_PARAMETERS:
        if field in wanted and not same(field, current[field], wanted[field]):
            plan.note(field, current[field], wanted[field])
            plan.modify[parameter] = wanted[field]
    if "log_delivery_configurations" in wanted:
        requests = log_delivery_changes(current["log_delivery_configurations"], wanted["log_delivery_configurations"])
        if requests:
            plan.note("log_delivery_configurations", current["log_delivery_configurations"], wanted["log_delivery_configurations"])
            plan.modify["LogDeliveryConfigurations"] = requests
    if "num_cache_clusters" in wanted and wanted["num_cache_clusters"] != current["num_cache_clusters"]:
        plan.note("num_cache_clusters", current["num_cache_clusters"], wanted["num_cache_clusters"])
        # Cluster mode disabled: NewReplicaCount is the number of replicas of the group, its cache clusters but the primary.
        plan.replicas = wanted["num_cache_clusters"] - 1
        plan.more_replicas = wanted["num_cache_clusters"] > current["num_cache_clusters"]
    plan_auth_token(name, group, params, plan)
    plan_tags(observed.tags, params, plan)
    return plan


def plan_auth_token(name, group, params, plan):
    update = params.get("auth_token_update") or "on_create"
    has_token = bool(group.get("AuthTokenEnabled"))
    if update in TOKEN_AFTER:
        plan.note("auth_token", TOKEN_BEFORE[has_token], TOKEN_AFTER[update])
        plan.modify["AuthToken"] = params["auth_token"]
        plan.modify["AuthTokenUpdateStrategy"] = update.upper()
    elif params.get("auth_token") is not None and not has_token:
        plan.warnings.append("replication group %s has no AUTH token, and auth_token is only used to create a group with "
                             "auth_token_update=on_create; use auth_token_update=rotate to add it" % name)


def plan_tags(current_tags, params, plan):
    if params.get("tags") is None:
        return
    if current_tags is None:
        # Only in check mode (a real run waits until the group is available, when its tags can be read).
        plan.warnings.append("the tags of the replication group cannot be read while it is not available, so they were not compared")
        return
    to_add, to_remove = compare_aws_tags(current_tags, params["tags"], params.get("purge_tags", True))
    if to_add or to_remove:
        after = {key: value for key, value in current_tags.items() if key not in to_remove}
        after.update(to_add)
        plan.note("tags", dict(current_tags), after)
        plan.tags_to_add = to_add
        plan.tags_to_remove = list(to_remove)
    else:
        plan.before["tags"] = plan.after["tags"] = dict(current_tags)


def create_request(name, params):
    """The CreateReplicationGroup arguments for the task."""
    request = {"ReplicationGroupId": name, "ReplicationGroupDescription": params["description"], "Engine": params["engine"], "Port": params["port"]}
    for field, parameter in CREATE_PARAMETERS:
        if params.get(field) is not None:
            request[parameter] = params[field]
    if params.get("security_group_ids") is not None:
        request["SecurityGroupIds"] = sorted(set(params["security_group_ids"]))
    if params.get("log_delivery_configurations"):
        request["LogDeliveryConfigurations"] = [log_delivery_request(entry) for entry in wanted_log_delivery(params["log_delivery_configurations"])]
    if params.get("tags"):
        request["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    return request


def plan_create(name, params):
    """Refusals of a creation (before any write) and its diff."""
    if params.get("description") is None:
        raise ElastiCacheError("replication group %s does not exist, and creating it needs a description" % name)
    problems = topology_problems(params.get("num_cache_clusters") or 1, bool(params.get("automatic_failover_enabled")),
                                 bool(params.get("multi_az_enabled")))
    if problems:
        raise ElastiCacheError("replication group %s: %s (num_cache_clusters defaults to 1, automatic_failover_enabled and multi_az_enabled to "
                               "false)" % (name, "; ".join(problems)))
    after = wanted_settings(params)
    if params.get("auth_token") is not None:
        after["auth_token"] = "(set)"
    if params.get("tags"):
        after["tags"] = dict(params["tags"])
    return {"before": {}, "after": after}


# ---- waiting ----------------------------------------------------------------------------------------------------


def unsettled_member(api, group, members):
    """Why the member cache clusters are not settled yet, or None: every member ``available``, every other id of ``members``
    (clusters a DecreaseReplicaCount removes) gone. The group reads ``available`` again before its new or removed members
    have settled, and a write meanwhile is refused."""
    current = group.get("MemberClusters") or []
    for cluster_id in current:
        cluster = api.describe_cluster(cluster_id)
        status = cluster.get("CacheClusterStatus") if cluster else "not describable"
        if status != AVAILABLE:
            return "member cache cluster %s is %s" % (cluster_id, status)
    for cluster_id in members:
        if cluster_id not in current:
            cluster = api.describe_cluster(cluster_id)
            if cluster is not None:
                return "removed cache cluster %s is still %s" % (cluster_id, cluster.get("CacheClusterStatus"))
    return None


def wait_for(api, name, wanted, timeout, members=None):
    """Poll until the group is ``available`` (returns it) or gone (returns None); fail past ``timeout`` seconds.

    With ``members`` (the member ids before a replica change), ``available`` also needs the member clusters settled."""
    deadline = api.clock() + timeout
    attempt = 0
    while True:
        group = api.describe_group(name)
        status = group.get("Status") if group else GONE
        if wanted == GONE and group is None:
            return None
        if wanted == AVAILABLE:
            if group is None:
                raise ElastiCacheError("replication group %s disappeared while the module waited for it to become available" % name)
            if status in FAILED_STATUSES:
                raise ElastiCacheError("replication group %s is %s: delete it (state=absent) and create it again" % (name, status), status=status)
            if status == AVAILABLE:
                unsettled = unsettled_member(api, group, members) if members is not None else None
                if unsettled is None:
                    return group
                status = "%s (%s)" % (status, unsettled)
        remaining = deadline - api.clock()
        if remaining <= 0:
            raise ElastiCacheError("replication group %s: timed out after %d seconds (wait_timeout) waiting for it to %s; its last status was %s"
                                   % (name, timeout, "become available" if wanted == AVAILABLE else "be deleted", status), status=status)
        api.sleep(min(POLL_DELAYS[min(attempt, len(POLL_DELAYS) - 1)], remaining))
        attempt += 1


# ---- results ----------------------------------------------------------------------------------------------------


def endpoint_of(endpoint):
    if not endpoint:
        return None
    return {"address": endpoint.get("Address"), "port": endpoint.get("Port")}


def group_result(observed):
    """The group as the modules return it: DescribeReplicationGroups snake_cased, with its member settings and tags."""
    if observed is None:
        return {}
    group = observed.group
    result = camel_dict_to_snake_dict(normalize_boto3_result(group))
    settings = current_settings(group, observed.member)
    node_group = (group.get("NodeGroups") or [{}])[0]
    result.update({
        "num_cache_clusters": settings["num_cache_clusters"],
        "port": None if settings["port"] == UNKNOWN else settings["port"],
        "primary_endpoint": endpoint_of(node_group.get("PrimaryEndpoint")),
        "reader_endpoint": endpoint_of(node_group.get("ReaderEndpoint")),
        "tags": None if observed.tags is None else dict(observed.tags),
    })
    for field in MEMBER_SETTINGS:
        result[field] = None if settings[field] == UNKNOWN else settings[field]
    return result


# ---- the states -------------------------------------------------------------------------------------------------


def ensure_present(api, params, check_mode=False):
    name = params["replication_group_id"].lower()
    observed = observe(api, name)
    if observed is not None and observed.status == "deleting":
        raise ElastiCacheError("replication group %s is being deleted; run the task again once it is gone" % name, status="deleting")
    if observed is None:
        return create(api, name, params, check_mode)
    if observed.status in FAILED_STATUSES:
        raise ElastiCacheError("replication group %s is %s: delete it (state=absent) and create it again" % (name, observed.status),
                               status=observed.status)
    if observed.tags is None and params.get("tags") is not None and not check_mode:
        # ElastiCache lists tags only of an available group; nothing can be written before that anyway.
        wait_for(api, name, AVAILABLE, params["wait_timeout"])
        observed = observe(api, name)
    plan = plan_update(name, observed, params)
    result = {"changed": bool(plan.changes), "changes": plan.changes, "diff": {"before": plan.before, "after": plan.after},
              "warnings": plan.warnings}
    if not plan.changes or check_mode:
        result["replication_group"] = group_result(observed)
        return result
    apply_plan(api, name, observed, plan, params)
    final = observe(api, name)
    if final is not None and final.tags is None and "tags" in plan.after:
        # Not listable until the group is available again (without wait): they are the ones just written.
        final.tags = plan.after["tags"]
    result["replication_group"] = group_result(final)
    return result


def create(api, name, params, check_mode):
    diff = plan_create(name, params)
    result = {"changed": True, "changes": ["created"], "diff": diff, "warnings": []}
    if check_mode:
        result["replication_group"] = {}
        return result
    api.create(create_request(name, params))
    if params["wait"]:
        wait_for(api, name, AVAILABLE, params["wait_timeout"])
    result["replication_group"] = group_result(observe(api, name))
    return result


def apply_plan(api, name, observed, plan, params):
    """The writes of ``plan``, each once the group is available: the tags first (ElastiCache refuses them while the group is
    modifying, and tagging makes it modifying for a while), then the replicas added before ModifyReplicationGroup (failover
    may need them) or removed after it (once failover is off). After a replica change, the next write and the final wait also
    wait for the member clusters."""
    arn = observed.group.get("ARN")
    steps = []
    if plan.tags_to_remove:
        steps.append((False, lambda: api.remove_tags(arn, plan.tags_to_remove)))
    if plan.tags_to_add:
        steps.append((False, lambda: api.add_tags(arn, plan.tags_to_add)))
    if plan.replicas is not None and plan.more_replicas:
        steps.append((True, lambda: api.increase_replicas(name, plan.replicas)))
    if plan.modify:
        steps.append((False, lambda: api.modify(name, plan.modify, params["apply_immediately"])))
    if plan.replicas is not None and not plan.more_replicas:
        steps.append((True, lambda: api.decrease_replicas(name, plan.replicas)))
    members = None
    for changes_members, step in steps:
        # Tagging, too, makes the group modifying for a while.
        wait_for(api, name, AVAILABLE, params["wait_timeout"], members=members)
        step()
        if changes_members:
            members = list(observed.group.get("MemberClusters") or [])
    if params["wait"] and steps:
        wait_for(api, name, AVAILABLE, params["wait_timeout"], members=members)


def ensure_absent(api, params, check_mode=False):
    name = params["replication_group_id"].lower()
    observed = observe(api, name)
    if observed is None:
        return {"changed": False, "changes": [], "replication_group": {}, "diff": {"before": {}, "after": {}}}
    before = {field: value for field, value in current_settings(observed.group, observed.member).items() if value != UNKNOWN}
    if observed.status == "deleting":
        # Already on its way out: nothing to send, only to wait for.
        result = {"changed": False, "changes": [], "diff": {"before": before, "after": before}}
        if params["wait"] and not check_mode:
            wait_for(api, name, GONE, params["wait_timeout"])
            result["replication_group"] = {}
        else:
            result["replication_group"] = group_result(observed)
        return result
    result = {"changed": True, "changes": ["deleted"], "diff": {"before": before, "after": {}}}
    if check_mode:
        result["replication_group"] = group_result(observed)
        return result
    if observed.status not in (AVAILABLE,) + FAILED_STATUSES:
        # Creating, modifying or snapshotting: ElastiCache deletes an available (or failed) group only.
        wait_for(api, name, AVAILABLE, params["wait_timeout"])
    deleted = api.delete(name, params.get("final_snapshot_identifier"))
    if params["wait"]:
        wait_for(api, name, GONE, params["wait_timeout"])
        result["replication_group"] = {}
    else:
        result["replication_group"] = group_result(Observed(deleted, observed.member, observed.tags))
    return result


def replication_group(params, make_api, check_mode=False):
    """The module's work: every option checked, then (``make_api()`` gives the Api) the state."""
    validate(params)
    api = make_api()
    if params["state"] == "absent":
        return ensure_absent(api, params, check_mode)
    return ensure_present(api, params, check_mode)


def groups_info(api, name=None):
    """One group (by id; none when it does not exist) or every group, as group_result returns them."""
    if name:
        name = name.lower()
        observed = observe(api, name)
        return {"changed": False, "replication_groups": [group_result(observed)] if observed is not None else []}
    groups = api.list_groups()
    clusters = {cluster.get("CacheClusterId"): cluster for cluster in api.list_clusters() if cluster.get("ReplicationGroupId")} if groups else {}
    found = []
    for group in groups:
        member = next((clusters[cluster_id] for cluster_id in member_ids(group) if cluster_id in clusters), None)
        found.append(group_result(Observed(group, member, api.tags(group["ARN"]) if group.get("ARN") else {})))
    return {"changed": False, "replication_groups": found}


def run(module, work):
    """Run ``work()`` and exit with its result: an ElastiCacheError fails with its message, an AWS error through fail_json_aws."""
    try:
        result = work()
    except ElastiCacheError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except AwsCallError as exc:
        module.fail_json_aws(exc.exception, msg=exc.msg)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if "diff" in result and not module._diff:  # pylint: disable=protected-access
        result.pop("diff")
    module.exit_json(**result)

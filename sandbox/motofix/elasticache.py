"""ElastiCache: where moto 5's replication groups answer otherwise than the ElastiCache API reference says.

Replication groups with cluster mode disabled (one primary and its replicas) are what the collection manages; the
corrections keep moto's behaviour for cluster mode enabled groups where they would have to invent shards.
"""

import copy

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.elasticache.exceptions import (
    CacheClusterNotFound, CacheSubnetGroupNotFound, ElastiCacheException, InvalidParameterCombinationException,
    InvalidParameterValueException, ReplicationGroupNotFound,
)
from moto.elasticache.models import CacheCluster, ElastiCacheBackend, ReplicationGroup
from moto.elasticache.responses import ElastiCacheResponse

from .patching import add, wrap
from .pending import after, hold, linger

# NumCacheClusters of a group with cluster mode disabled: 1 to 6 (a primary and up to 5 replicas).
MAX_CACHE_CLUSTERS = 6
MAX_REPLICAS = MAX_CACHE_CLUSTERS - 1
# AuthToken (CreateReplicationGroup in the API reference): printable ASCII, 16 to 128 characters, and of the special
# characters only these.
AUTH_TOKEN_MIN = 16
AUTH_TOKEN_MAX = 128
AUTH_TOKEN_SPECIALS = "!&#$^<>-"
TOKEN_STRATEGIES = ("ROTATE", "SET", "DELETE")
# The messages ElastiCache answers with.
FAILOVER_NEEDS_TWO = "When using automatic failover, there must be at least 2 cache clusters in the replication group."
FAILOVER_NEEDS_REPLICA = "Must have at least 1 replica when cluster mode is disabled with auto failover enabled."
TOKEN_NEEDS_TLS = "The AUTH token is only supported when encryption-in-transit is enabled"
INVALID_TOKEN = "Invalid AuthToken provided."
# What a group has when CreateReplicationGroup names none: the engine's current default version, and windows that
# do not overlap (ElastiCache picks them per region; these are in the ranges it picks from).
DEFAULT_ENGINE_VERSIONS = {"redis": "7.1.0", "valkey": "8.0.1"}
DEFAULT_MAINTENANCE_WINDOW = "sat:06:30-sat:07:30"
DEFAULT_SNAPSHOT_WINDOW = "05:00-06:00"
LOG_ACTIVE = "Log delivery configuration is active."


class InvalidReplicationGroupState(ElastiCacheException):
    code = "InvalidReplicationGroupState"


def auth_token_ok(token):
    """Whether ElastiCache takes ``token`` as an AUTH token."""
    if not AUTH_TOKEN_MIN <= len(token) <= AUTH_TOKEN_MAX:
        return False
    return all(char.isascii() and (char.isalnum() or char in AUTH_TOKEN_SPECIALS) for char in token)


def check_auth_token(token, transit_encryption_enabled):
    if token is None:
        return
    if not transit_encryption_enabled:
        raise InvalidParameterValueException(TOKEN_NEEDS_TLS)
    if not auth_token_ok(str(token)):
        raise InvalidParameterValueException(INVALID_TOKEN)


def cluster_mode_disabled(group):
    return (group.cluster_mode or "disabled") == "disabled"


def default_parameter_group(engine, version):
    """The default parameter group of an engine version: default.redis7, default.redis6.x, default.valkey8."""
    major = str(version).split(".", 1)[0]
    if engine == "redis" and major in ("5", "6"):
        return "default.redis%s.x" % major if major == "6" else "default.redis5.0"
    return "default.%s%s" % (engine, major)


def _domain(group):
    """The DNS suffix moto gave the group's endpoints (what follows "master.")."""
    node_group = group.node_groups[0]
    address = (node_group.get("primary_endpoint") or {}).get("address") or ""
    if address.startswith("master."):
        return address[len("master."):]
    return "%s.cache.amazonaws.com" % group.replication_group_id


def _subnet_zones(backend, subnet_group_name):
    group = backend.cache_subnet_groups.get(subnet_group_name) if subnet_group_name else None
    zones = []
    for subnet in (group.subnets if group else []):
        zone = subnet.get("subnet_availability_zone")
        if isinstance(zone, str) and zone not in zones:
            zones.append(zone)
    return zones or ["%sa" % backend.region_name, "%sb" % backend.region_name, "%sc" % backend.region_name]


def _members(group):
    return [member for node_group in group.node_groups for member in node_group["node_group_members"]]


def _member_cluster(backend, group, member):
    """The cache cluster of one member of ``group``, as DescribeCacheClusters answers it for a member."""
    cluster = CacheCluster(
        account_id=backend.account_id, region_name=backend.region_name, cache_cluster_id=member["cache_cluster_id"],
        replication_group_id=group.replication_group_id, az_mode="single-az", preferred_availability_zone=member.get("preferred_availability_zone"),
        num_cache_nodes=1, cache_node_type=group.cache_node_type, engine=group.engine, engine_version=group.engine_version,
        cache_parameter_group_name=group.cache_parameter_group_name, cache_subnet_group_name=group.cache_subnet_group_name,
        transit_encryption_enabled=group.transit_encryption_enabled, network_type=group.network_type, ip_discovery=group.ip_discovery,
        snapshot_name=None, preferred_maintenance_window=group.preferred_maintenance_window, port=group.port,
        notification_topic_arn=group.notification_topic_arn, auto_minor_version_upgrade=group.auto_minor_version_upgrade,
        snapshot_retention_limit=group.snapshot_retention_limit, snapshot_window=group.snapshot_window, auth_token=None,
        outpost_mode=None, preferred_outpost_arn=None, preferred_availability_zones=None, cache_security_group_names=None,
        security_group_ids=list(group.security_group_ids or []), tags=None, snapshot_arns=None, preferred_outpost_arns=None,
        log_delivery_configurations=[], cache_node_ids_to_remove=None, cache_node_ids_to_reboot=None,
    )
    # CacheCluster only keeps these for engine "redis" (and sets no node count for "valkey").
    cluster.replication_group_id = group.replication_group_id
    cluster.num_cache_nodes = 1
    cluster.auth_token_enabled = group.auth_token_enabled
    cluster.auth_token_last_modified_date = group.auth_token_last_modified_date
    cluster.at_rest_encryption_enabled = group.at_rest_encryption_enabled
    address = (member.get("read_endpoint") or {}).get("address")
    cluster.motofix_endpoint = {"address": address, "port": group.port} if address else None
    backend.cache_clusters[cluster.cache_cluster_id] = cluster
    return cluster


def _sync_members(backend, group, **settings):
    for cluster_id in group.member_clusters:
        cluster = backend.cache_clusters.get(cluster_id)
        if cluster is not None:
            for name, value in settings.items():
                setattr(cluster, name, value)


def _hold_group(backend, group, action, pending_status):
    """The group (and its cache clusters) ``pending_status`` for the elasticache delay of ``action``, then available."""
    held = hold("elasticache", action, group, "status", pending_status, "available")
    for cluster_id in group.member_clusters:
        cluster = backend.cache_clusters.get(cluster_id)
        if cluster is not None:
            hold("elasticache", action, cluster, "cache_cluster_status", pending_status, "available")
    return held


def fix_cache_cluster_fields():
    """DescribeCacheClusters answers a cache cluster's ``SecurityGroups`` (id and status), ``CacheParameterGroup``,
    ``CacheNodes`` (with their endpoint), ``TransitEncryptionEnabled`` and ``AtRestEncryptionEnabled`` (false when off);
    moto keeps the security group ids and the parameter group name but answers neither, and no node at all."""

    @add(CacheCluster, "security_groups")
    @property
    def security_groups(self):
        return [{"SecurityGroupId": group_id, "Status": "active"} for group_id in self.security_group_ids or []]

    @add(CacheCluster, "cache_parameter_group")
    @property
    def cache_parameter_group(self):
        if not self.cache_parameter_group_name:
            return None
        return {"CacheParameterGroupName": self.cache_parameter_group_name, "ParameterApplyStatus": "in-sync", "CacheNodeIdsToReboot": []}

    @add(CacheCluster, "cache_nodes")
    @property
    def cache_nodes(self):
        member_endpoint = getattr(self, "motofix_endpoint", None)
        nodes = []
        for index in range(self.num_cache_nodes or 1):
            node_id = "%04d" % (index + 1)
            endpoint = member_endpoint or {"address": "%s.%s.%s.cache.amazonaws.com" % (self.cache_cluster_id, self.cache_node_id[:6], node_id),
                                           "port": self.port}
            nodes.append({"CacheNodeId": node_id, "CacheNodeStatus": self.cache_cluster_status, "CacheNodeCreateTime": self.cache_cluster_create_time,
                          "Endpoint": {"Address": endpoint["address"], "Port": endpoint["port"]}, "ParameterGroupStatus": "in-sync",
                          "CustomerAvailabilityZone": self.preferred_availability_zone})
        return nodes

    def get_transit(self):
        return bool(self.__dict__.get("_motofix_transit"))

    def set_transit(self, value):
        self.__dict__["_motofix_transit"] = value

    CacheCluster.transit_encryption_enabled = property(get_transit, set_transit)

    def get_at_rest(self):
        return bool(self.__dict__.get("_motofix_at_rest"))

    def set_at_rest(self, value):
        self.__dict__["_motofix_at_rest"] = value

    CacheCluster.at_rest_encryption_enabled = property(get_at_rest, set_at_rest)


def fix_create_replication_group():
    """CreateReplicationGroup as the API reference describes it, for cluster mode disabled:

    - NumCacheClusters is 1 to 6 (InvalidParameterValue otherwise) and the group gets that many cache clusters:
      MemberClusters lists them and NodeGroups[0].NodeGroupMembers has one primary and the replicas (moto made one
      cluster whatever the request asked);
    - AutomaticFailoverEnabled needs at least 2 cache clusters (InvalidParameterCombination);
    - AuthToken needs TransitEncryptionEnabled and is 16 to 128 printable ASCII characters, the only special characters
      being ! & # $ ^ < > - (InvalidParameterValue otherwise);
    - a CacheSubnetGroupName that does not exist is refused (CacheSubnetGroupNotFoundFault);
    - every member is a cache cluster DescribeCacheClusters finds (with the engine version, parameter group, subnet group,
      security groups and maintenance window the group was created with), in the subnet group's availability zones;
    - NodeGroups[0] has a ReaderEndpoint beside its PrimaryEndpoint; the snapshot window reads HH:MM-HH:MM.
    """

    @wrap(ReplicationGroup, "_set_node_members_clusters_disabled")
    def set_members(original, self, *args, **kwargs):
        # moto sizes the group from ReplicasPerNodeGroup only; NumCacheClusters is the group's size when it is given.
        if not kwargs.get("replicas_per_node_group") and (kwargs.get("num_cache_clusters") or 1) > 1:
            kwargs["replicas_per_node_group"] = kwargs["num_cache_clusters"] - 1
        return original(self, *args, **kwargs)

    @wrap(ElastiCacheBackend, "create_replication_group")
    def create_replication_group(original, self, replication_group_id, *args, **kwargs):
        disabled = (kwargs.get("cluster_mode") or "disabled") == "disabled" and (kwargs.get("num_node_groups") or 1) == 1
        if disabled:
            clusters = kwargs.get("num_cache_clusters")
            if clusters is not None and not 1 <= clusters <= MAX_CACHE_CLUSTERS:
                raise InvalidParameterValueException("The number of cache clusters must be between 1 and %d; %d was requested."
                                                     % (MAX_CACHE_CLUSTERS, clusters))
            if clusters is None:
                clusters = (kwargs.get("replicas_per_node_group") or 0) + 1
            if kwargs.get("automatic_failover_enabled") and clusters < 2:
                raise InvalidParameterCombinationException(FAILOVER_NEEDS_TWO)
        check_auth_token(kwargs.get("auth_token"), kwargs.get("transit_encryption_enabled"))
        subnet_group = kwargs.get("cache_subnet_group_name")
        if subnet_group and subnet_group not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(subnet_group)
        kwargs["log_delivery_configurations"] = [entry for entry in kwargs.get("log_delivery_configurations") or [] if entry.get("Enabled", True)]
        group = original(self, replication_group_id, *args, **kwargs)

        group.engine_version = group.engine_version or DEFAULT_ENGINE_VERSIONS.get(group.engine)
        group.cache_parameter_group_name = group.cache_parameter_group_name or default_parameter_group(group.engine, group.engine_version)
        group.preferred_maintenance_window = (group.preferred_maintenance_window or DEFAULT_MAINTENANCE_WINDOW).lower()
        if not kwargs.get("snapshot_window"):
            group.snapshot_window = DEFAULT_SNAPSHOT_WINDOW
        group.security_group_ids = list(group.security_group_ids or [])
        for entry in group.log_delivery_configurations:
            entry.pop("Enabled", None)
        zones = _subnet_zones(self, subnet_group)
        preferred = kwargs.get("preferred_cache_cluster_azs") or []
        for index, member in enumerate(_members(group)):
            if not preferred:
                member["preferred_availability_zone"] = zones[index % len(zones)]
        if cluster_mode_disabled(group):
            node_group = group.node_groups[0]
            node_group["reader_endpoint"] = {"address": node_group.get("reader_endpoint_address"), "port": group.port}
        for member in _members(group):
            _member_cluster(self, group, member)
        _hold_group(self, group, "create", "creating")
        return group


def fix_modify_replication_group():
    """ModifyReplicationGroup changes what the API reference says it does, and refuses what ElastiCache refuses:

    - SecurityGroupIds, CacheParameterGroupName, EngineVersion, PreferredMaintenanceWindow and CacheNodeType apply to the
      group's cache clusters (moto ignored all but the node type, and kept it on the group);
    - LogDeliveryConfigurations enable, change or (Enabled false) disable one log type each, the others untouched;
    - AuthToken with AuthTokenUpdateStrategy (ROTATE, the default, or SET) sets a new token and DELETE removes it; a token
      needs TransitEncryptionEnabled on the group and is checked as at creation (InvalidParameterValue);
    - AutomaticFailoverEnabled needs at least 2 cache clusters (InvalidParameterCombination); a group that is not
      ``available`` takes no modification (InvalidReplicationGroupState);
    - with an elasticache modify delay the group and its clusters are ``modifying`` that long (log deliveries
      ``enabling``, ``modifying`` or ``disabling``).
    """

    @add(ElastiCacheResponse, "modify_replication_group")
    def modify_replication_group(self):
        changes = {name: self._get_param(name) for name in (
            "ReplicationGroupDescription", "Engine", "EngineVersion", "CacheNodeType", "SecurityGroupIds", "CacheParameterGroupName",
            "PreferredMaintenanceWindow", "SnapshotWindow", "NotificationTopicArn", "AuthToken", "AuthTokenUpdateStrategy",
            "LogDeliveryConfigurations", "UserGroupIdsToAdd", "UserGroupIdsToRemove")}
        for name in ("AutomaticFailoverEnabled", "MultiAZEnabled", "AutoMinorVersionUpgrade", "ApplyImmediately"):
            changes[name] = self._get_bool_param(name)
        changes["SnapshotRetentionLimit"] = self._get_int_param("SnapshotRetentionLimit")
        group = self.elasticache_backend.motofix_modify_replication_group(self._get_param("ReplicationGroupId"),
                                                                          {name: value for name, value in changes.items() if value is not None})
        return ActionResult({"ReplicationGroup": group})

    @add(ElastiCacheBackend, "motofix_modify_replication_group")
    def motofix_modify_replication_group(self, replication_group_id, changes):
        group = self.replication_groups.get(replication_group_id)
        if group is None:
            raise ReplicationGroupNotFound(replication_group_id)
        if group.status != "available":
            raise InvalidReplicationGroupState("Replication group %s is %s; it must be available to be modified." % (replication_group_id, group.status))
        if changes.get("AutomaticFailoverEnabled") and cluster_mode_disabled(group) and len(group.member_clusters) < 2:
            raise InvalidParameterCombinationException(FAILOVER_NEEDS_TWO)
        strategy = changes.get("AuthTokenUpdateStrategy")
        token = changes.get("AuthToken")
        if strategy is not None and strategy not in TOKEN_STRATEGIES:
            raise InvalidParameterValueException("AuthTokenUpdateStrategy must be one of %s, not %s." % (", ".join(TOKEN_STRATEGIES), strategy))
        if strategy is not None and token is None and strategy != "DELETE":
            raise InvalidParameterValueException("AuthTokenUpdateStrategy can only be specified with AuthToken.")
        if token is not None:
            check_auth_token(token, group.transit_encryption_enabled)

        # What moto's own ModifyReplicationGroup handles (description, engine, node type, failover, Multi-AZ, snapshots).
        ElastiCacheBackend.modify_replication_group(
            self, replication_group_id, changes.get("ReplicationGroupDescription"), changes.get("Engine"), changes.get("CacheNodeType"),
            changes.get("AutomaticFailoverEnabled"), changes.get("MultiAZEnabled"), changes.get("SnapshotRetentionLimit"))
        member_settings = {}
        for parameter, attribute in (("CacheNodeType", "cache_node_type"), ("EngineVersion", "engine_version"),
                                     ("CacheParameterGroupName", "cache_parameter_group_name"), ("SnapshotWindow", "snapshot_window"),
                                     ("NotificationTopicArn", "notification_topic_arn"), ("AutoMinorVersionUpgrade", "auto_minor_version_upgrade"),
                                     ("SnapshotRetentionLimit", "snapshot_retention_limit")):
            if parameter in changes:
                setattr(group, attribute, changes[parameter])
                member_settings[attribute] = changes[parameter]
        if "PreferredMaintenanceWindow" in changes:
            group.preferred_maintenance_window = member_settings["preferred_maintenance_window"] = changes["PreferredMaintenanceWindow"].lower()
        if "SecurityGroupIds" in changes:
            group.security_group_ids = list(changes["SecurityGroupIds"])
            member_settings["security_group_ids"] = list(changes["SecurityGroupIds"])
        if "UserGroupIdsToAdd" in changes or "UserGroupIdsToRemove" in changes:
            removed = set(changes.get("UserGroupIdsToRemove") or [])
            group.user_group_ids = [item for item in group.user_group_ids if item not in removed] + [
                item for item in changes.get("UserGroupIdsToAdd") or [] if item not in group.user_group_ids]
        if token is not None or strategy == "DELETE":
            group.auth_token_enabled = strategy != "DELETE"
            group.auth_token_last_modified_date = utcnow()
            member_settings.update(auth_token_enabled=group.auth_token_enabled, auth_token_last_modified_date=group.auth_token_last_modified_date)
        _sync_members(self, group, **member_settings)
        if changes.get("LogDeliveryConfigurations"):
            _change_log_deliveries(group, changes["LogDeliveryConfigurations"])
        _hold_group(self, group, "modify", "modifying")
        return group


def _change_log_deliveries(group, requests):
    entries = group.log_delivery_configurations
    for request in requests:
        log_type = request.get("LogType")
        current = next((entry for entry in entries if entry.get("LogType") == log_type), None)
        if request.get("Enabled") is False:
            if current is None:
                continue

            def remove(entry=current):
                if entry in entries:
                    entries.remove(entry)

            current["Status"] = "disabling"
            after("elasticache", "modify", remove)
            continue
        entry = {key: copy.deepcopy(request[key]) for key in ("LogType", "DestinationType", "DestinationDetails", "LogFormat") if key in request}
        entry.update(Status="enabling" if current is None else "modifying", Message=LOG_ACTIVE)
        if current is None:
            entries.append(entry)
        else:
            entries[entries.index(current)] = entry

        def activate(entry=entry):
            entry["Status"] = "active"

        after("elasticache", "modify", activate)


def fix_replica_count():
    """IncreaseReplicaCount and DecreaseReplicaCount (moto has neither: it answers an internal error). For cluster mode
    disabled, NewReplicaCount is the number of replicas the group ends with (its cache clusters but the primary), more
    (fewer) than it has and at most 5; DecreaseReplicaCount may name the ReplicasToRemove instead, never the primary;
    a group with automatic failover keeps at least 1 replica (InvalidParameterValue); ApplyImmediately=false is not
    supported (the API reference). The group is ``modifying`` for the elasticache modify delay, new replicas
    ``creating``, removed ones ``deleting`` until they are gone."""

    def replicas(group):
        return [member for member in _members(group) if member.get("current_role") != "primary"]

    def check(group, apply_immediately):
        if group.status != "available":
            raise InvalidReplicationGroupState("Replication group %s is %s; it must be available to change its replicas."
                                               % (group.replication_group_id, group.status))
        if not cluster_mode_disabled(group):
            raise InvalidParameterValueException("The sandbox changes the replicas of cluster mode disabled replication groups only.")
        if apply_immediately is False:
            raise InvalidParameterValueException("ApplyImmediately=false is not currently supported.")

    @add(ElastiCacheBackend, "motofix_increase_replica_count")
    def increase_replica_count(self, replication_group_id, new_replica_count, apply_immediately):
        group = self.replication_groups.get(replication_group_id)
        if group is None:
            raise ReplicationGroupNotFound(replication_group_id)
        check(group, apply_immediately)
        have = len(replicas(group))
        if new_replica_count is None or not have < new_replica_count <= MAX_REPLICAS:
            raise InvalidParameterValueException("NewReplicaCount must be more than the %d replicas the group has and at most %d." % (have, MAX_REPLICAS))
        node_group = group.node_groups[0]
        used = {member["cache_cluster_id"] for member in node_group["node_group_members"]}
        zones = _subnet_zones(self, group.cache_subnet_group_name)
        number = 1
        for _count in range(new_replica_count - have):
            while "%s-%03d" % (group.replication_group_id, number) in used:
                number += 1
            cluster_id = "%s-%03d" % (group.replication_group_id, number)
            used.add(cluster_id)
            member = {"cache_cluster_id": cluster_id, "cache_node_id": node_group["node_group_id"], "current_role": "replica",
                      "read_endpoint": {"address": "%s.%s" % (cluster_id, _domain(group)), "port": group.port},
                      "preferred_availability_zone": zones[len(node_group["node_group_members"]) % len(zones)]}
            node_group["node_group_members"].append(member)
            group.member_clusters.append(cluster_id)
            cluster = _member_cluster(self, group, member)
            hold("elasticache", "modify", cluster, "cache_cluster_status", "creating", "available")
        hold("elasticache", "modify", group, "status", "modifying", "available")
        return group

    @add(ElastiCacheBackend, "motofix_decrease_replica_count")
    def decrease_replica_count(self, replication_group_id, new_replica_count, replicas_to_remove, apply_immediately):
        group = self.replication_groups.get(replication_group_id)
        if group is None:
            raise ReplicationGroupNotFound(replication_group_id)
        check(group, apply_immediately)
        current = replicas(group)
        if replicas_to_remove:
            names = {member["cache_cluster_id"] for member in current}
            wrong = [cluster_id for cluster_id in replicas_to_remove if cluster_id not in names]
            if wrong:
                raise InvalidParameterValueException("ReplicasToRemove names %s, which %s not a replica of %s."
                                                     % (", ".join(wrong), "is" if len(wrong) == 1 else "are", replication_group_id))
            leaving = [member for member in current if member["cache_cluster_id"] in replicas_to_remove]
        else:
            if new_replica_count is None or not 0 <= new_replica_count < len(current):
                raise InvalidParameterValueException("NewReplicaCount must be fewer than the %d replicas the group has and at least 0." % len(current))
            leaving = current[new_replica_count:]
        remaining = len(current) - len(leaving)
        if remaining < 1 and group.automatic_failover == "enabled":
            raise InvalidParameterValueException(FAILOVER_NEEDS_REPLICA)
        for member in leaving:
            cluster = self.cache_clusters.get(member["cache_cluster_id"])
            if cluster is not None:
                cluster.cache_cluster_status = "deleting"

        def remove():
            node_group = group.node_groups[0]
            for member in leaving:
                if member in node_group["node_group_members"]:
                    node_group["node_group_members"].remove(member)
                if member["cache_cluster_id"] in group.member_clusters:
                    group.member_clusters.remove(member["cache_cluster_id"])
                self.cache_clusters.pop(member["cache_cluster_id"], None)

        after("elasticache", "modify", remove)
        hold("elasticache", "modify", group, "status", "modifying", "available")
        return group

    @add(ElastiCacheResponse, "increase_replica_count")
    def increase_replica_count_response(self):
        group = self.elasticache_backend.motofix_increase_replica_count(
            self._get_param("ReplicationGroupId"), self._get_int_param("NewReplicaCount"), self._get_bool_param("ApplyImmediately"))
        return ActionResult({"ReplicationGroup": group})

    @add(ElastiCacheResponse, "decrease_replica_count")
    def decrease_replica_count_response(self):
        group = self.elasticache_backend.motofix_decrease_replica_count(
            self._get_param("ReplicationGroupId"), self._get_int_param("NewReplicaCount"), self._get_param("ReplicasToRemove"),
            self._get_bool_param("ApplyImmediately"))
        return ActionResult({"ReplicationGroup": group})


def fix_deletion():
    """DeleteReplicationGroup answers the group ``deleting``; ElastiCache then removes it and its cache clusters (all but
    the primary with RetainPrimaryCluster, which stays as a cluster of its own) and DescribeReplicationGroups answers
    ReplicationGroupNotFoundFault. moto keeps the group ``deleting`` forever (and DeleteCacheCluster a cluster).
    With an elasticache delete delay the group stays ``deleting`` that long."""

    @add(ElastiCacheBackend, "delete_replication_group")
    def delete_replication_group(self, replication_group_id, retain_primary_cluster):
        group = self.replication_groups.get(replication_group_id)
        if group is None:
            raise ReplicationGroupNotFound(replication_group_id)
        if group.status == "deleting":
            raise InvalidReplicationGroupState("Replication group %s is already being deleted." % replication_group_id)
        primary = next((member["cache_cluster_id"] for member in _members(group) if member.get("current_role") == "primary"), None)
        clusters = [self.cache_clusters.get(cluster_id) for cluster_id in group.member_clusters]
        for cluster in clusters:
            if cluster is not None and not (retain_primary_cluster and cluster.cache_cluster_id == primary):
                cluster.cache_cluster_status = "deleting"

        def gone():
            for cluster in clusters:
                if cluster is None:
                    continue
                if retain_primary_cluster and cluster.cache_cluster_id == primary:
                    cluster.replication_group_id = None
                elif self.cache_clusters.get(cluster.cache_cluster_id) is cluster:
                    del self.cache_clusters[cluster.cache_cluster_id]

        linger("elasticache", self.replication_groups, replication_group_id, group, "status", "deleting", gone=gone)
        return group

    @add(ElastiCacheBackend, "delete_cache_cluster")
    def delete_cache_cluster(self, cache_cluster_id):
        cluster = self.cache_clusters.get(cache_cluster_id) if cache_cluster_id else None
        if cluster is None:
            raise CacheClusterNotFound(cache_cluster_id)
        linger("elasticache", self.cache_clusters, cache_cluster_id, cluster, "cache_cluster_status", "deleting")
        return cluster


class CacheSubnetGroupInUse(ElastiCacheException):
    code = "CacheSubnetGroupInUse"


def fix_delete_cache_subnet_group():
    """DeleteCacheSubnetGroup deletes a subnet group no cache cluster uses (CacheSubnetGroupInUse otherwise,
    CacheSubnetGroupNotFoundFault for an unknown one). moto 5.2 does not implement it and answers 500, so nothing
    that tears down an environment can remove the group."""

    @add(ElastiCacheBackend, "motofix_delete_cache_subnet_group")
    def delete_cache_subnet_group(self, name):
        if name not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(name)
        if any(getattr(cluster, "cache_subnet_group_name", None) == name for cluster in self.cache_clusters.values()):
            raise CacheSubnetGroupInUse("Cache subnet group %s is currently in use by a cache cluster." % name)
        del self.cache_subnet_groups[name]

    @add(ElastiCacheResponse, "delete_cache_subnet_group")
    def delete_cache_subnet_group_response(self):
        self.elasticache_backend.motofix_delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
        return ActionResult({})


CORRECTIONS = (fix_cache_cluster_fields, fix_create_replication_group, fix_modify_replication_group, fix_replica_count, fix_deletion,
               fix_delete_cache_subnet_group)

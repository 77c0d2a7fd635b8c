"""An in-memory stand-in for the ElastiCache calls of the replication group modules, for unit tests.

It behaves as the API reference describes AWS, not as moto does: a group created with NumCacheClusters=N has N member
cache clusters (the first the primary), each describable with DescribeCacheClusters and holding the engine version,
parameter group, subnet group, security groups and maintenance window; writes put the group in ``modifying`` (or
``creating``) for ``busy_polls`` describes; a deleted group is ``deleting`` for ``busy_polls`` describes, then gone;
IncreaseReplicaCount and DecreaseReplicaCount change the member clusters, an added one ``creating`` and a removed one
``deleting`` for ``busy_polls`` of its own describes, while the group may read ``available`` already; a write is refused
(InvalidReplicationGroupState, InvalidCacheClusterState) until the group and its members are available, tags included;
tags are listed only of an available group, and tagging makes the group ``modifying`` for a while.
Every call is recorded in ``calls``.
"""

import copy
import datetime

from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "us-west-2"


def client_error(code, message, operation):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


class FakeElastiCache:
    """Replication groups by id; ``calls`` lists (operation, kwargs) of every request."""

    def __init__(self, busy_polls=0):
        self.groups = {}
        self.clusters = {}
        self.tags = {}
        self.calls = []
        self.busy_polls = busy_polls
        self._busy = {}
        self._cluster_busy = {}  # cache cluster id -> describes left while it is creating (added) or deleting (removed)
        self.removing = {}  # cache cluster id -> its description while DecreaseReplicaCount removes it
        self.fail = {}  # operation -> ClientError raised by its next call

    # -- helpers of the tests ---------------------------------------------------------------------------------

    def operations(self):
        return [operation for operation, _kwargs in self.calls]

    def writes(self):
        return [operation for operation in self.operations() if not operation.startswith(("Describe", "List"))]

    def _record(self, operation, kwargs):
        self.calls.append((operation, kwargs))
        if operation in self.fail:
            raise self.fail.pop(operation)

    def _domain(self, name):
        return "%s.abc123.usw2.cache.amazonaws.com" % name

    def _settle(self, name):
        """One describe of a busy group: it stays busy for busy_polls describes, then becomes available (or, deleting, is gone)."""
        group = self.groups.get(name)
        if group is None or group["Status"] == "available":
            return
        left = self._busy.get(name, 0)
        if left > 0:
            self._busy[name] = left - 1
            return
        if group["Status"] == "deleting":
            for cluster_id in group["MemberClusters"]:
                self.clusters.pop(cluster_id, None)
            del self.groups[name]
            self.tags.pop(group["ARN"], None)
        elif group["Status"] != "create-failed":
            group["Status"] = "available"

    def _busy_now(self, name, status):
        self.groups[name]["Status"] = status
        self._busy[name] = self.busy_polls

    def _members(self, name, count, settings, settling=False):
        """Make the group's member clusters ``count``; with ``settling``, as IncreaseReplicaCount and DecreaseReplicaCount do:
        an added cluster is ``creating`` and a removed one ``deleting`` for busy_polls of its describes."""
        group = self.groups[name]
        ids = ["%s-%03d" % (name, index) for index in range(1, count + 1)]
        for cluster_id in ids:
            if cluster_id not in self.clusters:
                self.clusters[cluster_id] = copy.deepcopy(dict(settings, CacheClusterId=cluster_id, ReplicationGroupId=name,
                                                               CacheClusterStatus="creating" if settling and self.busy_polls else "available"))
                if settling:
                    self._cluster_busy[cluster_id] = self.busy_polls
        for cluster_id in list(self.clusters):
            if self.clusters[cluster_id].get("ReplicationGroupId") == name and cluster_id not in ids:
                removed = self.clusters.pop(cluster_id)
                if settling and self.busy_polls:
                    self.removing[cluster_id] = dict(removed, CacheClusterStatus="deleting")
                    self._cluster_busy[cluster_id] = self.busy_polls
        group["MemberClusters"] = ids
        domain = self._domain(name)
        group["NodeGroups"][0]["NodeGroupMembers"] = [
            {"CacheClusterId": cluster_id, "CacheNodeId": "0001", "CurrentRole": "primary" if index == 0 else "replica",
             "ReadEndpoint": {"Address": "%s.%s" % (cluster_id, domain), "Port": group["NodeGroups"][0]["PrimaryEndpoint"]["Port"]}}
            for index, cluster_id in enumerate(ids)
        ]

    def _member_settings(self, name):
        return next(cluster for cluster in self.clusters.values() if cluster.get("ReplicationGroupId") == name)

    def _set_members(self, name, **settings):
        for cluster in self.clusters.values():
            if cluster.get("ReplicationGroupId") == name:
                cluster.update(copy.deepcopy(settings))

    def _not_found(self, name, operation):
        return client_error("ReplicationGroupNotFoundFault", "Replication group %s not found." % name, operation)

    def _require_available(self, name, operation):
        if name not in self.groups:
            raise self._not_found(name, operation)
        if self.groups[name]["Status"] != "available":
            raise client_error("InvalidReplicationGroupState", "Replication group must be in available state", operation)
        unsettled = [cluster_id for cluster_id, cluster in list(self.clusters.items()) + list(self.removing.items())
                     if cluster.get("ReplicationGroupId") == name and cluster["CacheClusterStatus"] != "available"]
        if unsettled:
            raise client_error("InvalidCacheClusterState", "Cache cluster %s is not available" % unsettled[0], operation)

    def _settle_cluster(self, cluster_id):
        left = self._cluster_busy.get(cluster_id)
        if left is None:
            return
        if left > 0:
            self._cluster_busy[cluster_id] = left - 1
            return
        del self._cluster_busy[cluster_id]
        if cluster_id in self.removing:
            del self.removing[cluster_id]
        elif cluster_id in self.clusters:
            self.clusters[cluster_id]["CacheClusterStatus"] = "available"

    # -- the API ------------------------------------------------------------------------------------------------

    def create_replication_group(self, **kwargs):
        self._record("CreateReplicationGroup", kwargs)
        name = kwargs["ReplicationGroupId"].lower()
        if name in self.groups:
            raise client_error("ReplicationGroupAlreadyExists", "Replication group %s already exists." % name, "CreateReplicationGroup")
        port = kwargs.get("Port", 6379)
        arn = "arn:aws:elasticache:%s:%s:replicationgroup:%s" % (REGION, ACCOUNT, name)
        self.groups[name] = {
            "ReplicationGroupId": name,
            "Description": kwargs["ReplicationGroupDescription"],
            "Status": "creating",
            "PendingModifiedValues": {},
            "MemberClusters": [],
            "NodeGroups": [{"NodeGroupId": "0001", "Status": "available",
                            "PrimaryEndpoint": {"Address": "master." + self._domain(name), "Port": port},
                            "ReaderEndpoint": {"Address": "replica." + self._domain(name), "Port": port},
                            "NodeGroupMembers": []}],
            "AutomaticFailover": "enabled" if kwargs.get("AutomaticFailoverEnabled") else "disabled",
            "MultiAZ": "enabled" if kwargs.get("MultiAZEnabled") else "disabled",
            "SnapshotRetentionLimit": kwargs.get("SnapshotRetentionLimit", 0),
            "SnapshotWindow": "05:00-06:00",
            "ClusterEnabled": False,
            "CacheNodeType": kwargs.get("CacheNodeType", "cache.t4g.micro"),
            "AuthTokenEnabled": bool(kwargs.get("AuthToken")),
            "TransitEncryptionEnabled": bool(kwargs.get("TransitEncryptionEnabled")),
            "AtRestEncryptionEnabled": bool(kwargs.get("AtRestEncryptionEnabled")),
            "ARN": arn,
            "LogDeliveryConfigurations": [dict({key: value for key, value in item.items() if key != "Enabled"}, Status="active")
                                          for item in kwargs.get("LogDeliveryConfigurations") or []],
            "ReplicationGroupCreateTime": datetime.datetime(2026, 3, 1, 2, 0, tzinfo=datetime.timezone.utc),
            "ClusterMode": "disabled",
            "Engine": kwargs.get("Engine", "redis"),
        }
        self._busy[name] = self.busy_polls
        member = {
            "Engine": kwargs.get("Engine", "redis"),
            "EngineVersion": {"7.1": "7.1.0", "7.0": "7.0.7"}.get(kwargs.get("EngineVersion"), kwargs.get("EngineVersion") or "7.1.0"),
            "CacheNodeType": kwargs.get("CacheNodeType", "cache.t4g.micro"),
            "CacheParameterGroup": {"CacheParameterGroupName": kwargs.get("CacheParameterGroupName", "default.redis7"),
                                    "ParameterApplyStatus": "in-sync"},
            "CacheSubnetGroupName": kwargs.get("CacheSubnetGroupName", "default"),
            "SecurityGroups": [{"SecurityGroupId": group, "Status": "active"} for group in kwargs.get("SecurityGroupIds") or []],
            "PreferredMaintenanceWindow": (kwargs.get("PreferredMaintenanceWindow") or "sun:05:00-sun:06:00").lower(),
            "CacheNodes": [{"CacheNodeId": "0001", "Endpoint": {"Address": "node", "Port": port}}],
            "PendingModifiedValues": {},
        }
        self._members(name, kwargs.get("NumCacheClusters", 1), member)
        if kwargs.get("Tags"):
            self.tags[arn] = {tag["Key"]: tag["Value"] for tag in kwargs["Tags"]}
        return {"ReplicationGroup": copy.deepcopy(self.groups[name])}

    def describe_replication_groups(self, **kwargs):
        self._record("DescribeReplicationGroups", kwargs)
        name = kwargs.get("ReplicationGroupId")
        if name is not None:
            name = name.lower()
            self._settle(name)
            if name not in self.groups:
                raise self._not_found(name, "DescribeReplicationGroups")
            return {"ReplicationGroups": [copy.deepcopy(self.groups[name])]}
        for group_id in list(self.groups):
            self._settle(group_id)
        return {"ReplicationGroups": [copy.deepcopy(group) for group in self.groups.values()]}

    def describe_cache_clusters(self, **kwargs):
        self._record("DescribeCacheClusters", kwargs)
        cluster_id = kwargs.get("CacheClusterId")
        if cluster_id is not None:
            self._settle_cluster(cluster_id)
            cluster = self.clusters.get(cluster_id) or self.removing.get(cluster_id)
            if cluster is None:
                raise client_error("CacheClusterNotFound", "Cache cluster %s not found." % cluster_id, "DescribeCacheClusters")
            return {"CacheClusters": [copy.deepcopy(cluster)]}
        return {"CacheClusters": [copy.deepcopy(cluster) for cluster in self.clusters.values()]}

    def list_tags_for_resource(self, **kwargs):
        self._record("ListTagsForResource", kwargs)
        name = kwargs["ResourceName"].rsplit(":", 1)[-1]
        if name in self.groups and self.groups[name]["Status"] != "available":
            raise client_error("InvalidReplicationGroupState", "Cluster not in available state to perform tagging operations.", "ListTagsForResource")
        return {"TagList": [{"Key": key, "Value": value} for key, value in sorted(self.tags.get(kwargs["ResourceName"], {}).items())]}

    def _tagging(self, arn, operation):
        name = arn.rsplit(":", 1)[-1]
        if name in self.groups and self.groups[name]["Status"] != "available":
            raise client_error("InvalidReplicationGroupState", "Replication group must be in available state to modify.", operation)

    def _tagged(self, arn):
        """Tagging a group makes it modifying for a while, as ElastiCache does."""
        name = arn.rsplit(":", 1)[-1]
        if name in self.groups:
            self._busy_now(name, "modifying")

    def add_tags_to_resource(self, **kwargs):
        self._record("AddTagsToResource", kwargs)
        self._tagging(kwargs["ResourceName"], "AddTagsToResource")
        self.tags.setdefault(kwargs["ResourceName"], {}).update({tag["Key"]: tag["Value"] for tag in kwargs["Tags"]})
        self._tagged(kwargs["ResourceName"])
        return {}

    def remove_tags_from_resource(self, **kwargs):
        self._record("RemoveTagsFromResource", kwargs)
        self._tagging(kwargs["ResourceName"], "RemoveTagsFromResource")
        for key in kwargs["TagKeys"]:
            self.tags.get(kwargs["ResourceName"], {}).pop(key, None)
        self._tagged(kwargs["ResourceName"])
        return {}

    def modify_replication_group(self, **kwargs):
        self._record("ModifyReplicationGroup", kwargs)
        name = kwargs["ReplicationGroupId"]
        self._require_available(name, "ModifyReplicationGroup")
        group = self.groups[name]
        if kwargs.get("MultiAZEnabled") and not kwargs.get("AutomaticFailoverEnabled", group["AutomaticFailover"] == "enabled"):
            raise client_error("InvalidParameterCombination", "Multi-AZ needs automatic failover", "ModifyReplicationGroup")
        simple = {"ReplicationGroupDescription": "Description", "CacheNodeType": "CacheNodeType", "SnapshotRetentionLimit": "SnapshotRetentionLimit"}
        for parameter, key in simple.items():
            if parameter in kwargs:
                group[key] = kwargs[parameter]
        if "AutomaticFailoverEnabled" in kwargs:
            group["AutomaticFailover"] = "enabled" if kwargs["AutomaticFailoverEnabled"] else "disabled"
        if "MultiAZEnabled" in kwargs:
            group["MultiAZ"] = "enabled" if kwargs["MultiAZEnabled"] else "disabled"
        if "AuthToken" in kwargs:
            group["AuthTokenEnabled"] = True
        member = {}
        if "EngineVersion" in kwargs:
            member["EngineVersion"] = kwargs["EngineVersion"] + ".0"
        if "CacheNodeType" in kwargs:
            member["CacheNodeType"] = kwargs["CacheNodeType"]
        if "CacheParameterGroupName" in kwargs:
            member["CacheParameterGroup"] = {"CacheParameterGroupName": kwargs["CacheParameterGroupName"], "ParameterApplyStatus": "applying"}
        if "SecurityGroupIds" in kwargs:
            member["SecurityGroups"] = [{"SecurityGroupId": group_id, "Status": "active"} for group_id in kwargs["SecurityGroupIds"]]
        if "PreferredMaintenanceWindow" in kwargs:
            member["PreferredMaintenanceWindow"] = kwargs["PreferredMaintenanceWindow"].lower()
        self._set_members(name, **member)
        for item in kwargs.get("LogDeliveryConfigurations") or []:
            kept = [entry for entry in group["LogDeliveryConfigurations"] if entry["LogType"] != item["LogType"]]
            if item.get("Enabled", True):
                kept.append(dict({key: value for key, value in item.items() if key != "Enabled"}, Status="active"))
            group["LogDeliveryConfigurations"] = kept
        self._busy_now(name, "modifying")
        return {"ReplicationGroup": copy.deepcopy(group)}

    def increase_replica_count(self, **kwargs):
        self._record("IncreaseReplicaCount", kwargs)
        return self._replicas(kwargs, "IncreaseReplicaCount", larger=True)

    def decrease_replica_count(self, **kwargs):
        self._record("DecreaseReplicaCount", kwargs)
        return self._replicas(kwargs, "DecreaseReplicaCount", larger=False)

    def _replicas(self, kwargs, operation, larger):
        name = kwargs["ReplicationGroupId"]
        self._require_available(name, operation)
        if kwargs.get("ApplyImmediately") is not True:
            raise client_error("InvalidParameterValue", "ApplyImmediately=False is not currently supported", operation)
        group = self.groups[name]
        wanted = kwargs["NewReplicaCount"] + 1
        have = len(group["MemberClusters"])
        if (wanted > have) != larger or wanted == have:
            raise client_error("InvalidParameterValue", "NewReplicaCount %d does not %s the replicas" % (
                kwargs["NewReplicaCount"], "increase" if larger else "decrease"), operation)
        if not larger and group["AutomaticFailover"] == "enabled" and wanted < 2:
            raise client_error("InvalidParameterCombination", "automatic failover needs a replica", operation)
        self._members(name, wanted, self._member_settings(name), settling=True)
        # As ElastiCache does: the group reads available again before its added or removed clusters have settled.
        self._busy_now(name, "modifying")
        return {"ReplicationGroup": copy.deepcopy(group)}

    def delete_replication_group(self, **kwargs):
        self._record("DeleteReplicationGroup", kwargs)
        name = kwargs["ReplicationGroupId"]
        if name not in self.groups:
            raise self._not_found(name, "DeleteReplicationGroup")
        if self.groups[name]["Status"] not in ("available", "create-failed"):
            raise client_error("InvalidReplicationGroupState", "Replication group must be in available state", "DeleteReplicationGroup")
        self._busy_now(name, "deleting")
        return {"ReplicationGroup": copy.deepcopy(self.groups[name])}


class FakeClock:
    """time.monotonic and time.sleep of a test: sleeping advances the clock."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

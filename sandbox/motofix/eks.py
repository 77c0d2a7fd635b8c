"""EKS: where moto 5's clusters and managed node groups answer otherwise than the EKS API reference says."""

import json
import uuid

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.eks import urls as eks_urls
from moto.eks.exceptions import InvalidParameterException, ResourceInUseException, ResourceNotFoundException
from moto.eks.models import EKSBackend
from moto.eks.responses import EKSResponse

from .patching import add, wrap
from .pending import hold, linger

# The control plane log types, in the order the EKS API reference lists them.
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# What CreateNodegroup leaves as the node group's update configuration when the request names none.
DEFAULT_UPDATE_CONFIG = {"maxUnavailable": 1}
ENDPOINT_KEYS = ("endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs")
CLUSTER_SG_DESCRIPTION = ("EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, "
                          "as well as any managed workloads.")


def _not_found(message, cluster=None, nodegroup=None):
    return ResourceNotFoundException(clusterName=cluster, nodegroupName=nodegroup, fargateProfileName=None, addonName=None, message=message)


def enabled_log_types(logging):
    """The log types a ``logging`` value ({"clusterLogging": [{"types": [...], "enabled": bool}]}) enables, entry after entry."""
    enabled = set()
    for entry in (logging or {}).get("clusterLogging") or []:
        for log_type in entry.get("types") or []:
            if log_type not in LOG_TYPES:
                raise InvalidParameterException(message="%s is not a valid log type; the log types are %s" % (log_type, ", ".join(LOG_TYPES)))
            if entry.get("enabled"):
                enabled.add(log_type)
            else:
                enabled.discard(log_type)
    return enabled


def logging_of(enabled):
    """DescribeCluster's ``logging``: every log type once, the enabled ones in one entry, the disabled ones in another."""
    groups = []
    on = [log_type for log_type in LOG_TYPES if log_type in enabled]
    off = [log_type for log_type in LOG_TYPES if log_type not in enabled]
    if on:
        groups.append({"types": on, "enabled": True})
    if off:
        groups.append({"types": off, "enabled": False})
    return {"clusterLogging": groups}


def param_text(value):
    """An update parameter's value as EKS writes it: JSON for lists, "true"/"false" for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _updates(backend):
    if not hasattr(backend, "motofix_updates"):
        backend.motofix_updates = {}
    return backend.motofix_updates


def start_update(backend, cluster, kind, params, nodegroup=None, update=None):
    """Record an update (DescribeUpdate finds it) and run it: Successful at once, or InProgress for the eks modify delay
    while the cluster (or node group) is UPDATING."""
    if update is None:
        update = {"id": str(uuid.uuid4()), "type": kind, "params": params, "createdAt": utcnow(), "errors": []}
    update["status"] = "Successful"
    _updates(backend)[update["id"]] = (cluster.name, nodegroup.nodegroup_name if nodegroup else None, update)

    def done():
        update["status"] = "Successful"

    if hold("eks", "modify", nodegroup or cluster, "status", "UPDATING", "ACTIVE", then=done):
        update["status"] = "InProgress"
    return update


def fix_nodegroup_update_config():
    """DescribeNodegroup always returns ``updateConfig``: the one CreateNodegroup was given, else ``{"maxUnavailable": 1}``
    (the API reference's NodegroupUpdateConfig; AWS fills it in for every managed node group). moto drops the request's
    updateConfig (and nodeRepairConfig) and answers none, so community.aws.eks_nodegroup fails on its second run with
    KeyError 'updateConfig'."""

    @wrap(EKSBackend, "create_nodegroup")
    def create_nodegroup(original, self, *args, **kwargs):
        nodegroup = original(self, *args, **kwargs)
        if not nodegroup.update_config:
            nodegroup.update_config = dict(DEFAULT_UPDATE_CONFIG)
        return nodegroup

    @wrap(EKSResponse, "create_nodegroup")
    def create_nodegroup_response(original, self):
        result = original(self)
        nodegroup = self.eks_backend.clusters[self._get_param("name")].nodegroups[self._get_param("nodegroupName")]
        if self._get_param("updateConfig"):
            nodegroup.update_config = self._get_param("updateConfig")
        if self._get_param("nodeRepairConfig"):
            nodegroup.node_repair_config = self._get_param("nodeRepairConfig")
        return result


def fix_tags_of_nodegroups():
    """TagResource, UntagResource and ListTagsForResource take the ARN of a cluster, a managed node group or a Fargate
    profile (the API reference's resourceArn). moto knows cluster ARNs only and answers ResourceNotFoundException for a
    node group, so community.aws.eks_nodegroup with ``tags`` fails as soon as the node group exists."""

    def resource(backend, arn):
        for cluster in backend.clusters.values():
            if cluster.arn == arn:
                return cluster
            for nodegroup in cluster.nodegroups.values():
                if nodegroup.arn == arn:
                    return nodegroup
            for profile in cluster.fargate_profiles.values():
                if profile.fargate_profile_arn == arn:
                    return profile
        raise _not_found("Resource was not found: %s" % arn)

    @add(EKSBackend, "tag_resource")
    def tag_resource(self, resource_arn, tags):
        resource(self, resource_arn).tags.update(tags or {})

    @add(EKSBackend, "untag_resource")
    def untag_resource(self, resource_arn, tag_keys):
        target = resource(self, resource_arn)
        for key in [tag_keys] if isinstance(tag_keys, str) else tag_keys or []:
            target.tags.pop(key, None)

    @add(EKSBackend, "list_tags_for_resource")
    def list_tags_for_resource(self, resource_arn):
        return resource(self, resource_arn).tags


def fix_cluster_config():
    """What CreateCluster and UpdateClusterConfig leave, as the EKS API reference describes them:

    - ``logging.clusterLogging`` lists every control plane log type, enabled or not; UpdateClusterConfig changes only the
      types it names (moto replaces the whole list with the request's, so one type disabled reads as all others gone),
      and a request that changes nothing is refused (InvalidParameterException, "No changes needed for the logging
      config provided");
    - ``resourcesVpcConfig`` keeps what an update does not name (moto replaces it: disabling the public endpoint lost the
      subnets), has the documented defaults (public endpoint on, private off, 0.0.0.0/0), the VPC id, and the cluster
      security group EKS creates (``clusterSecurityGroupId``, a group "eks-cluster-sg-<name>-..." in the VPC);
    - UpdateClusterConfig answers an ``update`` (moto answered the cluster, which boto3 drops), which DescribeUpdate and
      ListUpdates find (moto has neither); one update changes one kind of setting ("Only one type of update can be
      allowed."), and a cluster that is not ACTIVE takes none (ResourceInUseException); UpdateNodegroupConfig's update is
      found the same way (with nodegroupName), and a node group that is not ACTIVE takes none either.
    """

    @wrap(EKSBackend, "create_cluster")
    def create_cluster(original, self, *args, **kwargs):
        enabled = enabled_log_types(kwargs.get("logging"))  # an unknown log type is refused before anything is created
        cluster = original(self, *args, **kwargs)
        cluster.logging = logging_of(enabled)
        config = cluster.resources_vpc_config = dict(cluster.resources_vpc_config or {})
        config.setdefault("endpointPublicAccess", True)
        config.setdefault("endpointPrivateAccess", False)
        config.setdefault("publicAccessCidrs", ["0.0.0.0/0"])
        config.setdefault("securityGroupIds", [])
        ec2 = _ec2(self)
        if config.get("subnetIds") and "vpcId" not in config:
            try:
                config["vpcId"] = ec2.get_subnet(config["subnetIds"][0]).vpc_id
            except Exception:  # pylint: disable=broad-except
                # An unknown subnet: moto takes it, and so does this correction; the cluster just has no VPC id.
                config["vpcId"] = None
        if config.get("vpcId") and "clusterSecurityGroupId" not in config:
            group = ec2.create_security_group(
                "eks-cluster-sg-%s-%s" % (cluster.name, uuid.uuid4().hex[:10]), CLUSTER_SG_DESCRIPTION, vpc_id=config["vpcId"],
                tags={"aws:eks:cluster-name": cluster.name, "kubernetes.io/cluster/%s" % cluster.name: "owned"})
            config["clusterSecurityGroupId"] = group.id
        if config.get("vpcId") is None:
            config.pop("vpcId", None)
        return cluster

    @add(EKSBackend, "motofix_update_cluster_config")
    def motofix_update_cluster_config(self, name, resources_vpc_config=None, logging=None, kubernetes_network_config=None,
                                      remote_network_config=None):
        cluster = self.clusters.get(name)
        if cluster is None:
            raise _not_found("No cluster found for name: %s." % name, cluster=name)
        if len([part for part in (resources_vpc_config, logging, kubernetes_network_config, remote_network_config) if part]) > 1:
            raise InvalidParameterException(clusterName=name, message="Only one type of update can be allowed.")
        if cluster.status != "ACTIVE":
            raise ResourceInUseException(clusterName=name, nodegroupName=None, addonName=None,
                                         message="Cluster %s is %s; it takes an update once it is ACTIVE" % (name, cluster.status))
        if logging:
            before = enabled_log_types(cluster.logging)
            after = enabled_log_types({"clusterLogging": (cluster.logging or {}).get("clusterLogging", []) + logging.get("clusterLogging", [])})
            if before == after:
                raise InvalidParameterException(clusterName=name, message="No changes needed for the logging config provided")
            cluster.logging = logging_of(after)
            return start_update(self, cluster, "LoggingUpdate", [{"type": "ClusterLogging", "value": json.dumps(cluster.logging["clusterLogging"])}])
        if resources_vpc_config:
            cluster.resources_vpc_config = dict(cluster.resources_vpc_config or {}, **resources_vpc_config)
            kind = "EndpointAccessUpdate" if set(resources_vpc_config) <= set(ENDPOINT_KEYS) else "VpcConfigUpdate"
            params = [{"type": key[0].upper() + key[1:], "value": param_text(value)} for key, value in sorted(resources_vpc_config.items())]
            return start_update(self, cluster, kind, params)
        if kubernetes_network_config:
            cluster.kubernetes_network_config = dict(cluster.kubernetes_network_config or {}, **kubernetes_network_config)
            return start_update(self, cluster, "ConfigUpdate", [{"type": "KubernetesNetworkConfig", "value": json.dumps(kubernetes_network_config)}])
        if remote_network_config:
            cluster.remote_network_config = remote_network_config
            return start_update(self, cluster, "RemoteNetworkConfigUpdate", [{"type": "RemoteNetworkConfig", "value": json.dumps(remote_network_config)}])
        raise InvalidParameterException(clusterName=name, message="No changes needed for the cluster config provided")

    @add(EKSBackend, "update_cluster_config")
    def update_cluster_config(self, name, resources_vpc_config=None, logging=None, client_request_token=None,  # pylint: disable=unused-argument
                              kubernetes_network_config=None, remote_network_config=None):
        self.motofix_update_cluster_config(name, resources_vpc_config, logging, kubernetes_network_config, remote_network_config)
        return self.clusters[name]

    @add(EKSResponse, "update_cluster_config")
    def update_cluster_config_response(self):
        update = self.eks_backend.motofix_update_cluster_config(
            self._get_param("name"), resources_vpc_config=self._get_param("resourcesVpcConfig"), logging=self._get_param("logging"),
            kubernetes_network_config=self._get_param("kubernetesNetworkConfig"), remote_network_config=self._get_param("remoteNetworkConfig"))
        return ActionResult({"update": update})

    @wrap(EKSBackend, "update_nodegroup_config")
    def update_nodegroup_config(original, self, cluster_name, nodegroup_name, *args, **kwargs):
        nodegroup = self.clusters[cluster_name].nodegroups.get(nodegroup_name) if cluster_name in self.clusters else None
        if nodegroup is not None and nodegroup.status != "ACTIVE":
            raise ResourceInUseException(clusterName=cluster_name, nodegroupName=nodegroup_name, addonName=None,
                                         message="Nodegroup %s is %s; it takes an update once it is ACTIVE" % (nodegroup_name, nodegroup.status))
        update = original(self, cluster_name, nodegroup_name, *args, **kwargs)
        cluster = self.clusters[cluster_name]
        return start_update(self, cluster, update["type"], update["params"], nodegroup=cluster.nodegroups[nodegroup_name], update=update)

    @add(EKSResponse, "describe_update")
    def describe_update(self):
        name, update_id = self._get_param("name"), self._get_param("updateId")
        found = _updates(self.eks_backend).get(update_id)
        if found is None or found[0] != name or found[1] != self._get_param("nodegroupName"):
            raise _not_found("No update found for ID: %s" % update_id, cluster=name, nodegroup=self._get_param("nodegroupName"))
        return ActionResult({"update": found[2]})

    @add(EKSResponse, "list_updates")
    def list_updates(self):
        name = self._get_param("name")
        if name not in self.eks_backend.clusters:
            raise _not_found("No cluster found for name: %s." % name, cluster=name)
        nodegroup = self._get_param("nodegroupName")
        ids = [update_id for update_id, (cluster, group, _update) in _updates(self.eks_backend).items() if cluster == name and group == nodegroup]
        return ActionResult({"updateIds": ids})

    # DescribeUpdate and ListUpdates: GET /clusters/<name>/updates[/<updateId>] (flask reads these when it builds the EKS app).
    eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates$"] = eks_urls.response.dispatch
    eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$"] = eks_urls.response.dispatch


def _ec2(backend):
    from moto.ec2.models import ec2_backends  # pylint: disable=import-outside-toplevel

    return ec2_backends[backend.account_id][backend.region_name]


def fix_pending_states():
    """Clusters and node groups are CREATING after CreateCluster / CreateNodegroup and DELETING after DeleteCluster /
    DeleteNodegroup until EKS is done (DescribeCluster then answers ResourceNotFoundException); moto is ACTIVE at once and
    forgets a deleted one at once. With an eks delay (motofix.pending) they keep these states that long; the cluster's
    security group goes with the cluster, as EKS deletes the group it created."""

    @wrap(EKSBackend, "create_cluster")
    def create_cluster(original, self, *args, **kwargs):
        cluster = original(self, *args, **kwargs)
        hold("eks", "create", cluster, "status", "CREATING", "ACTIVE")
        return cluster

    @wrap(EKSBackend, "delete_cluster")
    def delete_cluster(original, self, name):
        cluster = original(self, name)
        group_id = (cluster.resources_vpc_config or {}).get("clusterSecurityGroupId")

        def gone():
            if group_id:
                try:
                    _ec2(self).delete_security_group(group_id=group_id)
                except Exception:  # pylint: disable=broad-except
                    # Already deleted by the test, or still referenced: AWS would retry; the sandbox leaves it.
                    pass

        linger("eks", self.clusters, name, cluster, "status", "DELETING", gone=gone)
        self.cluster_count = len(self.clusters)
        return cluster

    @wrap(EKSBackend, "create_nodegroup")
    def create_nodegroup(original, self, *args, **kwargs):
        nodegroup = original(self, *args, **kwargs)
        hold("eks", "create", nodegroup, "status", "CREATING", "ACTIVE")
        return nodegroup

    @wrap(EKSBackend, "delete_nodegroup")
    def delete_nodegroup(original, self, cluster_name, nodegroup_name):
        nodegroup = original(self, cluster_name, nodegroup_name)
        cluster = self.clusters[cluster_name]

        def recount():
            # moto refuses DeleteCluster by this count: a node group still DELETING keeps the cluster, as on EKS.
            cluster.nodegroup_count = len(cluster.nodegroups)

        linger("eks", cluster.nodegroups, nodegroup_name, nodegroup, "status", "DELETING", gone=recount)
        recount()
        return nodegroup


CORRECTIONS = (fix_nodegroup_update_config, fix_tags_of_nodegroups, fix_cluster_config, fix_pending_states)

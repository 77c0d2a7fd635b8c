"""EC2 (VPC): where moto 5's tags, NAT gateways and flow logs answer otherwise than the EC2 API reference says."""

from moto.ec2.exceptions import EC2ClientError, FlowLogAlreadyExists
from moto.ec2.models import tags as tags_model
from moto.ec2.models.flow_logs import FlowLogs, FlowLogsBackend
from moto.ec2.models.nat_gateways import NatGatewayBackend
from moto.ec2.utils import random_flow_log_id

from .patching import add, wrap
from .pending import hold

# moto's resource type, by id prefix, where it differs from the ResourceType EC2 uses (DescribeTags' resource-type
# filter and TagDescription.ResourceType, as in TagSpecifications).
AWS_RESOURCE_TYPES = {
    "nat": "natgateway",
    "eipalloc": "elastic-ip",
    "fl": "vpc-flow-log",
}
# Flow logs per network interface, subnet or VPC (the Amazon VPC quotas: 2, not adjustable).
FLOW_LOGS_PER_RESOURCE = 2
DEFAULT_LOG_FORMAT = ("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} "
                      "${start} ${end} ${action} ${log-status}")


def fix_tag_resource_types():
    """DescribeTags names a NAT gateway's resource type ``natgateway`` (an Elastic IP's ``elastic-ip``, a flow log's
    ``vpc-flow-log``): the values of the resource-type filter and of TagDescription.ResourceType in the EC2 API
    reference, the same as TagSpecifications take. moto says ``nat-gateway`` (``vpc-elastic-ip``, ``flow-logs``), so
    a DescribeTags filtered on resource-type natgateway finds nothing and amazon.aws.ec2_vpc_nat_gateway (like
    ec2_eip with elastic-ip) sees no tags and re-adds them on every run: changed forever."""
    tags_model.EC2_PREFIX_TO_RESOURCE = dict(tags_model.EC2_PREFIX_TO_RESOURCE, **AWS_RESOURCE_TYPES)


def fix_nat_gateway_lifecycle():
    """A NAT gateway is ``pending`` after CreateNatGateway and ``deleting`` after DeleteNatGateway until EC2 is done, then
    ``deleted``; once deleted, its network interface is gone and its Elastic IP disassociated (still allocated), as the
    EC2 user guide describes DeleteNatGateway. moto is ``available`` and ``deleted`` at once, keeps the interface and
    the association, and answers a DeleteNatGateway of an unknown id with an internal error instead of
    NatGatewayNotFound. With an ec2 delay (motofix.pending) the pending and deleting states last that long."""

    @wrap(NatGatewayBackend, "create_nat_gateway")
    def create_nat_gateway(original, self, *args, **kwargs):
        nat_gateway = original(self, *args, **kwargs)
        hold("ec2", "create", nat_gateway, "state", "pending", "available")
        return nat_gateway

    @wrap(NatGatewayBackend, "delete_nat_gateway")
    def delete_nat_gateway(original, self, nat_gateway_id):
        nat_gateway = self.nat_gateways.get(nat_gateway_id)
        if nat_gateway is None:
            raise EC2ClientError("NatGatewayNotFound", "The Nat Gateway %s was not found" % nat_gateway_id)
        if nat_gateway.state in ("deleting", "deleted"):
            return nat_gateway
        nat_gateway = original(self, nat_gateway_id)

        def release():
            for address in nat_gateway.address_set:
                allocation = address.get("allocationId")
                eips = self.address_by_allocation([allocation]) if allocation else []
                if eips and eips[0].association_id:
                    self.disassociate_address(address=eips[0].public_ip)
                address.pop("associationId", None)
            eni = getattr(nat_gateway, "_eni", None)
            if eni is not None and eni.id in self.enis:
                del self.enis[eni.id]

        hold("ec2", "delete", nat_gateway, "state", "deleting", "deleted", then=release)
        return nat_gateway


def fix_flow_logs():
    """CreateFlowLogs and DescribeFlowLogs as the EC2 API reference and the VPC user guide describe them:

    - FlowLogAlreadyExists is "a flow log with the specified configuration already exists": the same resource,
      destination type, destination, traffic type, log format, maximum aggregation interval and IAM role. A resource
      has up to 2 flow logs (the VPC quotas), which may differ in any of these and deliver to the same log group or
      bucket, so a flow log can be replaced new one first; a third is refused. moto refuses any second flow log of a
      resource to the same destination, whatever its configuration, and has no limit.
    - An S3 destination is a bucket's ARN, optionally with a folder (``arn:aws:s3:::bucket/folder/``): the bucket
      is the part before the first ``/``. moto takes the whole rest for the bucket's name and reports the resource
      unsuccessful ("LogDestination: bucket/folder/ does not exist.").
    - A cloud-watch-logs flow log is described with its LogGroupName and, as LogDestination, the log group's ARN
      (``arn:aws:logs:REGION:ACCOUNT:log-group:NAME``), whether the request named the group or gave its ARN. moto
      answers no LogDestination, and for a request with the ARN only no log group at all (its delivery FAILED).

    A duplicate and a third flow log are errors of the request (HTTP 400), as moto already answers the duplicate,
    not Unsuccessful items: the EC2 API's error codes list FlowLogAlreadyExists and FlowLogsLimitExceeded ("You've
    reached the limit on the number of flow logs you can create"), and AWS's own CloudFormation handler for
    AWS::EC2::FlowLog reads both codes from the exception of CreateFlowLogs, Unsuccessful items apart. The limit's
    message is that list's wording, not one seen in an answer. A request is checked whole: if any of its resources is
    refused, no flow log is created. Unsuccessful stays for a resource whose bucket does not exist, as moto has it."""

    def log_group_arn(backend, name):
        return "arn:%s:logs:%s:%s:log-group:%s" % (backend.partition, backend.region_name, backend.account_id, name)

    def log_group_of(arn):
        name = arn.split(":log-group:", 1)[1] if ":log-group:" in arn else arn
        return name[:-2] if name.endswith(":*") else name

    def configuration(flow_log):
        return (flow_log.resource_id, flow_log.log_destination_type, flow_log.log_destination, flow_log.traffic_type, flow_log.log_format,
                flow_log.max_aggregation_interval, flow_log.deliver_logs_permission_arn)

    def check_resource(backend, resource_type, resource_id):
        if resource_type == "VPC":
            backend.get_vpc(resource_id)
        elif resource_type == "Subnet":
            backend.get_subnet(resource_id)
        elif resource_type == "NetworkInterface":
            backend.get_network_interface(resource_id)

    def missing_bucket(backend, log_destination):
        from moto.s3.exceptions import MissingBucket  # pylint: disable=import-outside-toplevel
        from moto.s3.models import s3_backends  # pylint: disable=import-outside-toplevel

        bucket = log_destination.split(":", 5)[5].split("/", 1)[0]
        try:
            s3_backends[backend.account_id][backend.partition].get_bucket(bucket)
        except MissingBucket:
            return "LogDestination: %s does not exist." % bucket
        return None

    def log_group_exists(backend, name):
        from moto.logs.exceptions import ResourceNotFoundException  # pylint: disable=import-outside-toplevel
        from moto.logs.models import logs_backends  # pylint: disable=import-outside-toplevel

        try:
            logs_backends[backend.account_id][backend.region_name].list_tags_log_group(name)
        except ResourceNotFoundException:
            return False
        return True

    @add(FlowLogsBackend, "create_flow_logs")
    def create_flow_logs(self, resource_type, resource_ids, traffic_type, deliver_logs_permission_arn, log_destination_type,  # pylint: disable=too-many-locals
                         log_destination, log_group_name, log_format, max_aggregation_interval):
        max_aggregation_interval = 600 if max_aggregation_interval is None else max_aggregation_interval
        log_destination_type = log_destination_type or "cloud-watch-logs"
        log_format = log_format or DEFAULT_LOG_FORMAT
        self._validate_request(log_group_name, log_destination, log_destination_type, max_aggregation_interval,  # pylint: disable=protected-access
                               deliver_logs_permission_arn)
        if log_destination_type == "cloud-watch-logs":
            log_group_name = log_group_name or log_group_of(log_destination)
            log_destination = log_group_arn(self, log_group_name)

        planned = []
        for resource_id in resource_ids:
            check_resource(self, resource_type, resource_id)
            flow_log = FlowLogs(self, random_flow_log_id(), resource_id, traffic_type, log_destination, log_group_name, deliver_logs_permission_arn,
                                max_aggregation_interval, log_destination_type, log_format)
            existing = [other for other in list(self.flow_logs.values()) + planned if other.resource_id == resource_id]
            if any(configuration(other) == configuration(flow_log) for other in existing):
                raise FlowLogAlreadyExists()
            if len(existing) >= FLOW_LOGS_PER_RESOURCE:
                raise EC2ClientError("FlowLogsLimitExceeded", "You've reached the limit on the number of flow logs you can create.")
            planned.append(flow_log)

        created, unsuccessful = [], []
        for flow_log in planned:
            if log_destination_type == "s3":
                refusal = missing_bucket(self, log_destination)
                if refusal:
                    unsuccessful.append((flow_log.resource_id, "400", refusal))
                    continue
            elif log_destination_type == "cloud-watch-logs" and not log_group_exists(self, log_group_name):
                # EC2 creates the flow log; delivering to a log group that does not exist fails.
                flow_log.deliver_logs_status, flow_log.deliver_logs_error_message = "FAILED", "Access error"
            self.flow_logs[flow_log.id] = flow_log
            created.append(flow_log)
        return created, unsuccessful


CORRECTIONS = (fix_tag_resource_types, fix_nat_gateway_lifecycle, fix_flow_logs)

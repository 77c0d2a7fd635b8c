"""EC2 (VPC): where moto 5's tags and NAT gateways answer otherwise than the EC2 API reference says."""

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import tags as tags_model
from moto.ec2.models.nat_gateways import NatGatewayBackend

from .patching import wrap
from .pending import hold

# moto's resource type, by id prefix, where it differs from the ResourceType EC2 uses (DescribeTags' resource-type
# filter and TagDescription.ResourceType, as in TagSpecifications).
AWS_RESOURCE_TYPES = {
    "nat": "natgateway",
    "eipalloc": "elastic-ip",
    "fl": "vpc-flow-log",
}


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


CORRECTIONS = (fix_tag_resource_types, fix_nat_gateway_lifecycle)

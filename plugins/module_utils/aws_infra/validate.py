# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The aws_infra role's input checks: everything AWS would reject (or that would build the wrong network), found
before the first AWS call. Each problem is one sentence that names the variable, what is wrong and the fix.

Pure functions of plain values, so they are unit-tested without Ansible or AWS.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.loyalty.platform.plugins.module_utils.elasticache.validate import AUTH_TOKEN_MAX, AUTH_TOKEN_MIN, AUTH_TOKEN_SPECIALS

# RDS: "The password for the master user can include any printable ASCII character except /, ', ", @, or a space"
# (8 to 128 characters for PostgreSQL). ElastiCache's AUTH token rule is the replication group module's.
DB_PASSWORD_FORBIDDEN = "/'\"@ "
SECRETS_MANAGER = "secretsmanager:"
AZ_PATTERN = re.compile(r"^([a-z]{2}(-gov)?-[a-z]+-\d)[a-z]$")


class Problems:
    """Collects the messages; ``where`` is the inventory file the variables belong in."""

    def __init__(self, where, vault_file):
        self.where = where
        self.vault_file = vault_file
        self.messages = []

    def add(self, variable, text):
        self.messages.append("%s %s (set it in %s)" % (variable, text, self.where))

    def add_secret(self, variable, source, text):
        if source.startswith(SECRETS_MANAGER):
            # "secretsmanager:<option>:<secret id>": the value came from Secrets Manager, not from the vault.
            _kind, option, secret_id = source.split(":", 2)
            self.messages.append("%s %s: it is read from the Secrets Manager secret %s (%s in %s); store a valid value there "
                                 "(aws secretsmanager put-secret-value --secret-id %s ...)" % (variable, text, secret_id, option, self.where, secret_id))
            return
        self.messages.append("%s %s: set %s in %s with `ansible-vault edit %s`" % (variable, text, source, self.vault_file, self.vault_file))


def _network(value):
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return None


def _printable(text):
    return all(32 <= ord(char) < 127 for char in text)


def check_network(values, problems):
    vpc_text = values.get("aws_infra_vpc_cidr")
    vpc = _network(vpc_text)
    if vpc is None or vpc.version != 4:
        problems.add("aws_infra_vpc_cidr", "is %r, not an IPv4 network in CIDR notation such as 10.0.0.0/16" % (vpc_text,))
    elif not 16 <= vpc.prefixlen <= 28:
        problems.add("aws_infra_vpc_cidr", "is /%d: a VPC must be between /16 and /28" % vpc.prefixlen)
        vpc = None
    region = values.get("aws_infra_region") or ""
    zones = values.get("aws_infra_availability_zones") or []
    if not isinstance(zones, list) or not zones:
        problems.add("aws_infra_availability_zones", "must list at least one availability zone of %s" % region)
        zones = []
    for zone in zones:
        match = AZ_PATTERN.match(str(zone))
        if not match or match.group(1) != region:
            problems.add("aws_infra_availability_zones", "has %r, which is not an availability zone of aws_infra_region %s" % (zone, region))
    if len(set(zones)) != len(zones):
        problems.add("aws_infra_availability_zones", "lists a zone twice")
    seen = []
    for variable in ("aws_infra_public_subnet_cidrs", "aws_infra_private_subnet_cidrs"):
        subnets = values.get(variable) or []
        if not isinstance(subnets, list) or not subnets:
            problems.add(variable, "must list one subnet per availability zone")
            continue
        if len(subnets) > len(zones):
            problems.add(variable, "lists %d subnets but aws_infra_availability_zones only %d zones: give one zone per subnet" % (
                len(subnets), len(zones)))
        for text in subnets:
            subnet = _network(text)
            if subnet is None or subnet.version != 4:
                problems.add(variable, "has %r, not an IPv4 network in CIDR notation (a host address such as 10.0.1.5/24 is not one)" % (text,))
                continue
            if not 16 <= subnet.prefixlen <= 28:
                problems.add(variable, "has %s: a subnet must be between /16 and /28" % subnet)
            if vpc is not None and not subnet.subnet_of(vpc):
                problems.add(variable, "has %s, which is outside aws_infra_vpc_cidr %s" % (subnet, vpc))
            for other_variable, other in seen:
                if subnet.overlaps(other):
                    problems.add(variable, "has %s, which overlaps %s of %s" % (subnet, other, other_variable))
            seen.append((variable, subnet))


def _count(values, variable, problems, low, high=None):
    value = values.get(variable)
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            problems.add(variable, "is %r, not a whole number" % (value,))
            return None
    if value < low or (high is not None and value > high):
        problems.add(variable, "is %d: it must be %s" % (value, "between %d and %d" % (low, high) if high is not None else "at least %d" % low))
        return None
    return value


def _allowed(values, variable, allowed_variable, allowed, problems):
    chosen = values.get(variable)
    for item in chosen if isinstance(chosen, list) else [chosen]:
        if item not in allowed:
            problems.add(variable, "has %r, which is not allowed here; choose one of %s (%s in the role's vars)" % (
                item, ", ".join(allowed), allowed_variable))


def check_compute(values, allowed, problems):
    versions = allowed.get("eks_versions") or []
    version = str(values.get("aws_infra_eks_version"))
    if version not in versions:
        problems.add("aws_infra_eks_version", "is %r, which EKS does not offer for new clusters; choose one of %s" % (version, ", ".join(versions)))
    types = values.get("aws_infra_node_instance_types")
    if not isinstance(types, list) or not types:
        problems.add("aws_infra_node_instance_types", "must list at least one instance type")
    else:
        _allowed(values, "aws_infra_node_instance_types", "aws_infra_allowed_node_instance_types", allowed.get("node_instance_types") or [], problems)
    low = _count(values, "aws_infra_node_min_size", problems, 0)
    desired = _count(values, "aws_infra_node_desired_size", problems, 0)
    high = _count(values, "aws_infra_node_max_size", problems, 1)
    if None not in (low, desired, high) and not low <= desired <= high:
        problems.add("aws_infra_node_desired_size", "is %d: it must lie between aws_infra_node_min_size (%d) and aws_infra_node_max_size (%d)" % (
            desired, low, high))


def check_secret(values, problems, variable, source, rule):
    """A secret from the vault: set, not the example's placeholder, of a length and characters the service takes.
    ``rule`` is (service, (shortest, longest), test of one character, the characters in words). The messages never
    hold the value."""
    service, lengths, allowed_char, characters = rule
    value = str(values.get(variable) or "")
    if not value:
        problems.add_secret(variable, source, "is empty or missing")
    elif re.match(r"^<.*>$", value):
        problems.add_secret(variable, source, "is still the example's placeholder")
    elif not lengths[0] <= len(value) <= lengths[1]:
        problems.add_secret(variable, source, "has %d characters; %s takes %d to %d" % (len(value), service, lengths[0], lengths[1]))
    elif not all(allowed_char(char) for char in value):
        problems.add_secret(variable, source, "holds a character %s rejects (%s)" % (service, characters))


def check_database(values, allowed, problems):
    _allowed(values, "aws_infra_db_instance_class", "aws_infra_allowed_db_instance_classes", allowed.get("db_instance_classes") or [], problems)
    size = _count(values, "aws_infra_db_allocated_storage", problems, 20, 65536)
    top = _count(values, "aws_infra_db_max_allocated_storage", problems, 20, 65536)
    if size is not None and top is not None and top < size * 1.1:
        problems.add("aws_infra_db_max_allocated_storage", "is %d GiB: RDS storage autoscaling needs it at least 10%% above "
                     "aws_infra_db_allocated_storage (%d GiB)" % (top, size))
    _count(values, "aws_infra_db_backup_retention_days", problems, 0, 35)
    username = str(values.get("aws_infra_db_username") or "")
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,62}$", username):
        problems.add("aws_infra_db_username", "must start with a letter and hold only letters, digits and _ (1 to 63 characters)")
    elif username.lower() in ("postgres", "rdsadmin", "admin"):
        problems.add("aws_infra_db_username", "is %r, a name RDS reserves: choose another" % username)
    check_secret(values, problems, "aws_infra_db_master_password", values.get("_db_password_source") or "vault_loyalty_db_master_password",
                 ("RDS", (8, 128), lambda char: _printable(char) and char not in DB_PASSWORD_FORBIDDEN,
                  "only printable ASCII, without / ' \" @ or a space"))


def check_redis(values, allowed, problems):
    _allowed(values, "aws_infra_redis_node_type", "aws_infra_allowed_redis_node_types", allowed.get("redis_node_types") or [], problems)
    clusters = _count(values, "aws_infra_redis_num_cache_clusters", problems, 1, 6)
    failover = bool(values.get("aws_infra_redis_automatic_failover"))
    if failover and clusters is not None and clusters < 2:
        problems.add("aws_infra_redis_automatic_failover", "needs at least 2 cache clusters (aws_infra_redis_num_cache_clusters is %d)" % clusters)
    if values.get("aws_infra_redis_multi_az") and not failover:
        problems.add("aws_infra_redis_multi_az", "needs aws_infra_redis_automatic_failover: true")
    check_secret(values, problems, "aws_infra_redis_auth_token", values.get("_redis_token_source") or "vault_loyalty_redis_password",
                 ("ElastiCache", (AUTH_TOKEN_MIN, AUTH_TOKEN_MAX), lambda char: (char.isascii() and char.isalnum()) or char in AUTH_TOKEN_SPECIALS,
                  "only letters, digits and %s" % AUTH_TOKEN_SPECIALS))


def problems(values, allowed, where, vault_file):
    """Every problem of the role's inputs, in a stable order; an empty list when AWS would accept them."""
    found = Problems(where, vault_file)
    check_network(values, found)
    check_compute(values, allowed, found)
    check_database(values, allowed, found)
    check_redis(values, allowed, found)
    return found.messages

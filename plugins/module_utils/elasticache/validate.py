# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Checks of the replication group options that need no AWS call, so a bad task is refused before the first request.

Every problem is one sentence that names the option, what is wrong and what ElastiCache accepts. Pure functions of
the module's parameters, unit-tested without Ansible or AWS. The AUTH token itself never appears in a message.
"""

from __future__ import annotations

import re


class ElastiCacheError(Exception):
    """A refusal or failure of the replication group modules.

    ``msg`` names the group or option and what to change; ``details`` are extra result keys for ``fail_json``.
    """

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


# ReplicationGroupId: 1 to 40 letters, digits or hyphens, a letter first, no trailing or doubled hyphen; stored in lower case.
GROUP_ID = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-))*$")
GROUP_ID_MAX = 40
# AUTH (the CreateReplicationGroup reference and the AUTH page of the ElastiCache guide): 16 to 128 printable ASCII
# characters, and of the special characters only these. (ModifyReplicationGroup's reference only forbids " / @ %: a token
# of letters, digits and these is taken by both.)
AUTH_TOKEN_MIN = 16
AUTH_TOKEN_MAX = 128
AUTH_TOKEN_SPECIALS = "!&#$^<>-"
NUM_CACHE_CLUSTERS = (1, 6)
SNAPSHOT_RETENTION_MAX = 35
DAY = "(?:sun|mon|tue|wed|thu|fri|sat)"
MAINTENANCE_WINDOW = re.compile(r"^%s:([01]\d|2[0-3]):[0-5]\d-%s:([01]\d|2[0-3]):[0-5]\d$" % (DAY, DAY), re.IGNORECASE)
TOKEN_UPDATES = ("rotate", "set")


def auth_token_problem(token):
    """Why ElastiCache would refuse ``token`` as an AUTH token, or None; never quotes the token."""
    if not AUTH_TOKEN_MIN <= len(token) <= AUTH_TOKEN_MAX:
        return "auth_token must have %d to %d characters, not %d" % (AUTH_TOKEN_MIN, AUTH_TOKEN_MAX, len(token))
    allowed = "besides ASCII letters and digits, ElastiCache takes only %s in an AUTH token" % " ".join(AUTH_TOKEN_SPECIALS)
    for position, char in enumerate(token, 1):
        if char.isascii() and char.isalnum() or char in AUTH_TOKEN_SPECIALS:
            continue
        if not 33 <= ord(char) <= 126:
            return "auth_token has a space, a control or a non-ASCII character (U+%04X, character %d): %s" % (ord(char), position, allowed)
        return "auth_token holds %s (character %d): %s" % (char, position, allowed)
    return None


def group_id_problem(name):
    """Why ``name`` (already in lower case) is not a valid replication group id, or None."""
    if not name:
        return "replication_group_id must not be empty"
    if len(name) > GROUP_ID_MAX or not GROUP_ID.match(name) or name.endswith("-"):
        return ("replication_group_id=%s is not a valid ElastiCache id: 1 to %d letters, digits or hyphens, beginning with a letter, "
                "neither ending with a hyphen nor holding two consecutive hyphens" % (name, GROUP_ID_MAX))
    return None


def topology_problems(clusters, failover, multi_az, clusters_option="num_cache_clusters"):
    """What AWS refuses in this combination of cache cluster count, automatic failover and Multi-AZ (None: not known)."""
    found = []
    if failover and clusters is not None and clusters < 2:
        found.append("automatic_failover_enabled=true needs at least 2 cache clusters (a primary and a replica to promote); "
                     "%s is %d" % (clusters_option, clusters))
    if multi_az:
        if failover is False:
            found.append("multi_az_enabled=true needs automatic_failover_enabled=true")
        if clusters is not None and clusters < 2:
            found.append("multi_az_enabled=true needs at least 2 cache clusters; %s is %d" % (clusters_option, clusters))
    return found


def log_delivery_problems(entries):
    found = []
    seen = set()
    for entry in entries or []:
        log_type = entry.get("log_type")
        if log_type in seen:
            found.append("log_delivery_configurations lists log_type=%s twice; ElastiCache takes one destination per log type" % log_type)
        seen.add(log_type)
        if not (entry.get("destination") or "").strip():
            found.append("log_delivery_configurations: the %s entry needs a destination (a CloudWatch Logs group name or a Kinesis Data "
                         "Firehose delivery stream)" % log_type)
    return found


def problems(params):
    """Every problem of the module's parameters that needs no AWS call, in option order."""
    found = []
    name_problem = group_id_problem((params.get("replication_group_id") or "").lower())
    if name_problem:
        found.append(name_problem)
    timeout = params.get("wait_timeout")
    if timeout is not None and timeout < 1:
        found.append("wait_timeout=%d must be at least 1 second" % timeout)
    if params.get("state", "present") != "present":
        return found
    clusters = params.get("num_cache_clusters")
    low, high = NUM_CACHE_CLUSTERS
    if clusters is not None and not low <= clusters <= high:
        found.append("num_cache_clusters=%d must be between %d and %d (one primary and up to %d replicas)" % (clusters, low, high, high - 1))
        clusters = None
    port = params.get("port")
    if port is not None and not 1 <= port <= 65535:
        found.append("port=%d is not a TCP port (1 to 65535)" % port)
    retention = params.get("snapshot_retention_limit")
    if retention is not None and not 0 <= retention <= SNAPSHOT_RETENTION_MAX:
        found.append("snapshot_retention_limit=%d must be between 0 (no automatic backups) and %d days" % (retention, SNAPSHOT_RETENTION_MAX))
    window = params.get("preferred_maintenance_window")
    if window is not None and not MAINTENANCE_WINDOW.match(window):
        found.append("preferred_maintenance_window=%s is not ddd:hh24:mi-ddd:hh24:mi in UTC (for example sun:05:00-sun:06:00)" % window)
    if params.get("description") is not None and not params["description"].strip():
        found.append("description must not be empty")
    if params.get("node_type") is not None and not params["node_type"].startswith("cache."):
        found.append("node_type=%s is not an ElastiCache node type (they begin with cache., for example cache.r6g.large)" % params["node_type"])
    found.extend(topology_problems(clusters, params.get("automatic_failover_enabled"), params.get("multi_az_enabled")))
    token = params.get("auth_token")
    update = params.get("auth_token_update") or "on_create"
    if token is not None:
        token_problem = auth_token_problem(token)
        if token_problem:
            found.append(token_problem)
        if params.get("transit_encryption_enabled") is not True:
            found.append("auth_token needs transit_encryption_enabled=true: ElastiCache accepts an AUTH token only with in-transit encryption")
    if update in TOKEN_UPDATES:
        if token is None:
            found.append("auth_token_update=%s needs auth_token, the new token" % update)
        if params.get("apply_immediately") is False:
            found.append("auth_token_update=%s needs apply_immediately=true: ElastiCache changes an AUTH token only immediately" % update)
    found.extend(log_delivery_problems(params.get("log_delivery_configurations")))
    for group in params.get("security_group_ids") or []:
        if not group.startswith("sg-"):
            found.append("security_group_ids: %s is not a VPC security group id (sg-...)" % group)
    return found


def validate(params):
    """Raise an ElastiCacheError naming every problem of ``params``."""
    found = problems(params)
    if found:
        raise ElastiCacheError("; ".join(found), problems=found)

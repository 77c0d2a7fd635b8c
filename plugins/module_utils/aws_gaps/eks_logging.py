# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""EKS control-plane logging: the enabled log types read from DescribeCluster, the difference from the wanted
ones, one UpdateClusterConfig for that difference only, and the waits (the cluster ACTIVE before, the update
Successful after, through DescribeUpdate).

A type is enabled when a ``clusterLogging`` entry with ``enabled: true`` lists it; any other type is disabled.
The pure functions (enabled_types, plan, logging_config) decide; ensure() makes the EKS calls.
"""

from __future__ import annotations

import time

from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.common import AwsGapError, aws_call, aws_error_code, snake

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ACTIVE = "ACTIVE"
# Statuses a cluster leaves by itself; DELETING and FAILED are not waited for.
TRANSIENT = ("CREATING", "UPDATING", "PENDING")
SUCCESSFUL = "Successful"
ENDED = ("Failed", "Cancelled")
# Seconds between two DescribeCluster or DescribeUpdate polls: 2, 4, 8, then every 10.
POLL_FIRST = 2.0
POLL_MAX = 10.0


# ---- pure ------------------------------------------------------------------------------------


def ordered(types):
    """Log types in AWS's order (unknown ones, from a newer AWS, after them by name), without repeats."""
    wanted = set(types)
    return [name for name in LOG_TYPES if name in wanted] + sorted(wanted - set(LOG_TYPES))


def enabled_types(cluster):
    """The enabled log types of a DescribeCluster ``cluster``."""
    enabled = set()
    for setup in (cluster.get("logging") or {}).get("clusterLogging") or []:
        if setup.get("enabled"):
            enabled.update(setup.get("types") or [])
    return ordered(enabled)


def disabled_of(enabled):
    return [name for name in LOG_TYPES if name not in enabled]


def plan(current, wanted):
    """(to_enable, to_disable): the types whose state must change to go from ``current`` to ``wanted``."""
    current, wanted = set(current), set(wanted)
    return ordered(wanted - current), ordered(current - wanted)


def logging_config(to_enable, to_disable):
    """The UpdateClusterConfig ``logging`` for the changed types only."""
    setups = []
    if to_enable:
        setups.append({"types": list(to_enable), "enabled": True})
    if to_disable:
        setups.append({"types": list(to_disable), "enabled": False})
    return {"clusterLogging": setups}


def update_errors_text(update):
    errors = update.get("errors") or []
    if not errors:
        return "no errors reported"
    return "; ".join("%s: %s" % (error.get("errorCode"), error.get("errorMessage")) for error in errors)


class Clock:
    """The deadline of the whole task (``timeout`` seconds from now) and the growing pause between polls."""

    def __init__(self, timeout, monotonic=time.monotonic, sleep=time.sleep):
        self.timeout = timeout
        self.monotonic = monotonic
        self._sleep = sleep
        self.deadline = monotonic() + timeout
        self.pause = POLL_FIRST

    def expired(self):
        return self.monotonic() >= self.deadline

    def sleep(self):
        self._sleep(max(0.0, min(self.pause, self.deadline - self.monotonic())))
        self.pause = min(self.pause * 2, POLL_MAX)


# ---- the EKS calls ---------------------------------------------------------------------------


def describe_cluster(client, name):
    try:
        return aws_call("DescribeCluster of EKS cluster %s failed" % name, client.describe_cluster, name=name)["cluster"]
    except AwsGapError as exc:
        if aws_error_code(exc.exception) == "ResourceNotFoundException":
            raise AwsGapError("EKS cluster %s does not exist in region %s" % (name, client.meta.region_name)) from exc
        raise


def wait_active(client, name, cluster, clock):
    """The cluster once ACTIVE (polling while it is CREATING, UPDATING or PENDING), or AwsGapError."""
    while cluster.get("status") in TRANSIENT:
        if clock.expired():
            raise AwsGapError("EKS cluster %s is still %s after wait_timeout=%ss; its logging is only changed once it is ACTIVE"
                              % (name, cluster.get("status"), clock.timeout), status=cluster.get("status"))
        clock.sleep()
        cluster = describe_cluster(client, name)
    if cluster.get("status") != ACTIVE:
        raise AwsGapError("EKS cluster %s is %s, not ACTIVE: its logging cannot be changed" % (name, cluster.get("status")),
                          status=cluster.get("status"))
    return cluster


def wait_update(client, name, update, clock):
    """Poll DescribeUpdate until the update is Successful; AwsGapError when it fails, is cancelled or takes too long."""
    update_id = update["id"]
    while True:
        answer = aws_call("DescribeUpdate %s of EKS cluster %s failed" % (update_id, name), client.describe_update, name=name, updateId=update_id)
        update = answer.get("update") or {}
        status = update.get("status")
        if status == SUCCESSFUL:
            return update
        if status in ENDED:
            raise AwsGapError("the logging update %s of EKS cluster %s ended %s: %s" % (update_id, name, status, update_errors_text(update)),
                              changed=True, logging_update=snake(update))
        if clock.expired():
            raise AwsGapError("the logging update %s of EKS cluster %s is still %s after wait_timeout=%ss (%s)"
                              % (update_id, name, status, clock.timeout, update_errors_text(update)), changed=True, logging_update=snake(update))
        clock.sleep()


def ensure(client, params, check_mode=False, clock=None):
    """Make the cluster's enabled log types ``enabled_types``; the module's result."""
    name = params["name"]
    wanted = ordered(params["enabled_types"])
    if params["wait_timeout"] < 1:
        raise AwsGapError("wait_timeout=%s must be at least 1 second" % params["wait_timeout"])
    clock = clock or Clock(params["wait_timeout"])

    cluster = describe_cluster(client, name)
    if cluster.get("status") != ACTIVE:
        if params["wait"] or cluster.get("status") not in TRANSIENT:
            cluster = wait_active(client, name, cluster, clock)
        else:
            raise AwsGapError("EKS cluster %s is %s, not ACTIVE, and wait=false: its logging can only be changed once it is ACTIVE "
                              "(wait=true waits for it)" % (name, cluster.get("status")), status=cluster.get("status"))
    current = enabled_types(cluster)
    to_enable, to_disable = plan(current, wanted)
    changed = bool(to_enable or to_disable)
    result = {
        "changed": changed,
        "enabled_types": wanted,
        "disabled_types": disabled_of(wanted),
        "diff": {"before": {"enabled_types": current}, "after": {"enabled_types": wanted}},
    }
    if not changed or check_mode:
        return result

    what = "UpdateClusterConfig (logging: enable %s, disable %s) of EKS cluster %s failed" % (to_enable or "none", to_disable or "none", name)
    answer = aws_call(what, client.update_cluster_config, name=name, logging=logging_config(to_enable, to_disable))
    update = answer.get("update")
    if not update or not update.get("id"):
        keys = sorted(key for key in answer if key != "ResponseMetadata")
        raise AwsGapError("UpdateClusterConfig of EKS cluster %s answered no update (%s), so it cannot be followed"
                          % (name, "only %s" % ", ".join(keys) if keys else "an empty answer"), changed=True)
    if update.get("status") in ENDED:
        raise AwsGapError("the logging update %s of EKS cluster %s ended %s: %s" % (update["id"], name, update["status"], update_errors_text(update)),
                          changed=True, logging_update=snake(update))
    if params["wait"]:
        update = wait_update(client, name, update, clock)
        now = enabled_types(describe_cluster(client, name))
        if now != wanted:
            raise AwsGapError("the logging update %s of EKS cluster %s is Successful, but the cluster's enabled log types are %s, not %s"
                              % (update["id"], name, now, wanted), changed=True, logging_update=snake(update), enabled_types=now)
    result["logging_update"] = snake(update)
    return result

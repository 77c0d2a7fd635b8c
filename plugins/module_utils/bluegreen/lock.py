# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The switch lock: a coordination.k8s.io/v1 Lease named `bluegreen-lock` in the namespace.

The pure functions decide from a Lease's JSON and the current time; LeaseLock
performs the few writes through the API edge (create, takeover with a
resourceVersion precondition, delete with uid/resourceVersion preconditions).
"""

from __future__ import annotations

import datetime

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.api import ApiError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError

LEASE_NAME = "bluegreen-lock"

CREATE = "create"
TAKEOVER = "takeover"
REENTER = "reenter"


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def format_micro_time(moment):
    """Kubernetes MicroTime: RFC 3339 with microseconds, in UTC."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_time(moment):
    """ISO 8601 in UTC to the second, for annotations."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    """Parse Time/MicroTime strings (`2025-01-02T03:04:05Z`, `...05.123456Z`, `+00:00` offsets); None when absent or unreadable."""
    if not value:
        return None
    text = str(value).strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    if "." in text:
        head, _dot, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = "%s.%s%s" % (head, (digits + "000000")[:6], rest)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def lease_status(lease, now):
    """Holder, times and expiry of a Lease object (None when there is no Lease)."""
    if lease is None:
        return None
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity") or None
    acquired = parse_time(spec.get("acquireTime"))
    renewed = parse_time(spec.get("renewTime")) or acquired
    duration = spec.get("leaseDurationSeconds")
    expires = None
    if renewed is not None and duration is not None:
        expires = renewed + datetime.timedelta(seconds=int(duration))
    # A Lease with no holder, or one we cannot date, protects nothing: it may be taken.
    expired = holder is None or expires is None or expires <= now
    return {
        "name": (lease.get("metadata") or {}).get("name"),
        "holder": holder,
        "acquired_at": format_time(acquired) if acquired else None,
        "renewed_at": format_time(renewed) if renewed else None,
        "duration_seconds": duration,
        "expires_at": format_time(expires) if expires else None,
        "expired": expired,
        "resource_version": (lease.get("metadata") or {}).get("resourceVersion"),
    }


def held_message(namespace, status, now):
    remaining = ""
    if status.get("expires_at"):
        seconds = int((parse_time(status["expires_at"]) - now).total_seconds())
        remaining = " (expires at %s, in %ds)" % (status["expires_at"], max(seconds, 0))
    return (
        "Lease %s/%s is held by %s%s: another blue/green switch is running. Wait for it to finish or for the lease to expire; "
        "nothing was changed." % (namespace, LEASE_NAME, status["holder"], remaining)
    )


def acquire_decision(lease, holder, namespace, now):
    """How to take the lock: create it, take over an expired or empty one, or re-enter our own; refuse a live foreign one."""
    if lease is None:
        return CREATE
    status = lease_status(lease, now)
    if status["holder"] == holder:
        return REENTER
    if status["expired"]:
        return TAKEOVER
    raise BlueGreenError(held_message(namespace, status, now), lease=status)


def lease_body(namespace, holder, ttl, now, previous=None):
    """The Lease we write; a takeover keeps the read resourceVersion as its precondition and counts the transition."""
    metadata = {"name": LEASE_NAME, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "loyalty.platform.k8s_bluegreen"}}
    transitions = 0
    acquire_time = now
    if previous is not None:
        metadata["resourceVersion"] = (previous.get("metadata") or {}).get("resourceVersion")
        previous_spec = previous.get("spec") or {}
        transitions = int(previous_spec.get("leaseTransitions") or 0)
        if previous_spec.get("holderIdentity") == holder:
            acquire_time = parse_time(previous_spec.get("acquireTime")) or now
        else:
            transitions += 1
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": int(ttl),
            "acquireTime": format_micro_time(acquire_time),
            "renewTime": format_micro_time(now),
            "leaseTransitions": transitions,
        },
    }


class LeaseLock:
    """Acquire and release `bluegreen-lock`; release never raises, it reports."""

    def __init__(self, api, namespace, holder, ttl, clock=utcnow):
        self.api = api
        self.namespace = namespace
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
        self.lease = None
        self.release_problem = None

    def acquire(self, observed):
        """Take the lock given the Lease read before (None if there was none)."""
        now = self.clock()
        decision = acquire_decision(observed, self.holder, self.namespace, now)
        if decision == CREATE:
            try:
                self.lease = self.api.create_lease(self.namespace, lease_body(self.namespace, self.holder, self.ttl, now))
                return self.lease
            except ApiError as exc:
                if exc.status != 409:
                    raise BlueGreenError("Could not create Lease %s/%s: %s; nothing was changed." % (self.namespace, LEASE_NAME, exc)) from exc
            # Someone created it between our read and our create: decide again on what is there now.
            observed = self.api.get_lease(self.namespace, LEASE_NAME)
            now = self.clock()
            decision = acquire_decision(observed, self.holder, self.namespace, now)
            if decision == CREATE:
                raise BlueGreenError("Lease %s/%s appeared and vanished while being acquired; retry. Nothing was changed." % (self.namespace, LEASE_NAME))
        try:
            self.lease = self.api.replace_lease(self.namespace, LEASE_NAME, lease_body(self.namespace, self.holder, self.ttl, now, previous=observed))
        except ApiError as exc:
            if exc.status == 409:
                winner = None
                try:
                    winner = lease_status(self.api.get_lease(self.namespace, LEASE_NAME), self.clock())
                except ApiError:
                    winner = None
                raise BlueGreenError(
                    "Lease %s/%s was taken by %s while we were taking over the expired lease of %s; another switch won the race. "
                    "Nothing was changed." % (
                        self.namespace, LEASE_NAME, (winner or {}).get("holder") or "another holder",
                        lease_status(observed, now)["holder"] or "nobody",
                    ),
                    lease=winner,
                ) from exc
            raise BlueGreenError("Could not take over Lease %s/%s: %s; nothing was changed." % (self.namespace, LEASE_NAME, exc)) from exc
        return self.lease

    def release(self):
        """Delete our Lease, preconditioned on its uid and resourceVersion so a lease someone else took is left alone."""
        if self.lease is None:
            return True
        metadata = self.lease.get("metadata") or {}
        preconditions = {"uid": metadata.get("uid"), "resourceVersion": metadata.get("resourceVersion")}
        try:
            self.api.delete_lease(self.namespace, LEASE_NAME, dict((k, v) for k, v in preconditions.items() if v))
        except ApiError as exc:
            if exc.status == 404:
                self.lease = None
                return True
            self.release_problem = "could not release Lease %s/%s: %s" % (self.namespace, LEASE_NAME, exc)
            return False
        self.lease = None
        return True

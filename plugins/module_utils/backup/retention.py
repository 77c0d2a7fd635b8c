# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which backups a retention policy keeps: a pure function of the listing, the rules and the reference time.

The rules are ORed, as in restic's ``forget`` and pgBackRest's ``repo-retention-*``; the safety rules come first
and cannot be switched off by any rule: only complete backups count, the newest ``min_keep`` complete backups are
always kept, backups dated after the reference time are kept and reported, and an incomplete backup is only
deleted once it is older than the grace period (so an upload being committed is never removed under it).
"""

from __future__ import annotations

import datetime

from ansible_collections.loyalty.platform.plugins.module_utils.backup.catalog import COMPLETE, MISMATCH
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.naming import iso

COUNT_RULES = ("keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")
RULES = COUNT_RULES + ("keep_days",)
PERIODS = {
    "keep_daily": lambda when: when.date(),
    "keep_weekly": lambda when: when.isocalendar()[:2],
    "keep_monthly": lambda when: (when.year, when.month),
    "keep_yearly": lambda when: when.year,
}


def check_rules(rules, min_keep, max_delete):
    """Refuse a policy that has no rule, or a rule that is not a positive number, before anything is listed."""
    given = {name: value for name, value in (rules or {}).items() if value is not None}
    unknown = sorted(set(given) - set(RULES))
    if unknown:
        raise BackupError("unknown retention rule(s) %s: use %s" % (", ".join(unknown), ", ".join(RULES)))
    if not given:
        raise BackupError("no retention rule is set, so nothing can be decided and nothing is deleted: set at least one of %s"
                          % ", ".join(RULES))
    for name, value in given.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BackupError("%s=%r must be a whole number of at least 1 (omit it to switch the rule off)" % (name, value))
    if not isinstance(min_keep, int) or isinstance(min_keep, bool) or min_keep < 1:
        raise BackupError("min_keep=%r must be at least 1: the newest complete backup is never deleted" % (min_keep,))
    if max_delete is not None and (not isinstance(max_delete, int) or isinstance(max_delete, bool) or max_delete < 0):
        raise BackupError("max_delete=%r must be 0 or more (omit it for no limit)" % (max_delete,))
    return given


def counts(backup):
    """Whether a backup counts toward the rules: its manifest exists and, where it was read, agrees with the object."""
    if not backup["has_manifest"]:
        return False
    return backup["state"] == COMPLETE or (backup["manifest"] is None and backup["state"] != MISMATCH)


def _order(backups):
    # Newest first; ties (two prefixes' patterns giving one stamp) broken by key, so any listing order gives one answer.
    return sorted(backups, key=lambda item: (item["time"], item["key"]), reverse=True)


def decide(backups, rules, reference_time, min_keep=1, max_delete=None, grace=datetime.timedelta(hours=24),
           uploads=(), orphan_manifests=()):
    """The plan: what is kept and why, what is deleted and why, and which stale uploads are aborted.

    ``backups`` are catalog entries (key, time, last_modified, has_manifest, state, manifest); ``uploads``
    are {key, upload_id, initiated} of in-progress multipart uploads of candidate names.
    Raises BackupError, deciding nothing, when the plan would delete more than ``max_delete`` backups."""
    given = check_rules(rules, min_keep, max_delete)
    kept = {}
    deleted = []
    future = []
    counted = []

    def keep(backup, why):
        kept.setdefault(backup["key"], {"backup": backup, "rules": []})["rules"].append(why)

    for backup in _order(backups):
        if backup["time"] > reference_time:
            keep(backup, "future")
            future.append(backup["key"])
        elif counts(backup):
            counted.append(backup)
        else:
            # The later of the stamp and the upload's completion: a long dump is stamped when it starts.
            newest = max(backup["time"], backup["last_modified"] or backup["time"])
            if reference_time - newest > grace:
                deleted.append((backup, "mismatch" if backup["has_manifest"] else "incomplete"))
            else:
                keep(backup, "incomplete_grace")

    for index, backup in enumerate(counted):
        if index < min_keep:
            keep(backup, "min_keep")
        if index < given.get("keep_last", 0):
            keep(backup, "keep_last")
        if "keep_days" in given and backup["time"] > reference_time - datetime.timedelta(days=given["keep_days"]):
            keep(backup, "keep_days")
    for rule, period_of in PERIODS.items():
        if rule not in given:
            continue
        seen = set()
        for backup in counted:
            period = period_of(backup["time"])
            if period in seen:
                continue
            if len(seen) == given[rule]:
                break
            seen.add(period)
            keep(backup, rule)
    deleted += [(backup, "expired") for backup in counted if backup["key"] not in kept]
    deleted = sorted(deleted, key=lambda item: (item[0]["time"], item[0]["key"]), reverse=True)

    if max_delete is not None and len(deleted) > max_delete:
        raise BackupError(
            "the retention rules would delete %d backups, more than max_delete=%d, so nothing was deleted: check the rules "
            "and the reference time, or raise max_delete" % (len(deleted), max_delete),
            would_delete=[backup["key"] for backup, _why in deleted])

    delete_keys = []
    for backup, _why in deleted:
        # The manifest first: a run cut short leaves an incomplete backup (deleted later), never a manifest
        # that vouches for a missing object.
        if backup["has_manifest"]:
            delete_keys.append(backup["manifest_key"])
        delete_keys.append(backup["key"])
    # Sorted: the plan must not depend on the order the listing gave the orphans in.
    stale_manifests = sorted((item for item in orphan_manifests if reference_time - item["last_modified"] > grace),
                             key=lambda item: item["key"])
    delete_keys += [item["key"] for item in stale_manifests]
    return {
        "deleted": [{"key": backup["key"], "time": iso(backup["time"]), "reason": why} for backup, why in deleted],
        "kept": [{"key": key, "time": iso(item["backup"]["time"]), "rules": item["rules"]}
                 for key, item in sorted(kept.items(), key=lambda pair: (pair[1]["backup"]["time"], pair[0]), reverse=True)],
        "future": future,
        "delete_keys": delete_keys,
        "orphan_manifests": [item["key"] for item in stale_manifests],
        "abort_uploads": sorted(
            [upload for upload in uploads if reference_time - upload["initiated"] > grace],
            key=lambda upload: (upload["key"], upload["upload_id"])),
    }


def batches(keys, size=1000):
    """DeleteObjects takes at most 1000 keys per request."""
    return [keys[start:start + size] for start in range(0, len(keys), size)]

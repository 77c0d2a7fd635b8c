# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What lies under a backup prefix: the candidates, their manifests and their state, and the choice of one.

A backup is ``complete`` when its manifest exists and the manifest's ``size`` is the object's size,
``incomplete`` when it has no manifest (an upload not yet committed, or one whose commit failed), and
``mismatch`` when the manifest exists but disagrees with the object or cannot be read.
"""

from __future__ import annotations

import json

from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.s3stream import client_error_text
from ansible_collections.loyalty.platform.plugins.module_utils.backup.naming import (
    MANIFEST_SUFFIX, compile_pattern, iso, manifest_key, parse_day, stamp_of,
)

COMPLETE = "complete"
INCOMPLETE = "incomplete"
MISMATCH = "mismatch"
# Largest manifest we read: a manifest of tens of thousands of tables is far smaller.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


class Listing:
    """The objects directly under a prefix, split into candidates, manifests and everything else."""

    def __init__(self, prefix):
        self.prefix = prefix or ""
        self.backups = []          # dicts, newest first (see entry())
        self.orphan_manifests = []  # manifests whose backup object is gone: {key, last_modified}
        self.others = 0            # objects that are neither: never touched
        self.pages = 0


def entry(key, name, when, size, last_modified):
    return {
        "key": key, "name": name, "time": when, "size": size, "last_modified": last_modified,
        "manifest_key": manifest_key(key), "has_manifest": False, "manifest": None, "state": INCOMPLETE,
    }


def list_backups(client, bucket, prefix, pattern=None):
    """One ListObjectsV2 walk with a ``/`` delimiter: keys in sub-folders of the prefix are never candidates."""
    compiled = compile_pattern(pattern)
    listing = Listing(prefix)
    objects = {}
    manifests = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=listing.prefix, Delimiter="/"):
        listing.pages += 1
        for obj in page.get("Contents", []):
            key = obj["Key"]
            name = key[len(listing.prefix):]
            if name.endswith(MANIFEST_SUFFIX):
                manifests[key[: -len(MANIFEST_SUFFIX)]] = obj
                continue
            when = stamp_of(name, compiled)
            if when is None:
                listing.others += 1
                continue
            objects[key] = entry(key, name, when, obj["Size"], obj["LastModified"])
    for base, obj in manifests.items():
        if base in objects:
            objects[base]["has_manifest"] = True
        elif stamp_of(base[len(listing.prefix):], compiled) is not None:
            listing.orphan_manifests.append({"key": obj["Key"], "last_modified": obj["LastModified"]})
        else:
            listing.others += 1
    listing.backups = sorted(objects.values(), key=lambda item: (item["time"], item["key"]), reverse=True)
    return listing


def read_manifest(client, bucket, backup):
    """Fetch a backup's manifest and set its state: a manifest that is not JSON, or disagrees with the object, makes it
    ``mismatch``; one deleted since the listing ``incomplete``; any other S3 error raises BackupError."""
    if not backup["has_manifest"]:
        backup["state"] = INCOMPLETE
        return backup
    try:
        body = client.get_object(Bucket=bucket, Key=backup["manifest_key"])["Body"]
        raw = body.read(MAX_MANIFEST_BYTES + 1)
    except Exception as exc:  # pylint: disable=broad-except
        status = (getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = ((getattr(exc, "response", None) or {}).get("Error") or {}).get("Code")
        if status == 404 or code in ("NoSuchKey", "404"):
            # Deleted since the listing: the backup has no manifest now.
            backup["has_manifest"] = False
            backup["state"] = INCOMPLETE
            return backup
        # Any other error (throttling, a timeout, no permission) says nothing about the backup: decide nothing on it.
        raise BackupError("cannot read the manifest s3://%s/%s (%s): nothing was decided or changed; run again, or fix the "
                          "permission" % (bucket, backup["manifest_key"], client_error_text(exc))) from exc
    try:
        manifest = json.loads(raw.decode("utf-8")) if len(raw) <= MAX_MANIFEST_BYTES else None
    except (ValueError, UnicodeDecodeError):
        manifest = None
    if not isinstance(manifest, dict):
        backup["state"] = MISMATCH
        backup["problem"] = "the manifest %s is not a JSON object" % backup["manifest_key"]
        return backup
    backup["manifest"] = manifest
    if manifest.get("size") != backup["size"]:
        backup["state"] = MISMATCH
        backup["problem"] = "the manifest gives %s bytes, the object has %s" % (manifest.get("size"), backup["size"])
    else:
        backup["state"] = COMPLETE
    return backup


def select(listing, spec, client=None, bucket=None):
    """The backup ``spec`` names: ``latest`` (newest complete), ``YYYYMMDD`` (newest complete that UTC day) or a key.

    Manifests are read newest first only as far as needed, when ``client`` is given; otherwise the states
    must already be known. Raises BackupError naming what exists when nothing matches."""
    spec = (spec or "latest").strip()

    def state(backup):
        if client is not None and backup["has_manifest"] and backup["manifest"] is None and backup["state"] != MISMATCH:
            read_manifest(client, bucket, backup)
        return backup["state"]

    if spec == "latest":
        for backup in listing.backups:
            if state(backup) == COMPLETE:
                return backup
        raise BackupError("no complete backup under s3://%s/%s (%s)" % (bucket, listing.prefix, summary(listing)))
    day = parse_day(spec)
    if day is not None:
        for backup in listing.backups:
            if backup["time"].date() == day and state(backup) == COMPLETE:
                return backup
        days = sorted({b["time"].strftime("%Y%m%d") for b in listing.backups if b["has_manifest"] and b["state"] != MISMATCH},
                      reverse=True)[:10]
        raise BackupError("no complete backup from %s (UTC) under s3://%s/%s; days with backups, newest first: %s" % (
            spec, bucket, listing.prefix, ", ".join(days) or "none"))
    for backup in listing.backups:
        if spec in (backup["key"], backup["name"]):
            state(backup)
            return backup
    raise BackupError("backup %r is not under s3://%s/%s: give latest, a UTC day as YYYYMMDD, or one of the keys "
                      "(%s)" % (spec, bucket, listing.prefix, summary(listing)))


def summary(listing):
    if not listing.backups:
        return "there are no backups"
    return "%d backups, the newest %s" % (len(listing.backups), listing.backups[0]["key"])


def public(backup, verified=None):
    """A backup as the modules return it (times in UTC ISO 8601)."""
    out = {
        "key": backup["key"], "time": iso(backup["time"]), "size": backup["size"],
        "last_modified": iso(backup["last_modified"]), "state": backup["state"], "manifest_key": backup["manifest_key"],
    }
    if backup.get("problem"):
        out["problem"] = backup["problem"]
    if backup["manifest"] is not None:
        out["sha256"] = backup["manifest"].get("sha256")
        out["database"] = backup["manifest"].get("database")
    if verified is not None:
        out["verified"] = verified
    return out

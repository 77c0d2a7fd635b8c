# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The backups under a prefix, one of them chosen, and their checksums proven by downloading them."""

from __future__ import annotations

from ansible_collections.loyalty.platform.plugins.module_utils.backup.catalog import (
    COMPLETE, INCOMPLETE, MISMATCH, list_backups, public, read_manifest, select,
)
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.s3stream import client_error_text, stream_object


def verify_backup(client, bucket, backup):
    """Download ``backup`` (streaming, nothing kept) and compare its SHA-256 and size with the manifest's."""
    if backup["state"] != COMPLETE:
        return {"key": backup["key"], "ok": False, "problem": backup.get("problem") or "it has no manifest, so there is nothing to verify against"}
    try:
        size, digest = stream_object(client, bucket, backup["key"])
    except Exception as exc:  # pylint: disable=broad-except
        return {"key": backup["key"], "ok": False, "problem": "download failed: %s" % client_error_text(exc)}
    expected = backup["manifest"].get("sha256")
    outcome = {"key": backup["key"], "ok": digest == expected and size == backup["manifest"].get("size"), "sha256": digest,
               "expected_sha256": expected, "size": size}
    if not outcome["ok"]:
        outcome["problem"] = "SHA-256 %s (%d bytes), the manifest says %s (%s bytes)" % (digest, size, expected, backup["manifest"].get("size"))
    return outcome


def backup_info(params, client):
    bucket = params["bucket"]
    listing = list_backups(client, bucket, params["prefix"], params.get("pattern"))
    for backup in listing.backups:
        read_manifest(client, bucket, backup)
    # Every manifest is read above, so no client; the bucket is for the messages (s3://bucket/prefix).
    selected = select(listing, params["backup"], bucket=bucket) if params.get("backup") else None
    verified = []
    if params.get("verify"):
        if selected is not None:
            targets = [selected]
        else:
            # Backups with a manifest (complete, or mismatched: that is a failure); one without (incomplete) has nothing
            # to be verified against and is reported by its state.
            targets = [backup for backup in listing.backups if backup["has_manifest"]]
            targets = targets[: params["verify_newest"]] if params.get("verify_newest") else targets
        outcomes = {backup["key"]: verify_backup(client, bucket, backup) for backup in targets}
        verified = [outcomes[backup["key"]] for backup in targets]
    ok = {item["key"]: item["ok"] for item in verified}
    result = {
        "changed": False,
        "bucket": bucket,
        "prefix": listing.prefix,
        "backups": [public(backup, ok.get(backup["key"])) for backup in listing.backups],
        "selected": public(selected, ok.get(selected["key"])) if selected is not None else None,
        "verified": verified,
        "counts": {state: sum(1 for b in listing.backups if b["state"] == state) for state in (COMPLETE, INCOMPLETE, MISMATCH)},
        "others": listing.others,
        "orphan_manifests": [item["key"] for item in listing.orphan_manifests],
    }
    bad = [item for item in verified if not item["ok"]]
    if bad:
        raise BackupError("%d of %d verified backups failed: %s" % (len(bad), len(verified), "; ".join(
            "s3://%s/%s: %s" % (bucket, item["key"], item["problem"]) for item in bad[:5])), **{k: v for k, v in result.items() if k != "changed"})
    return result

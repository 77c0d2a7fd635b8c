# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Rotation: list once, decide (retention.decide), then delete in DeleteObjects batches of at most 1000 keys.

The S3 requests are the listing's pages, one ListMultipartUploads walk, the manifests of the newest backups the
``min_keep`` guarantee rests on (usually one GET), and ceil(deleted keys / 1000) DeleteObjects."""

from __future__ import annotations

from ansible_collections.loyalty.platform.plugins.module_utils.backup.catalog import COMPLETE, list_backups, read_manifest
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.naming import DELETE_BATCH, compile_pattern, iso, parse_duration, parse_iso, utcnow
from ansible_collections.loyalty.platform.plugins.module_utils.backup.retention import RULES, batches, check_rules, decide
from ansible_collections.loyalty.platform.plugins.module_utils.backup.s3stream import client_error_text


def protect_newest(client, bucket, backups, reference_time, min_keep):
    """Read the manifests of the newest backups until ``min_keep`` of them are proven complete, so the guarantee
    rests on checked manifests; the older backups count by their manifest's presence alone."""
    proven = 0
    for backup in backups:
        if proven >= min_keep:
            break
        if backup["time"] > reference_time or not backup["has_manifest"]:
            continue
        if read_manifest(client, bucket, backup)["state"] == COMPLETE:
            proven += 1


def list_uploads(client, bucket, prefix, compiled):
    """In-progress multipart uploads of candidate names directly under the prefix."""
    uploads = []
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
        for upload in page.get("Uploads", []):
            name = upload["Key"][len(prefix):]
            if "/" not in name and compiled.search(name):
                uploads.append({"key": upload["Key"], "upload_id": upload["UploadId"], "initiated": upload["Initiated"]})
    return uploads


def rotate(params, client, check_mode=False, now=utcnow):
    bucket = params["bucket"]
    prefix = params["prefix"] or ""
    rules = {name: params.get(name) for name in RULES}
    check_rules(rules, params["min_keep"], params.get("max_delete"))
    reference = parse_iso(params["reference_time"]) if params.get("reference_time") else now()
    grace = parse_duration(params["incomplete_grace"], "incomplete_grace")
    compiled = compile_pattern(params.get("pattern"))

    listing = list_backups(client, bucket, prefix, params.get("pattern"))
    protect_newest(client, bucket, listing.backups, reference, params["min_keep"])
    uploads = list_uploads(client, bucket, prefix, compiled)
    plan = decide(listing.backups, rules, reference, min_keep=params["min_keep"], max_delete=params.get("max_delete"), grace=grace,
                  uploads=uploads, orphan_manifests=listing.orphan_manifests)
    result = {
        "changed": bool(plan["delete_keys"] or plan["abort_uploads"]),
        "bucket": bucket,
        "prefix": prefix,
        "reference_time": iso(reference),
        "deleted": plan["deleted"],
        "kept": plan["kept"],
        "future": plan["future"],
        "deleted_keys": plan["delete_keys"],
        "orphan_manifests": plan["orphan_manifests"],
        "aborted_uploads": [{"key": u["key"], "upload_id": u["upload_id"], "initiated": iso(u["initiated"])} for u in plan["abort_uploads"]],
        "others": listing.others,
        "diff": {"before": {"backups": [b["key"] for b in listing.backups]},
                 "after": {"backups": [b["key"] for b in listing.backups if b["key"] not in {d["key"] for d in plan["deleted"]}]}},
    }
    if check_mode or not result["changed"]:
        return result

    errors = []
    for upload in plan["abort_uploads"]:
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=upload["key"], UploadId=upload["upload_id"])
        except Exception as exc:  # pylint: disable=broad-except
            errors.append({"key": upload["key"], "code": "AbortMultipartUpload", "message": client_error_text(exc)})
    for batch in batches(plan["delete_keys"], DELETE_BATCH):
        try:
            answer = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
        except Exception as exc:  # pylint: disable=broad-except
            errors += [{"key": key, "code": "DeleteObjects", "message": client_error_text(exc)} for key in batch]
            continue
        errors += [{"key": item.get("Key"), "code": item.get("Code"), "message": item.get("Message")} for item in answer.get("Errors", [])]
    if errors:
        failed = {item["key"] for item in errors}
        result["deleted_keys"] = [key for key in plan["delete_keys"] if key not in failed]
        result["deleted"] = [item for item in plan["deleted"] if item["key"] not in failed]
        result["changed"] = bool(result["deleted_keys"])
        raise BackupError("%d of %d keys could not be deleted (first: %s %s: %s); the others were" % (
            len(failed), len(plan["delete_keys"]), errors[0]["key"], errors[0]["code"], errors[0]["message"]),
            errors=errors, **{k: v for k, v in result.items() if k != "diff"})
    return result

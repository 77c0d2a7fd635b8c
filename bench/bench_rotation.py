"""Rotation of 10,000 backups (20,000 objects with their manifests) of which 9,000 expire: S3 requests and time,
against one delete request per object, as the guide's `xargs -n1 aws s3 rm` intends (it deletes nothing as written).

Ours: s3_backup_rotate's rotate() (the module's code) in this process, keep_last 1,000.
Baseline: list the prefix, then one DeleteObject per expired object (backup and manifest).
Requests are counted by the sandbox's AWS front. Expected for ours: 20 list pages, 1 ListMultipartUploads, 1 GET of the
newest manifest (min_keep's proof) and ceil(18,000 / 1000) = 18 DeleteObjects, 40 in all. Timings are printed, not asserted.
"""

import datetime
import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
sys.path.insert(0, os.path.join(REPO_ROOT, ".collections"))

from benchlib import run_standalone  # noqa: E402  pylint: disable=wrong-import-position
from s3front.control import S3Front  # noqa: E402  pylint: disable=wrong-import-position

BACKUPS = 10000
EXPIRED = 9000
UTC = datetime.timezone.utc


def populate(s3, bucket, reference):
    """BACKUPS backups an hour apart, newest an hour before the reference time, each with its manifest."""
    def put(index):
        when = reference - datetime.timedelta(hours=index + 1)
        key = "database/" + when.strftime("loyalty_backup_%Y%m%d_%H%M%S.dump")
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        s3.put_object(Bucket=bucket, Key=key + ".manifest.json", Body=json.dumps({"size": 1, "sha256": "-"}).encode())
        return key

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(put, range(BACKUPS)))


def run(ctx):
    import boto3  # pylint: disable=import-outside-toplevel
    import botocore.config  # pylint: disable=import-outside-toplevel
    from ansible_collections.loyalty.platform.plugins.module_utils.backup.rotate import rotate  # pylint: disable=import-outside-toplevel

    env = ctx.sandbox
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                      config=botocore.config.Config(max_pool_connections=16))
    front = S3Front(env["SANDBOX_AWS_FRONT_URL"])
    reference = datetime.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    figures = {}
    buckets = []
    try:
        # Ours.
        bucket = "bench-rotation-" + uuid.uuid4().hex[:8]
        buckets.append(bucket)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env["AWS_DEFAULT_REGION"]})
        populate(s3, bucket, reference)
        params = {"bucket": bucket, "prefix": "database/", "pattern": None, "keep_last": BACKUPS - EXPIRED, "min_keep": 1, "max_delete": None,
                  "reference_time": reference.isoformat(), "incomplete_grace": "24h"}
        for name in ("keep_days", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"):
            params[name] = None
        front.reset_stats()
        started = time.perf_counter()
        result = rotate(params, s3)
        ours = time.perf_counter() - started
        ours_ops = front.stats()["operations"]
        assert len(result["deleted"]) == EXPIRED, len(result["deleted"])

        # The guide's intent: one request per expired object.
        bucket = "bench-rotation-" + uuid.uuid4().hex[:8]
        buckets.append(bucket)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env["AWS_DEFAULT_REGION"]})
        keys = populate(s3, bucket, reference)
        front.reset_stats()
        started = time.perf_counter()
        listed = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="database/")
                  for obj in page.get("Contents", [])]
        expired = set(keys[BACKUPS - EXPIRED:])
        for key in listed:
            if key in expired or key[: -len(".manifest.json")] in expired:
                s3.delete_object(Bucket=bucket, Key=key)
        baseline = time.perf_counter() - started
        baseline_ops = front.stats()["operations"]

        ours_requests = sum(ours_ops.values())
        baseline_requests = sum(baseline_ops.values())
        figures.update({
            "backups": BACKUPS, "objects": 2 * BACKUPS, "expired_backups": EXPIRED,
            "ours_requests": ours_requests, "ours_requests_by_operation": ours_ops,
            "baseline_requests": baseline_requests, "baseline_requests_by_operation": baseline_ops,
            "requests_ratio": round(ours_requests / float(baseline_requests), 5),
            "fewer_requests_times": round(baseline_requests / float(ours_requests), 1),
            "ours_seconds": round(ours, 2), "baseline_seconds": round(baseline, 2),
            "ours": round(ours, 2), "baseline": round(baseline, 2), "ratio": round(ours / baseline, 4),
        })
        return figures
    finally:
        for bucket in buckets:
            keys = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for obj in page.get("Contents", [])]
            for start in range(0, len(keys), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys[start:start + 1000]], "Quiet": True})
            s3.delete_bucket(Bucket=bucket)


if __name__ == "__main__":
    run_standalone(run)

"""Recovery time (RTO) of playbooks/dr.yml for the backup benchmark's database (at least 1 GB of table data), against
pg_restore alone, in one run.

- baseline: pg_restore --exit-on-error of the same dump, from a local file into a new database: the restore itself,
  with nothing around it (the download is not counted).
- drill: ansible-playbook playbooks/dr.yml -e type=drill (start-up included): choose the backup, stream it from S3 into
  pg_restore in a staging database, prove the SHA-256 and every table's row count, rename it to the scratch database,
  run one SQL check, write the report, drop it. Its own RTO (start to verified restore) is read from the report.
- database: ansible-playbook playbooks/dr.yml -e type=database over a database of the bench's own (the swap by renaming
  included), then the health checks of the services, deployed first in a namespace of the bench's own.

BENCH_BACKUP_GB (default 1) sets the size, as for bench_backup (whose database is reused). Timings are printed, never
asserted.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

from bench_backup import ensure_database, pg, pg_env, playbook  # noqa: E402  pylint: disable=wrong-import-position
from benchlib import run_json_playbook, run_standalone  # noqa: E402  pylint: disable=wrong-import-position

VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")


def dr(ctx, workdir, extra_vars):
    """playbooks/dr.yml against inventories/local: (wall seconds, the disaster_recovery_report fact)."""
    seconds, results = run_json_playbook(ctx, ["playbooks/dr.yml", "-i", "inventories/local",
                                               "-e", json.dumps(dict(extra_vars, disaster_recovery_artifacts_dir=workdir))])
    reports = [result["ansible_facts"]["disaster_recovery_report"] for name, result in results if name.endswith("Report | the summary")]
    return seconds, reports[-1]


def apps(ctx, namespace):
    env = dict(os.environ)
    env.update(ctx.sandbox)
    env["ANSIBLE_CONFIG"] = os.path.join(REPO_ROOT, "ansible.cfg")
    subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "playbooks/apps.yml", "-i", "inventories/local",
                    "-e", json.dumps({"eks_apps_namespace": namespace, "eks_apps_wait": True})],
                   cwd=REPO_ROOT, env=env, capture_output=True, check=True)


def step(report, name):
    return next(item for item in report["steps"] if item["step"] == name)


def run(ctx):
    import boto3  # pylint: disable=import-outside-toplevel

    gigabytes = int(os.environ.get("BENCH_BACKUP_GB", "1"))
    source, table_bytes, rows = ensure_database(ctx, gigabytes)
    env = ctx.sandbox
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    tag = uuid.uuid4().hex[:8]
    bucket, target, alone, namespace = "bench-dr-" + tag, "bench_dr_" + tag, "bench_dr_alone_" + tag, "bench-dr-" + tag
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env["AWS_DEFAULT_REGION"]})
    conn = {"login_host": env["PGHOST"], "login_port": int(env["PGPORT"]), "login_user": env["PGUSER"], "login_password": env["PGPASSWORD"]}
    workdir = tempfile.mkdtemp(prefix="bench-dr-")
    try:
        backup = playbook(ctx, [{"loyalty.platform.postgresql_backup_s3": dict(conn, bucket=bucket, prefix="database/", db=source)}], workdir)[1][0]
        apps(ctx, namespace)

        # The baseline: pg_restore alone, from a local copy of the same dump.
        path = os.path.join(workdir, "backup.dump")
        s3.download_file(bucket, backup["key"], path)
        started = time.perf_counter()
        pg(ctx, "postgres", "CREATE DATABASE %s" % alone)
        subprocess.run(["pg_restore", "--exit-on-error", "--dbname", alone, path], env=pg_env(ctx, alone), check=True)
        baseline = time.perf_counter() - started
        os.unlink(path)
        pg(ctx, "postgres", "DROP DATABASE %s WITH (FORCE)" % alone)

        common = {"disaster_recovery_bucket": bucket, "disaster_recovery_database": target,
                  "disaster_recovery_namespace": namespace, "eks_apps_namespace": namespace}
        drill_seconds, drill = dr(ctx, workdir, dict(common, type="drill", disaster_recovery_database=source, disaster_recovery_drill_checks=[
            {"name": "events", "query": "SELECT count(*) FROM point_events", "min": rows}]))
        database_seconds, database = dr(ctx, workdir, dict(common, type="database", disaster_recovery_keep_previous=False))
        restore = step(database, "database")
        return {
            "table_data_bytes": table_bytes, "rows": rows, "backup_object_bytes": backup["size"],
            "baseline_pg_restore_alone_seconds": round(baseline, 2),
            "drill_playbook_seconds": round(drill_seconds, 2), "drill_rto_seconds": drill["rto_seconds"],
            "drill_rpo_seconds": drill["rpo_seconds"],
            "database_playbook_seconds": round(database_seconds, 2), "database_step_seconds": restore["duration"],
            "database_restore_module_seconds": restore.get("restore_seconds"),
            "health_step_seconds": step(database, "health")["duration"],
            "ratio_drill_rto_to_pg_restore": round(drill["rto_seconds"] / baseline, 3),
            "ratio_database_step_to_pg_restore": round(restore["duration"] / baseline, 3),
            "baseline": round(baseline, 2), "ours": drill["rto_seconds"], "ratio": round(drill["rto_seconds"] / baseline, 3),
        }
    finally:
        for name in (target, alone):
            pg(ctx, "postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        keys = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys]})
        s3.delete_bucket(Bucket=bucket)
        subprocess.run([os.path.join(ctx.sandbox.get("SANDBOX_KUBECTL", "kubectl")), "delete", "namespace", namespace, "--wait=false"],
                       env=dict(os.environ, **ctx.sandbox), capture_output=True, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    run_standalone(run)

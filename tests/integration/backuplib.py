"""Helpers of the backup suites (test_backup_modules.py, test_backup_faults.py): buckets, databases, plays of the
collection's backup modules, and read-backs through boto3 and psycopg2."""

import os
import time
import uuid

import boto3
import psycopg2
import yaml
from psycopg2 import sql

NS = "loyalty.platform."
MIB = 1024 * 1024


def new_name(kind="db", tag="it"):
    return "%s_%s_%s" % (tag, kind, uuid.uuid4().hex[:10])


def s3_client(sandbox, **config):
    import botocore.config  # pylint: disable=import-outside-toplevel

    return boto3.client("s3", endpoint_url=sandbox["AWS_ENDPOINT_URL"], region_name=sandbox["AWS_DEFAULT_REGION"],
                        aws_access_key_id=sandbox["AWS_ACCESS_KEY_ID"], aws_secret_access_key=sandbox["AWS_SECRET_ACCESS_KEY"],
                        config=botocore.config.Config(**config) if config else None)


def pg_connect(sandbox, dbname="postgres", **extra):
    conn = psycopg2.connect(host=sandbox["PGHOST"], port=sandbox["PGPORT"], user=sandbox["PGUSER"], password=sandbox["PGPASSWORD"],
                            dbname=dbname, **extra)
    conn.autocommit = True
    return conn


def pg_exec(sandbox, dbname, statement, params=None):
    conn = pg_connect(sandbox, dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def database_exists(sandbox, name):
    return bool(pg_exec(sandbox, "postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (name,)))


def databases_like(sandbox, pattern):
    return sorted(row[0] for row in pg_exec(sandbox, "postgres", "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)))


def like_escape(name):
    return name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def staging_databases(sandbox, target):
    return databases_like(sandbox, like_escape(target) + "\\_restore\\_%")


def previous_databases(sandbox, target):
    return databases_like(sandbox, like_escape(target) + "\\_before\\_restore\\_%")


def drop_database(sandbox, name):
    pg_exec(sandbox, "postgres", sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def s3_keys(s3, bucket):
    """{key: (size, ETag)} of every object in the bucket, sub-folders included."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = (obj["Size"], obj["ETag"])
    return found


def multipart_uploads(s3, bucket):
    return [(item["Key"], item["UploadId"]) for item in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def empty_bucket(s3, bucket):
    for key, upload_id in multipart_uploads(s3, bucket):
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    # Every version and delete marker too: a versioned bucket (the db_backup role makes one) is only empty without them.
    objects = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects += [{"Key": item["Key"], "VersionId": item["VersionId"]} for item in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    for start in range(0, len(objects), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": objects[start:start + 1000], "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


def play(*tasks):
    return yaml.safe_dump([{"name": "backup", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}], sort_keys=False)


def task(name, module, ignore_errors=True, **args):
    """A task of one of the collection's modules; failures are kept so every task's result can be read."""
    out = {"name": name, NS + module: args}
    if ignore_errors:
        out["ignore_errors"] = True
    return out


def pg_args(sandbox, **extra):
    """The connection options of the PostgreSQL modules, as a user passes them."""
    args = {"login_host": sandbox["PGHOST"], "login_port": int(sandbox["PGPORT"]), "login_user": sandbox["PGUSER"],
            "login_password": sandbox["PGPASSWORD"]}
    args.update(extra)
    return args


def wait_for(what, probe, timeout, interval=0.02):
    """Poll ``probe`` until it returns something true; fail the test, saying what never happened, at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, "%s did not happen within %ss" % (what, timeout)
        time.sleep(interval)


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

"""Backup and restore of a database of at least 1 GB of table data, against the limit and the guide's method, in one run.

- limit: pg_dump with the same options (custom format, --compress=9) writing to /dev/null: no upload at all.
- guide: the guide's scripts/backup-database.sh: pg_dump to a file in /tmp, then upload it (boto3's upload_file,
  what `aws s3 cp` does: multipart, 8 MiB parts, 10 threads), then delete the file.
- ours: loyalty.platform.postgresql_backup_s3 through ansible-playbook (start-up included), streamed into a multipart
  upload. Its peak memory is the module process's VmHWM (pg_dump is a separate process, the same in all three), and
  the regular files it and pg_dump hold open for writing are listed (none: no temporary file).
- restore: postgresql_restore_s3 of that backup with jobs 1 (streamed) and jobs 2 (temporary file), each into a new
  database, checksum and row counts proven; and s3_backup_info verify of the backup (download and SHA-256).

BENCH_BACKUP_GB (default 1) sets the size of the data, BENCH_BACKUP_ROUNDS (default 2) the runs of each method,
BENCH_BACKUP_RESTORE=0 skips the restores; the database is made once and reused by later runs.
Timings are printed, never asserted.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

from benchlib import run_json_playbook, run_standalone  # noqa: E402  pylint: disable=wrong-import-position

VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")
GIB = 1024 ** 3
# Each method runs this many times, interleaved; the fastest run of each is compared (less noise than one run).
ROUNDS = int(os.environ.get("BENCH_BACKUP_ROUNDS", "2"))
# Rows shaped like the loyalty tables: ids, amounts, times, a reason, and details that are half random hex (hashes,
# tokens) and half structured text, about 0.9 KB a row, which pg_dump --compress=9 shrinks about 3:1.
FILL = """
CREATE TABLE IF NOT EXISTS point_events (id bigint PRIMARY KEY, member_id int NOT NULL, amount int NOT NULL,
  created timestamptz NOT NULL, reason text NOT NULL, details text NOT NULL);
INSERT INTO point_events
SELECT g, 1 + (g * 7919) %% 500000, (g * 31) %% 1000 - 200, timestamptz '2026-01-01' + g * interval '1 second',
       (ARRAY['purchase', 'reward', 'adjustment', 'expiry'])[1 + g %% 4],
       md5(g::text) || md5((g + 1)::text) || md5((g * 3)::text) || md5((g * 7)::text) || md5((g * 11)::text)
       || md5((g * 13)::text) || md5((g * 17)::text) || md5((g * 19)::text) || md5((g * 23)::text) || md5((g * 29)::text) || ' '
       || repeat('store ' || (g %% 997)::text || ' order ' || (g %% 99991)::text || ' sku-' || (g %% 311)::text || '; ', 9)
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) g
"""


def pg(ctx, dbname, statement, params=None):
    import psycopg2  # pylint: disable=import-outside-toplevel

    env = ctx.sandbox
    conn = psycopg2.connect(host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"], password=env["PGPASSWORD"], dbname=dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def ensure_database(ctx, gigabytes):
    """bench_backup_<N>g with at least N GiB of table data (made once, in 100,000-row steps)."""
    name = "bench_backup_%dg" % gigabytes
    if not pg(ctx, "postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
        pg(ctx, "postgres", "CREATE DATABASE %s" % name)
    pg(ctx, name, FILL.split(";", 1)[0])
    while True:
        size, rows = pg(ctx, name, "SELECT pg_table_size('point_events'), count(*) FROM point_events")[0]
        if size >= gigabytes * GIB:
            return name, size, rows
        pg(ctx, name, FILL.split(";", 1)[1] % {"start": rows + 1, "stop": rows + 100000})


def pg_env(ctx, dbname):
    env = dict(os.environ)
    env.update(ctx.sandbox)
    env["PGDATABASE"] = dbname
    return env


def children(pid):
    try:
        with open("/proc/%s/task/%s/children" % (pid, pid), encoding="utf-8") as handle:
            return handle.read().split()
    except OSError:
        return []


class Sampler(threading.Thread):
    """Peak RSS (VmHWM) of the processes whose command line contains ``marker``, and every regular file that they or
    their children (pg_dump) hold open for writing."""

    def __init__(self, marker):
        super().__init__(daemon=True)
        self.marker = marker.encode()
        self.peak_kib = 0
        self.files_written = set()
        self.done = threading.Event()

    def _written(self, pid):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            return
        for fd in fds:
            try:
                target = os.readlink("/proc/%s/fd/%s" % (pid, fd))
                with open("/proc/%s/fdinfo/%s" % (pid, fd), encoding="utf-8") as handle:
                    fields = dict(line.split(":", 1) for line in handle if ":" in line)
                flags = int(fields["flags"].strip(), 8)
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) != target:
                    continue  # closed and reused meanwhile: the flags may be another file's
            except (OSError, ValueError, KeyError):
                continue
            if target.startswith("/") and not target.startswith(("/dev/", "/proc/")) and flags & 3:
                self.files_written.add(target)

    def run(self):
        while not self.done.is_set():
            for pid in (p for p in os.listdir("/proc") if p.isdigit()):
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as handle:
                        if self.marker not in handle.read():
                            continue
                    with open("/proc/%s/status" % pid, encoding="utf-8") as handle:
                        for line in handle:
                            if line.startswith("VmHWM:"):
                                self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                except OSError:
                    continue
                for process in [pid] + children(pid):
                    self._written(process)
            time.sleep(0.05)

    def stop(self):
        self.done.set()
        self.join()


def playbook(ctx, tasks, workdir):
    path = os.path.join(workdir, "play-%s.yml" % uuid.uuid4().hex[:8])
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    seconds, results = run_json_playbook(ctx, [path, "-i", "localhost,", "-c", "local",
                                               "-e", "ansible_python_interpreter=" + os.path.join(VENV_BIN, "python")])
    return seconds, [result for _name, result in results]


def run(ctx):
    import boto3  # pylint: disable=import-outside-toplevel
    from boto3.s3.transfer import TransferConfig  # pylint: disable=import-outside-toplevel

    gigabytes = int(os.environ.get("BENCH_BACKUP_GB", "1"))
    began = time.perf_counter()
    db, table_bytes, rows = ensure_database(ctx, gigabytes)
    made = time.perf_counter() - began
    env = ctx.sandbox
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    bucket = "bench-backup-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env["AWS_DEFAULT_REGION"]})
    conn = {"login_host": env["PGHOST"], "login_port": int(env["PGPORT"]), "login_user": env["PGUSER"], "login_password": env["PGPASSWORD"]}
    workdir = tempfile.mkdtemp(prefix="bench-backup-")
    restored = []
    try:
        limits, guides, ours_runs = [], [], []
        for _round in range(ROUNDS):
            # The limit: the same pg_dump, into /dev/null.
            started = time.perf_counter()
            # Its standard output into /dev/null (--file=/dev/null fails: pg_dump fsyncs the file it writes).
            subprocess.run(["pg_dump", "--format=custom", "--compress=9"], env=pg_env(ctx, db), check=True, stdout=subprocess.DEVNULL)
            limits.append(time.perf_counter() - started)

            # The guide: dump to /tmp, upload, remove.
            started = time.perf_counter()
            path = os.path.join(tempfile.gettempdir(), "loyalty_backup_bench.dump")
            subprocess.run(["pg_dump", "--format=custom", "--compress=9", "--file=" + path], env=pg_env(ctx, db), check=True)
            dump_bytes = os.path.getsize(path)
            s3.upload_file(path, bucket, "guide/loyalty_backup_bench.dump", Config=TransferConfig(multipart_chunksize=8 * 1024 * 1024))
            os.unlink(path)
            guides.append(time.perf_counter() - started)

            # Ours.
            sampler = Sampler("AnsiballZ_postgresql_backup_s3")
            sampler.start()
            try:
                seconds, results = playbook(ctx, [{"loyalty.platform.postgresql_backup_s3": dict(conn, bucket=bucket, prefix="database/", db=db)}],
                                            workdir)
            finally:
                sampler.stop()
            ours_runs.append(seconds)
            backup = results[0]
            time.sleep(1)  # the next backup gets a key of its own second
        limit, guide, ours = min(limits), min(guides), min(ours_runs)

        verify_task = {"loyalty.platform.s3_backup_info": {"bucket": bucket, "prefix": "database/", "backup": "latest", "verify": True}}
        verify = playbook(ctx, [verify_task], workdir)[0]
        figures = {
            "table_data_bytes": table_bytes, "rows": rows, "database_made_seconds": round(made, 1), "dump_bytes": dump_bytes,
            "backup_object_bytes": backup["size"], "parts": backup["parts"],
            "limit_pg_dump_to_dev_null_seconds": round(limit, 2), "guide_dump_file_then_upload_seconds": round(guide, 2),
            "ours_seconds": round(ours, 2),
            "ratio": round(ours / limit, 3),
            "ratio_to_guide": round(ours / guide, 3),
            "ours_peak_rss_mib": round(sampler.peak_kib / 1024.0, 1),
            "ours_files_written": sorted(sampler.files_written),
            "rounds": ROUNDS, "limit_runs": [round(x, 2) for x in limits], "guide_runs": [round(x, 2) for x in guides],
            "ours_runs": [round(x, 2) for x in ours_runs],
            "guide_temp_file_mib": round(dump_bytes / 1024.0 / 1024.0, 1),
            "verify_seconds": round(verify, 2),
        }
        # BENCH_BACKUP_RESTORE=0 measures the backup only (the memory figure at a larger BENCH_BACKUP_GB).
        for jobs in (1, 2) if os.environ.get("BENCH_BACKUP_RESTORE", "1") != "0" else ():
            target = "bench_restore_%s" % uuid.uuid4().hex[:8]
            restored.append(target)
            restore_task = {"loyalty.platform.postgresql_restore_s3": dict(conn, bucket=bucket, prefix="database/", db=target, jobs=jobs,
                                                                           tmp_dir=workdir)}
            seconds = playbook(ctx, [restore_task], workdir)[0]
            figures["restore_jobs_%d_seconds" % jobs] = round(seconds, 2)
        figures["baseline"] = figures["limit_pg_dump_to_dev_null_seconds"]
        figures["ours"] = figures["ours_seconds"]
        return figures
    finally:
        for target in restored:
            pg(ctx, "postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % target)
        keys = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys]})
        s3.delete_bucket(Bucket=bucket)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    run_standalone(run)

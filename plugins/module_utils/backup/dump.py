# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""pg_dump streamed into an S3 multipart upload, then the manifest: the commit marker, written last."""

from __future__ import annotations

import fcntl
import json
import subprocess
import threading
import time

from ansible_collections.loyalty.platform.plugins.module_utils.backup import postgres
from ansible_collections.loyalty.platform.plugins.module_utils.backup.catalog import list_backups, select
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.naming import backup_key, iso, manifest_key, parse_duration, utcnow
from ansible_collections.loyalty.platform.plugins.module_utils.backup.s3stream import MultipartUpload, client_error_text, plan_part_size

MANIFEST_FORMAT = 1
PIPE_SIZE = 1024 * 1024


def encryption_args(encryption, kms_key_id):
    if encryption == "aws:kms":
        args = {"ServerSideEncryption": "aws:kms"}
        if kms_key_id:
            args["SSEKMSKeyId"] = kms_key_id
        return args
    if kms_key_id:
        raise BackupError("encryption_kms_key_id is set but encryption is %s: set encryption to aws:kms, or drop the key id" % encryption)
    return {"ServerSideEncryption": "AES256"}


class _Drain(threading.Thread):
    """Reads a pipe to its end in the background (pg_dump's stderr), keeping the last 64 KiB."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.text = b""

    def run(self):
        for line in iter(self.pipe.readline, b""):
            self.text = (self.text + line)[-65536:]

    def result(self):
        self.join(10)
        return self.text.decode("utf-8", "replace").strip()


class _Counts(threading.Thread):
    """Counts the rows of every table in the exported snapshot while pg_dump reads the same snapshot."""

    def __init__(self, snapshot, tables):
        super().__init__(daemon=True)
        self.snapshot = snapshot
        self.tables = tables
        self.counts = None
        self.error = None

    def run(self):
        try:
            self.counts = self.snapshot.counts(self.tables)
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc

    def stop(self):
        if self.is_alive():
            try:
                self.snapshot.conn.cancel()
            except Exception:  # pylint: disable=broad-except
                pass
        self.join()


def _widen_pipe(pipe):
    """A 1 MiB pipe instead of Linux's 64 KiB: pg_dump keeps writing while this process is busy for a moment (hashing,
    handing a part over), instead of stalling on a full pipe. Best effort: other systems keep their default."""
    try:
        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (OSError, ValueError):
        pass


def pg_dump_command(program, compression, snapshot_id):
    # The connection (password included) is in the environment; nothing secret is on the command line.
    return [program, "--format=custom", "--compress=%d" % compression, "--snapshot=" + snapshot_id, "--no-password"]


def _fresh_backup(params, client, started):
    """The newest complete backup when it is younger than ``min_interval``, else None."""
    interval = parse_duration(params.get("min_interval") or "0", "min_interval")
    if not interval:
        return None
    listing = list_backups(client, params["bucket"], params["prefix"])
    # A backup stamped in the future (a controller with a fast clock) must not stop every backup from now on.
    listing.backups = [backup for backup in listing.backups if backup["time"] <= started]
    try:
        newest = select(listing, "latest", client, params["bucket"])
    except BackupError as exc:
        if "no complete backup" in exc.msg:
            return None
        raise
    return newest if started - newest["time"] < interval else None


def backup(params, client, check_mode=False, now=utcnow):
    """Dump ``params['db']`` into ``s3://bucket/<prefix>loyalty_backup_<UTC stamp>.dump`` and commit it with a manifest."""
    bucket = params["bucket"]
    plan_part_size(params["part_size"], None)  # refuse a part size S3 would reject before anything starts
    started = now()
    key = backup_key(params["prefix"], started)
    mkey = manifest_key(key)
    extra = encryption_args(params["encryption"], params.get("encryption_kms_key_id"))
    extra["ContentType"] = "application/octet-stream"
    result = {"bucket": bucket, "key": key, "manifest_key": mkey, "database": params["db"]}
    program = postgres.find_program("pg_dump", params.get("pg_dump_path"))
    fresh = _fresh_backup(params, client, started)
    if fresh is not None:
        return dict(result, changed=False, key=fresh["key"], manifest_key=fresh["manifest_key"],
                    fresh_backup="the complete backup %s is younger than min_interval=%s, so none was taken" % (fresh["key"], params["min_interval"]))
    if check_mode:
        return dict(result, changed=True)
    for existing in (key, mkey):
        try:
            client.head_object(Bucket=bucket, Key=existing)
        except Exception as exc:  # pylint: disable=broad-except
            status = (getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                continue
            raise BackupError("cannot read s3://%s/%s: %s" % (bucket, existing, client_error_text(exc))) from exc
        raise BackupError("s3://%s/%s already exists: a backup was taken in the same second; run again" % (bucket, existing))

    began = time.monotonic()
    snapshot = postgres.Snapshot(params, params["db"])
    proc = counter = upload = None
    completed = False
    try:
        tables = snapshot.tables()
        part_size = plan_part_size(params["part_size"], snapshot.database_size)
        upload = MultipartUpload(client, bucket, key, part_size, params["upload_concurrency"], extra)
        # run_command() waits and buffers the whole output; the dump must stream into the upload as it is written.
        proc = subprocess.Popen(  # pylint: disable=consider-using-with,ansible-bad-function
            pg_dump_command(program, params["compression_level"], snapshot.snapshot_id),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=postgres.libpq_env(params, params["db"]))
        _widen_pipe(proc.stdout)
        errors = _Drain(proc.stderr)
        errors.start()
        counter = _Counts(snapshot, tables)
        counter.start()
        upload.start()
        try:
            size = upload.upload(proc.stdout)
        except BackupError:
            # An S3 error: stop pg_dump, and say what S3 said.
            proc.kill()
            raise
        code = proc.wait()
        if code != 0:
            how = "was killed by signal %d" % -code if code < 0 else "exited with code %d" % code
            raise BackupError("pg_dump of database %s %s: %s" % (params["db"], how, errors.result() or "no error text"))
        counter.join()
        if counter.error is not None:
            raise BackupError("counting the rows of database %s in the dump's snapshot failed: %s" % (
                params["db"], postgres.pg_error_text(counter.error)))
        # From here on the object may exist (CompleteMultipartUpload can succeed and still time out), and after the
        # manifest PUT the manifest may too: a failure removes both, manifest first (the key was free when we began).
        completed = True
        upload.complete()
        finished = now()
        manifest = {
            "format": MANIFEST_FORMAT,
            "key": key,
            "sha256": upload.sha256.hexdigest(),
            "size": size,
            "part_size": upload.first_part_size,
            "parts": len(upload.parts),
            "database": params["db"],
            "server_version": snapshot.server_version,
            "pg_dump_version": postgres.program_version(program),
            "format_options": {"format": "custom", "compression_level": params["compression_level"]},
            "encryption": extra["ServerSideEncryption"],
            "started": iso(started),
            "finished": iso(finished),
            "tables": counter.counts,
        }
        client.put_object(Bucket=bucket, Key=mkey, Body=json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"),
                          ContentType="application/json", **{name: value for name, value in extra.items() if name != "ContentType"})
    except BaseException as exc:
        problems = _clean_up(client, bucket, key, mkey, proc, counter, upload, completed)
        if isinstance(exc, BackupError):
            if problems:
                exc.msg += "; " + "; ".join(problems)
            raise
        if isinstance(exc, Exception):
            raise BackupError("backup of database %s to s3://%s/%s failed: %s%s" % (
                params["db"], bucket, key, client_error_text(exc), "".join("; " + p for p in problems))) from exc
        raise
    finally:
        snapshot.close()
    return dict(result, changed=True, sha256=manifest["sha256"], size=size, part_size=upload.first_part_size,
                parts=len(upload.parts), started_at=manifest["started"], finished_at=manifest["finished"],
                finished_timestamp=int(finished.timestamp()), tables=counter.counts,
                duration=round(time.monotonic() - began, 3), server_version=snapshot.server_version,
                pg_dump_version=manifest["pg_dump_version"])


def _clean_up(client, bucket, key, mkey, proc, counter, upload, completed):
    """After any failure: pg_dump stopped, the upload aborted and, once its completion was attempted, the manifest and the
    object removed (manifest first, so no manifest ever vouches for a missing object). Returns what could not be undone."""
    problems = []
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
    if counter is not None:
        counter.stop()
    if upload is not None:
        problem = upload.abort()
        # Once CompleteMultipartUpload was sent, S3 may already have finished (or forgotten) the upload: the object is
        # what matters then, and it is deleted below.
        if problem and not completed:
            problems.append(problem)
    if completed:
        for name, what in ((mkey, "manifest"), (key, "object")):
            try:
                client.delete_object(Bucket=bucket, Key=name)
            except Exception as exc:  # pylint: disable=broad-except
                problems.append("the uncommitted %s s3://%s/%s could not be removed (%s): delete it by hand" % (
                    what, bucket, name, client_error_text(exc)))
    return problems

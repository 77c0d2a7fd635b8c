# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Restore a backup into a staging database, prove it (checksum and row counts against the manifest), and only
then swap it in by renaming. Until the swap the target is untouched; any failure drops the staging database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time

from ansible_collections.loyalty.platform.plugins.module_utils.backup import postgres
from ansible_collections.loyalty.platform.plugins.module_utils.backup.catalog import COMPLETE, list_backups, public, select
from ansible_collections.loyalty.platform.plugins.module_utils.backup.dump import _Drain
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.naming import STAMP_FORMAT, utcnow
from ansible_collections.loyalty.platform.plugins.module_utils.backup.s3stream import client_error_text, stream_object

NAME_LIMIT = 63  # PostgreSQL's identifier length (NAMEDATALEN - 1)
# Free space asked for beyond the backup's size when pg_restore reads a temporary file (jobs > 1).
DISK_MARGIN = 64 * 1024 * 1024
SWAP_ATTEMPTS = 5


def derived_name(target, suffix):
    """``target + suffix`` within PostgreSQL's 63 bytes (not characters: the server truncates by bytes), the suffix kept."""
    room = NAME_LIMIT - len(suffix.encode("utf-8"))
    base = target.encode("utf-8")[:room].decode("utf-8", "ignore")
    return base + suffix


def compare_counts(expected, actual):
    """Differences between the manifest's row counts and the restored database's, at most 10, as text."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append("%s is missing" % table)
        elif table not in expected:
            problems.append("%s is not in the manifest" % table)
        elif expected[table] != actual[table]:
            problems.append("%s has %s rows, the manifest %s" % (table, actual[table], expected[table]))
    return problems[:10]


def choose(params, client):
    """The backup to restore and its manifest; anything but a complete backup is refused before anything changes."""
    listing = list_backups(client, params["bucket"], params["prefix"], params.get("pattern"))
    chosen = select(listing, params["backup"], client, params["bucket"])
    if chosen["state"] != COMPLETE:
        why = chosen.get("problem") or "it has no manifest, so its upload was never committed"
        raise BackupError("backup s3://%s/%s is %s (%s): choose another; nothing was changed" % (
            params["bucket"], chosen["key"], chosen["state"], why), backup=public(chosen))
    return chosen


def _pg_restore_command(program, staging, params, source=None):
    cmd = [program, "--exit-on-error", "--no-password", "--dbname=" + staging]
    if params.get("no_owner"):
        cmd += ["--no-owner", "--no-privileges"]
    if source is not None:
        cmd += ["--jobs=%d" % params["jobs"], source]
    return cmd


def _restore_stream(params, client, chosen, program, staging, env):
    """jobs=1: S3 straight into pg_restore's stdin; the checksum is known when the stream ends."""
    # run_command() takes its stdin whole; the backup must stream from S3 into pg_restore.
    proc = subprocess.Popen(  # pylint: disable=consider-using-with,ansible-bad-function
        _pg_restore_command(program, staging, params), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    errors = _Drain(proc.stderr)
    errors.start()
    state = {"open": True}

    def sink(data):
        if not state["open"]:
            return  # pg_restore has stopped; keep hashing, so the message can say whether the backup is corrupt
        try:
            proc.stdin.write(data)
        except BrokenPipeError:
            state["open"] = False

    try:
        size, digest = stream_object(client, params["bucket"], chosen["key"], sink)
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        code = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return size, digest, code, errors.result()


def check_disk(params, chosen):
    """The temporary copy's folder, refused when it has not room for the backup."""
    directory = params.get("tmp_dir") or tempfile.gettempdir()
    free = shutil.disk_usage(directory).free
    if free < chosen["size"] + DISK_MARGIN:
        raise BackupError("jobs=%d needs %d bytes free in %s for the backup's temporary copy, and only %d are: free space, "
                          "set tmp_dir, or use jobs: 1 (streamed, no file); nothing was changed" % (
                              params["jobs"], chosen["size"] + DISK_MARGIN, directory, free))
    return directory


def _restore_file(params, client, chosen, program, staging, env):
    """jobs>1: pg_restore cannot read a stream in parallel, so the backup goes to a temporary file first, whose
    checksum is proven before pg_restore reads it."""
    directory = check_disk(params, chosen)
    fd, path = tempfile.mkstemp(prefix="loyalty-restore-", suffix=".dump", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            size, digest = stream_object(client, params["bucket"], chosen["key"], handle.write)
        if digest != chosen["manifest"].get("sha256"):
            return size, digest, None, ""
        # The module is not at hand here (run_command); the output is pg_restore's error text only.
        command = _pg_restore_command(program, staging, params, path)
        quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
        proc = subprocess.run(command, env=env, check=False, **quiet)  # pylint: disable=ansible-bad-function
        return size, digest, proc.returncode, proc.stderr.decode("utf-8", "replace").strip()[-65536:]
    finally:
        os.unlink(path)


def restore(params, client, check_mode=False, now=utcnow):
    target = params["db"]
    chosen = choose(params, client)
    manifest = chosen["manifest"]
    program = postgres.find_program("pg_restore", params.get("pg_restore_path"))
    admin = postgres.connect(params, params["maintenance_db"])
    try:
        with admin.cursor() as cur:
            existing = postgres.database_info(cur, target)
            objects, inspector = postgres.inspect_objects(params, target) if existing else ([], None)
            if objects and not params["overwrite"]:
                raise BackupError("database %s is not empty (%s%s): set overwrite: true to replace it (the replaced database is kept "
                                  "as %s_before_restore_<UTC stamp> unless keep_previous: false); nothing was changed" % (
                                      target, ", ".join(objects[:5]), ", ..." if len(objects) > 5 else "", target))
            if existing and not params["terminate_connections"]:
                # The session that just listed the target's objects may still be listed while its backend exits.
                _refuse_sessions(cur, target, ignore=[inspector])
            _check_privileges(cur, target, existing)
        stamp = now().strftime(STAMP_FORMAT)
        staging = derived_name(target, "_restore_" + stamp)
        previous = derived_name(target, "_before_restore_" + stamp) if existing else None
        keep = bool(existing and objects and params["keep_previous"])
        result = {"backup": public(chosen), "target": target, "staging": staging, "previous": previous if keep else None,
                  "replaced": bool(existing), "sha256": manifest.get("sha256"), "tables": manifest.get("tables") or {}}
        if check_mode:
            return dict(result, changed=True)
        if params["jobs"] > 1:
            check_disk(params, chosen)
        began = time.monotonic()
        created = swapped = False
        try:
            _create_staging(admin, staging, existing, params)
            created = True
            _fill_and_prove(params, client, chosen, program, staging)
            _swap(params, target, staging, previous if existing else None)
            swapped = True
        finally:
            if created and not swapped:
                _drop(admin, staging)
        dropped = None
        if existing and not keep:
            _drop(admin, previous)
            dropped = previous
        return dict(result, changed=True, dropped_previous=dropped, duration=round(time.monotonic() - began, 3), verified=True)
    finally:
        admin.close()


def _check_privileges(cur, target, existing):
    """Before any download: the login may create databases and, when the target exists, rename it (own it)."""
    cur.execute("SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user")
    superuser, createdb = cur.fetchone()
    if superuser:
        return
    if not createdb:
        raise BackupError("the login role cannot create databases (CREATEDB), so no staging database can be made: grant it "
                          "CREATEDB or use another login_user; nothing was changed")
    if existing:
        cur.execute("SELECT pg_has_role(current_user, datdba, 'MEMBER') FROM pg_database WHERE datname = %s", (target,))
        if not cur.fetchone()[0]:
            raise BackupError("the login role does not own database %s (owner %s), so it cannot rename it: restore as its owner "
                              "or a superuser; nothing was changed" % (target, existing[0]))


def _refuse_sessions(cur, target, ignore=()):
    open_sessions = postgres.sessions(cur, target, ignore)
    if open_sessions:
        raise BackupError("database %s has %d open session(s) (%s): close them or set terminate_connections: true; nothing was changed" % (
            target, len(open_sessions), ", ".join("pid %s user %s" % (row[0], row[1]) for row in open_sessions[:5])))


def _create_staging(admin, staging, existing, params):
    owner = existing[0] if existing else (params.get("owner") or None)
    query = postgres.sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(postgres.ident(staging))
    if owner:
        query += postgres.sql.SQL(" OWNER {}").format(postgres.ident(owner))
    if existing:
        query += postgres.sql.SQL(" ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(*(postgres.sql.Literal(value) for value in existing[1:]))
    try:
        with admin.cursor() as cur:
            cur.execute(query)
    except postgres.psycopg2.Error as exc:
        raise BackupError("cannot create the staging database %s: %s; nothing was changed" % (staging, postgres.pg_error_text(exc))) from exc


def _fill_and_prove(params, client, chosen, program, staging):
    manifest = chosen["manifest"]
    env = postgres.libpq_env(params, staging)
    where = "s3://%s/%s" % (params["bucket"], chosen["key"])
    try:
        if params["jobs"] > 1:
            size, digest, code, errors = _restore_file(params, client, chosen, program, staging, env)
        else:
            size, digest, code, errors = _restore_stream(params, client, chosen, program, staging, env)
    except BackupError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        raise BackupError("downloading %s failed: %s; the target is unchanged" % (where, client_error_text(exc))) from exc
    if digest != manifest.get("sha256") or size != manifest.get("size"):
        raise BackupError("%s is corrupt: its SHA-256 is %s (%d bytes), the manifest says %s (%s bytes); the target is unchanged" % (
            where, digest, size, manifest.get("sha256"), manifest.get("size")), actual_sha256=digest)
    if code != 0:
        hint = ""
        if re.search(r'role "[^"]+" does not exist', errors or "") and not params.get("no_owner"):
            hint = " (the dump's owners are not roles on this server: create them, or set no_owner: true)"
        raise BackupError("pg_restore of %s into %s failed (exit code %s): %s%s; the target is unchanged" % (
            where, staging, code, errors or "no error text", hint))
    conn = postgres.connect(params, staging)
    try:
        with conn.cursor() as cur:
            actual = postgres.count_rows(cur, postgres.list_tables(cur))
    finally:
        conn.close()
    problems = compare_counts(manifest.get("tables") or {}, actual)
    if problems:
        raise BackupError("the restore of %s does not match its manifest: %s; the target is unchanged" % (where, "; ".join(problems)))


def _swap(params, target, staging, previous):
    """Rename in one transaction: the target becomes ``previous`` and the staging database the target."""
    conn = postgres.connect(params, params["maintenance_db"], autocommit=False)
    closed = None
    try:
        if previous is not None and params["terminate_connections"]:
            # No new session may come in between the terminate and the rename (a pool reconnecting at once): the
            # target refuses connections meanwhile, as it did not before only if it already refused them.
            closed = _allow_connections(conn, target, False)
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            try:
                with conn.cursor() as cur:
                    if previous is not None:
                        if params["terminate_connections"]:
                            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                                        (target,))
                        else:
                            _refuse_sessions(cur, target)
                        cur.execute(postgres.sql.SQL("ALTER DATABASE {} RENAME TO {}").format(postgres.ident(target), postgres.ident(previous)))
                    cur.execute(postgres.sql.SQL("ALTER DATABASE {} RENAME TO {}").format(postgres.ident(staging), postgres.ident(target)))
                conn.commit()
                if closed:
                    _allow_connections(conn, previous, True)  # the kept copy opens again, as the target was
                closed = None
                return
            except postgres.psycopg2.errors.ObjectInUse as exc:
                # A client reconnected between the terminate and the rename: try again.
                conn.rollback()
                if attempt == SWAP_ATTEMPTS:
                    raise BackupError("database %s kept getting new sessions, so it could not be swapped: %s; the target is unchanged" % (
                        target, postgres.pg_error_text(exc))) from exc
                time.sleep(0.5 * attempt)
            except BackupError:
                conn.rollback()
                raise
    finally:
        try:
            if closed:
                conn.rollback()
                _allow_connections(conn, target, True)
        finally:
            conn.close()


def _allow_connections(conn, name, allow):
    """Set ALLOW_CONNECTIONS of ``name`` (committed at once); True when it changed something."""
    with conn.cursor() as cur:
        cur.execute("SELECT datallowconn FROM pg_database WHERE datname = %s", (name,))
        row = cur.fetchone()
        if row is None or row[0] == allow:
            conn.commit()
            return False
        cur.execute(postgres.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(postgres.ident(name), postgres.sql.SQL("true" if allow else "false")))
    conn.commit()
    return True


def _drop(admin, name):
    with admin.cursor() as cur:
        cur.execute(postgres.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(postgres.ident(name)))

"""Fault tests of the PostgreSQL-to-S3 backup modules, against the sandbox's real PostgreSQL 15 and S3 (moto).

Every test makes its own bucket and its own databases, runs the modules through ansible-playbook, breaks
something (pg_dump killed, a table it cannot read, an S3 error, a corrupted object, a missing or rewritten
manifest, a wrong password, open sessions, Ctrl-C), and then reads the state back through the real APIs: S3
must hold no object, manifest or in-progress multipart upload after a failed backup, and a failed restore
must leave the target database exactly as it was, with no staging database left behind.

The happy paths are in test_backup_modules.py.
"""

import datetime
import hashlib
import json
import os
import signal
import subprocess
import threading
import uuid

import psycopg2
import pytest
import requests
from psycopg2 import sql

from backuplib import (
    MIB, REPO_ROOT, database_exists, multipart_uploads, new_name, pg_args, pg_connect, pg_exec, play, previous_databases, s3_keys,
    staging_databases, task, wait_for,
)
from s3front.control import S3Front

VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")
# Rows of 128 random hex characters: about 80 MB in PostgreSQL, 31 MB dumped at --compress=9, in ~3 s of pg_dump.
BIG_ROWS = 400000
PAYLOAD = "md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text)"


# ---- helpers -------------------------------------------------------------------------------------


def table_rows(sandbox, dbname, table="items"):
    """Every row of ``table``, ordered, read straight from PostgreSQL."""
    return pg_exec(sandbox, dbname, sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(table)))


def assert_target_unchanged(sandbox, target, rows):
    """The target has exactly its previous rows, and no staging or replaced copy of it exists."""
    assert table_rows(sandbox, target) == rows
    assert staging_databases(sandbox, target) == []
    assert previous_databases(sandbox, target) == []


def assert_bucket_clean(s3, bucket):
    """After a failed backup: no object (so no backup and no manifest) and no multipart upload in progress."""
    assert s3_keys(s3, bucket) == {}
    assert multipart_uploads(s3, bucket) == []


def proc_entries():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def read_proc(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as handle:
            return handle.read()
    except OSError:  # gone meanwhile, or not ours to read
        return None


def pg_dump_processes(dbname):
    """pids of the pg_dump processes (started with --snapshot=, as the module does) dumping ``dbname``.

    Debian's /usr/bin/pg_dump is a perl wrapper that execs the real program in the same process, so a pid whose
    command line is still ``perl /usr/bin/pg_dump ...`` counts too. Matched on the environment as well (the module
    hands the connection to pg_dump there), so a pg_dump that another test runs at the same time is never touched."""
    found = []
    for pid in proc_entries():
        cmdline = read_proc(pid, "cmdline")
        if not cmdline:
            continue
        argv = cmdline.split(b"\0")
        if b"pg_dump" not in [os.path.basename(arg) for arg in argv[:2]] or not any(arg.startswith(b"--snapshot=") for arg in argv):
            continue
        environ = (read_proc(pid, "environ") or b"").split(b"\0")
        if ("PGDATABASE=" + dbname).encode() in environ:
            found.append(pid)
    return found


def bytes_written(pid):
    for line in (read_proc(pid, "io") or b"").splitlines():
        if line.startswith(b"wchar:"):
            return int(line.split()[1])
    return 0


def proc_stat(pid):
    """(state, ppid, start time) of a process, or None when it is gone."""
    stat = read_proc(pid, "stat")
    if not stat:
        return None
    # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing parenthesis.
    fields = stat[stat.rindex(b")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19])


def descendants(root):
    """{pid: start time} of every process below ``root`` (the start time tells a reused pid apart)."""
    children = {}
    for pid in proc_entries():
        stat = proc_stat(pid)
        if stat:
            children.setdefault(stat[1], []).append((pid, stat[2]))
    found, todo = {}, [root]
    while todo:
        for pid, started in children.get(todo.pop(), []):
            found[pid] = started
            todo.append(pid)
    return found


def still_running(processes):
    """The processes of ``processes`` ({pid: start time}) that have not ended (zombies have)."""
    running = []
    for pid, started in processes.items():
        stat = proc_stat(pid)
        if stat and stat[0] != b"Z" and stat[2] == started:
            running.append(pid)
    return running


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def make_db(sandbox, databases):
    """A database of this test's own (conftest's ``databases`` drops it, and any staging or kept copy, afterwards), made
    with ``setup`` SQL in it, or as a copy of ``template``."""

    def make(setup=None, template=None):
        name = databases(new_name(tag="fault"), create=template is None)
        if template is not None:
            pg_exec(sandbox, "postgres", sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        if setup:
            pg_exec(sandbox, name, setup)
        return name

    return make


@pytest.fixture(scope="module")
def big_template(sandbox):
    """A database whose dump takes a few seconds at --compress=9; tests copy it (CREATE DATABASE ... TEMPLATE)
    into databases of their own, so the rows are generated once."""
    name = new_name("tpl", tag="fault")
    pg_exec(sandbox, "postgres", sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        pg_exec(sandbox, name, "CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL); "
                               "INSERT INTO items SELECT g, %s FROM generate_series(1, %d) g" % (PAYLOAD, BIG_ROWS))
        yield name
    finally:
        pg_exec(sandbox, "postgres", sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def small_db(make_db):
    """A database with a few rows in two tables: the source of the backups the restore tests break."""

    def create(rows=50):
        return make_db(setup="CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL); "
                             "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, %d) g; "
                             "CREATE TABLE notes (id serial PRIMARY KEY, body text); "
                             "INSERT INTO notes (body) VALUES ('one'), ('two')" % rows)

    return create


@pytest.fixture
def target_db(make_db):
    """An existing restore target with rows of its own (different from any backup's)."""

    def create():
        name = make_db(setup="CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL); "
                             "INSERT INTO items VALUES (1001, 'kept one'), (1002, 'kept two'), (1003, 'kept three')")
        return name

    return create


@pytest.fixture(scope="module")
def login(sandbox):
    """The connection options every task passes explicitly (the password as a module option)."""
    return pg_args(sandbox)


# What the playbooks' environment holds for libpq: nothing that works, so only the explicit options can connect.
POISON_PASSWORD = "poisoned-env-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def playbook_env():
    return {"PGPASSWORD": POISON_PASSWORD, "PGUSER": "nobody_" + uuid.uuid4().hex[:6], "PGDATABASE": "nowhere"}


@pytest.fixture
def run(run_playbook, sandbox, playbook_env):
    """Run tasks in a playbook; no password (the real one, nor a wrong one a test passes) is ever in its output."""

    def _run(*tasks, secrets=()):
        result = run_playbook(play(*tasks), env=playbook_env)
        assert result.data, "the playbook's json output could not be read (rc %s):\n%s\n%s" % (
            result.rc, result.stdout[-3000:], result.stderr[-3000:])
        for secret in (sandbox["PGPASSWORD"], POISON_PASSWORD) + tuple(secrets):
            assert secret not in result.stdout
            assert secret not in result.stderr
        return result

    return _run


@pytest.fixture
def backup(run, login):
    """A good backup of ``db`` into ``bucket``, returning the module's result."""

    def _backup(bucket, db, **args):
        result = run(task("good backup", "postgresql_backup_s3", bucket=bucket, db=db, **dict(login, **args)))
        outcome = result.task_result("good backup")
        assert not outcome.get("failed"), outcome.get("msg")
        return outcome

    return _backup


def ansible_playbook_command(path):
    """The command conftest's run_playbook builds, for a playbook a test runs in the background."""
    return [os.path.join(VENV_BIN, "ansible-playbook"), str(path), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=" + os.path.join(VENV_BIN, "python")]


@pytest.fixture
def front(sandbox):
    """The AWS front, which AWS_ENDPOINT_URL must go through (its /_sandbox endpoint answers there); the faults a test adds
    are removed afterwards (only its own: other suites may share the front)."""
    client = S3Front(sandbox["AWS_ENDPOINT_URL"], timeout=5)
    try:
        client.stats()
    except (requests.RequestException, ValueError):
        client = None
    assert client is not None, (
        "the running sandbox does not route AWS_ENDPOINT_URL=%s through the AWS front (sandbox/s3front): its /_sandbox "
        "endpoint does not answer there, so no fault can be injected; restart the sandbox with the front (SANDBOX_AWS_FRONT_URL "
        "is %s)" % (sandbox["AWS_ENDPOINT_URL"], sandbox.get("SANDBOX_AWS_FRONT_URL", "not set")))
    added = []
    original = client.add_fault

    def add_fault(**spec):
        fault = original(**spec)
        added.append(fault["id"])
        return fault

    client.add_fault = add_fault
    yield client
    for fault_id in added:
        try:
            client.remove_fault(fault_id)
        except requests.HTTPError:
            pass


# ---- backups that fail ---------------------------------------------------------------------------


def test_pg_dump_killed_mid_stream_leaves_nothing_in_s3(sandbox, s3, bucket, make_db, big_template, run_playbook, playbook_env,
                                                        login):
    db = make_db(template=big_template)
    outcome = {}

    def background():
        outcome["result"] = run_playbook(play(task("killed dump", "postgresql_backup_s3", bucket=bucket, db=db, compression_level=9,
                                                   part_size=5 * MIB, **login)), env=playbook_env)

    thread = threading.Thread(target=background, daemon=True)
    thread.start()
    try:
        def dumping():
            assert thread.is_alive(), "the playbook ended before pg_dump was seen: %s" % outcome["result"].stdout[-3000:]
            pids = pg_dump_processes(db)
            # Mid-stream: at least one part's worth of the dump already written into the pipe.
            return [pid for pid in pids if bytes_written(pid) > 6 * MIB]

        pids = wait_for("pg_dump of %s writing its first 6 MiB" % db, dumping, timeout=90, interval=0.01)
        assert len(pids) == 1
        cmdline = read_proc(pids[0], "cmdline")
        assert sandbox["PGPASSWORD"].encode() not in cmdline, "the password is on pg_dump's command line"
        # There is an upload in progress to undo.
        assert multipart_uploads(s3, bucket)
        os.kill(pids[0], signal.SIGKILL)
    finally:
        thread.join(180)
    assert not thread.is_alive()
    result = outcome["result"]
    failed = result.task_result("killed dump")
    assert failed["failed"] is True
    assert "killed by signal 9" in failed["msg"]
    assert db in failed["msg"]
    assert sandbox["PGPASSWORD"] not in result.stdout + result.stderr
    assert_bucket_clean(s3, bucket)
    assert pg_dump_processes(db) == []


def test_pg_dump_permission_denied_fails_with_its_own_text(sandbox, s3, bucket, make_db, run):
    role = "fault_role_" + uuid.uuid4().hex[:8]
    role_password = "pw-" + uuid.uuid4().hex
    db = make_db(setup="CREATE TABLE items (id int PRIMARY KEY, label text); INSERT INTO items VALUES (1, 'a'), (2, 'b'); "
                       "CREATE TABLE secrets (id int PRIMARY KEY, token text); INSERT INTO secrets VALUES (1, 'x')")
    pg_exec(sandbox, "postgres", sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(role_password)))
    try:
        pg_exec(sandbox, "postgres", sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(db), sql.Identifier(role)))
        pg_exec(sandbox, db, sql.SQL("GRANT SELECT ON items TO {}").format(sql.Identifier(role)))
        result = run(task("dump without select", "postgresql_backup_s3", bucket=bucket, db=db, login_host=sandbox["PGHOST"],
                          login_port=int(sandbox["PGPORT"]), login_user=role, login_password=role_password),
                     secrets=(role_password,))
        failed = result.task_result("dump without select")
        assert failed["failed"] is True
        # pg_dump's own text, not a consequence of the module's row counts failing on the same table first.
        assert "pg_dump: error" in failed["msg"]
        assert "permission denied for table secrets" in failed["msg"]
        assert "snapshot" not in failed["msg"]
        assert_bucket_clean(s3, bucket)
    finally:
        pg_exec(sandbox, "postgres", sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        pg_exec(sandbox, "postgres", sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_upload_part_error_aborts_the_upload(sandbox, s3, bucket, make_db, run, login, front):
    # Uncompressed random text: ~14 MB, three parts of 5 MiB.
    db = make_db(setup="CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL); "
                       "INSERT INTO items SELECT g, %s FROM generate_series(1, 100000) g" % PAYLOAD)
    fault = front.add_fault(operation="UploadPart", bucket=bucket, after=1, count=1000, status=403, code="AccessDenied",
                            message="injected: the role may not write parts")
    result = run(task("part fails", "postgresql_backup_s3", bucket=bucket, db=db, compression_level=0, part_size=5 * MIB,
                      upload_concurrency=1, **login))
    failed = result.task_result("part fails")
    assert failed["failed"] is True
    assert "AccessDenied" in failed["msg"]
    assert "part 2" in failed["msg"]
    fired = [item for item in front.faults() if item["id"] == fault["id"]][0]["fired"]
    assert fired >= 1
    assert_bucket_clean(s3, bucket)
    assert pg_dump_processes(db) == []


def test_wrong_password_changes_nothing(sandbox, s3, bucket, small_db, target_db, run, backup, login):
    wrong = "wrong-" + uuid.uuid4().hex
    source = small_db()
    bad = dict(login, login_password=wrong)
    result = run(task("backup, wrong password", "postgresql_backup_s3", bucket=bucket, db=source, **bad), secrets=(wrong,))
    failed = result.task_result("backup, wrong password")
    assert failed["failed"] is True
    assert "password authentication failed" in failed["msg"]
    assert source in failed["msg"]
    assert_bucket_clean(s3, bucket)

    backup(bucket, source)
    before = s3_keys(s3, bucket)
    target = target_db()
    rows = table_rows(sandbox, target)
    result = run(task("restore, wrong password", "postgresql_restore_s3", bucket=bucket, db=target, overwrite=True, **bad),
                 secrets=(wrong,))
    failed = result.task_result("restore, wrong password")
    assert failed["failed"] is True
    assert "password authentication failed" in failed["msg"]
    assert_target_unchanged(sandbox, target, rows)
    assert s3_keys(s3, bucket) == before


def test_interrupted_backup_is_undone(sandbox, s3, bucket, make_db, big_template, ansible_env, playbook_env, login, tmp_path):
    db = make_db(template=big_template)
    path = tmp_path / "interrupted.yml"
    path.write_text(play(task("interrupted", "postgresql_backup_s3", bucket=bucket, db=db, compression_level=9, part_size=5 * MIB,
                              **login)), encoding="utf-8")
    env = dict(ansible_env, **playbook_env)
    proc = subprocess.Popen(ansible_playbook_command(path), cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    pgid = os.getpgid(proc.pid)
    try:
        def uploading():
            assert proc.poll() is None, "the playbook ended before its upload started: %s" % (proc.communicate()[0][-3000:],)
            return multipart_uploads(s3, bucket)

        wait_for("a multipart upload into %s" % bucket, uploading, timeout=90, interval=0.05)

        def dumping():
            assert proc.poll() is None, "the playbook ended before it was interrupted: %s" % (proc.communicate()[0][-3000:],)
            # ansible's worker puts itself (and so the module and pg_dump) in a process group of its own: remember every
            # process below ansible-playbook, to wait for all of them, the module undoing its work included.
            below = descendants(proc.pid)
            writing = [pid for pid in pg_dump_processes(db) if pid in below and bytes_written(pid) > MIB]
            return below if writing else None

        # Mid-stream: pg_dump (a child of the module) has written its first MiB while the upload is in progress.
        tree = wait_for("pg_dump of %s writing below the playbook" % db, dumping, timeout=30, interval=0.01)
        commands = [read_proc(pid, "cmdline") or b"" for pid in tree]
        assert any(b"AnsiballZ_postgresql_backup_s3" in command for command in commands), commands
        os.killpg(pgid, signal.SIGINT)  # Ctrl-C in the terminal: the foreground process group, ansible-playbook's
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # the test failed before the playbook ended: stop all of it
            for pid in descendants(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.killpg(pgid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode != 0, stdout[-3000:]
    wait_for("every process of the interrupted playbook ending", lambda: not still_running(tree), timeout=60, interval=0.05)
    assert sandbox["PGPASSWORD"] not in stdout + stderr
    assert (s3_keys(s3, bucket), multipart_uploads(s3, bucket)) == ({}, []), "rc %s:\n%s\n%s" % (
        proc.returncode, stdout[-3000:], stderr[-3000:])
    assert pg_dump_processes(db) == []


# ---- restores that fail --------------------------------------------------------------------------


def test_corrupted_object_is_found_by_verify_and_refused_by_restore(
        sandbox, s3, bucket, small_db, target_db, databases, run, backup, login):
    source = small_db()
    good = backup(bucket, source)
    key = good["key"]
    data = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert hashlib.sha256(data).hexdigest() == good["sha256"]
    data[len(data) // 2] ^= 0x01
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    corrupt_sha = hashlib.sha256(data).hexdigest()
    assert s3_keys(s3, bucket)[key][0] == good["size"]

    new_target = databases(new_name(tag="fault"), create=False)
    existing = target_db()
    rows = table_rows(sandbox, existing)
    result = run(
        task("verify", "s3_backup_info", bucket=bucket, backup=key, verify=True),
        task("restore into a new database", "postgresql_restore_s3", bucket=bucket, backup=key, db=new_target, **login),
        task("restore over a database", "postgresql_restore_s3", bucket=bucket, backup=key, db=existing, overwrite=True, **login),
    )
    verify = result.task_result("verify")
    assert verify["failed"] is True
    assert key in verify["msg"]
    assert "SHA-256" in verify["msg"]
    assert corrupt_sha in verify["msg"]
    assert [item["ok"] for item in verify["verified"]] == [False]

    into_new = result.task_result("restore into a new database")
    assert into_new["failed"] is True
    assert "corrupt" in into_new["msg"]
    assert key in into_new["msg"]
    assert not database_exists(sandbox, new_target)
    assert staging_databases(sandbox, new_target) == []

    over = result.task_result("restore over a database")
    assert over["failed"] is True
    assert "corrupt" in over["msg"]
    assert_target_unchanged(sandbox, existing, rows)
    assert set(s3_keys(s3, bucket)) == {key, good["manifest_key"]}


def test_missing_manifest_makes_the_backup_incomplete(sandbox, s3, bucket, small_db, target_db, run, backup, login):
    source = small_db()
    good = backup(bucket, source)
    s3.delete_object(Bucket=bucket, Key=good["manifest_key"])
    target = target_db()
    rows = table_rows(sandbox, target)
    result = run(
        task("restore latest", "postgresql_restore_s3", bucket=bucket, backup="latest", db=target, overwrite=True, **login),
        task("restore the key", "postgresql_restore_s3", bucket=bucket, backup=good["key"], db=target, overwrite=True, **login),
        task("info", "s3_backup_info", bucket=bucket),
    )
    latest = result.task_result("restore latest")
    assert latest["failed"] is True
    assert "no complete backup" in latest["msg"]
    by_key = result.task_result("restore the key")
    assert by_key["failed"] is True
    assert "incomplete" in by_key["msg"]
    assert good["key"] in by_key["msg"]
    info = result.task_result("info")
    assert not info.get("failed"), info.get("msg")
    assert [(item["key"], item["state"]) for item in info["backups"]] == [(good["key"], "incomplete")]
    assert info["counts"]["incomplete"] == 1 and info["counts"]["complete"] == 0
    assert_target_unchanged(sandbox, target, rows)
    assert set(s3_keys(s3, bucket)) == {good["key"]}


def test_a_day_without_backups_is_refused_naming_the_days_that_have_some(
        sandbox, s3, bucket, small_db, target_db, run, backup, login):
    source = small_db()
    good = backup(bucket, source)
    day = good["key"].split("loyalty_backup_")[1][:8]
    before = s3_keys(s3, bucket)
    target = target_db()
    rows = table_rows(sandbox, target)
    result = run(
        task("restore 1999", "postgresql_restore_s3", bucket=bucket, backup="19990101", db=target, overwrite=True, **login),
        task("info 1999", "s3_backup_info", bucket=bucket, backup="19990101"),
    )
    for name in ("restore 1999", "info 1999"):
        failed = result.task_result(name)
        assert failed["failed"] is True
        assert "19990101" in failed["msg"]
        assert "s3://%s/" % bucket in failed["msg"]
        assert day in failed["msg"]
    assert_target_unchanged(sandbox, target, rows)
    assert s3_keys(s3, bucket) == before


def test_open_sessions_are_refused_then_terminated(sandbox, s3, bucket, small_db, target_db, run, backup, login):
    source = small_db(rows=40)
    backup(bucket, source)
    expected = table_rows(sandbox, source)
    target = target_db()
    rows = table_rows(sandbox, target)
    held = pg_connect(sandbox, target)
    try:
        with held.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            held_pid = cur.fetchone()[0]
        result = run(task("refused", "postgresql_restore_s3", bucket=bucket, db=target, overwrite=True, terminate_connections=False,
                          **login))
        refused = result.task_result("refused")
        assert refused["failed"] is True
        assert "open session" in refused["msg"]
        assert "terminate_connections" in refused["msg"]
        assert str(held_pid) in refused["msg"]
        assert_target_unchanged(sandbox, target, rows)
        with held.cursor() as cur:  # the session was left alone
            cur.execute("SELECT count(*) FROM items")
            assert cur.fetchone()[0] == len(rows)

        result = run(task("terminated", "postgresql_restore_s3", bucket=bucket, db=target, overwrite=True, terminate_connections=True,
                          **login))
        done = result.task_result("terminated")
        assert not done.get("failed"), done.get("msg")
        with pytest.raises(psycopg2.Error):
            with held.cursor() as cur:
                cur.execute("SELECT 1")
    finally:
        held.close()
    assert table_rows(sandbox, target) == expected
    assert staging_databases(sandbox, target) == []
    previous = done["previous"]
    assert previous and previous.startswith(target + "_before_restore_")
    assert previous_databases(sandbox, target) == [previous]
    assert table_rows(sandbox, previous) == rows


def test_row_count_mismatch_is_refused_naming_the_table(sandbox, s3, bucket, small_db, target_db, run, backup, login):
    source = small_db(rows=30)
    good = backup(bucket, source)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=good["manifest_key"])["Body"].read())
    assert manifest["tables"]["public.items"] == 30
    manifest["tables"]["public.items"] += 1
    s3.put_object(Bucket=bucket, Key=good["manifest_key"], Body=json.dumps(manifest, indent=1, sort_keys=True).encode())
    target = target_db()
    rows = table_rows(sandbox, target)
    result = run(task("restore", "postgresql_restore_s3", bucket=bucket, db=target, overwrite=True, **login))
    failed = result.task_result("restore")
    assert failed["failed"] is True
    assert "public.items" in failed["msg"]
    assert "31" in failed["msg"] and "30" in failed["msg"]
    assert "public.notes" not in failed["msg"]
    assert_target_unchanged(sandbox, target, rows)


def test_a_target_with_tables_is_refused_without_overwrite_before_any_download(sandbox, s3, bucket, small_db, target_db, run, backup,
                                                                               login, front):
    source = small_db()
    good = backup(bucket, source)
    target = target_db()
    rows = table_rows(sandbox, target)
    # Faults that never fire count the GetObjects that reach them: the first sees the manifest's, the second the
    # manifest's and the backup object's (its key is a prefix of the manifest's). The front's stats would count
    # every suite's GetObjects; these count this bucket's only.
    manifest_reads, key_reads = [front.add_fault(operation="GetObject", bucket=bucket, key_prefix=prefix, after=10 ** 9)["id"]
                                 for prefix in (good["manifest_key"], good["key"])]
    result = run(task("no overwrite", "postgresql_restore_s3", bucket=bucket, db=target, **login))
    seen = {item["id"]: item["seen"] for item in front.faults()}
    failed = result.task_result("no overwrite")
    assert failed["failed"] is True
    assert "overwrite" in failed["msg"]
    assert "relation public.items" in failed["msg"]
    assert seen[manifest_reads] >= 1, "the manifest was never read, so the counters count nothing: %s" % seen
    assert seen[key_reads] - seen[manifest_reads] == 0, "the backup object was downloaded before the refusal"
    assert_target_unchanged(sandbox, target, rows)


# ---- rotation that fails half-way, and a password from a passfile ---------------------------------


def test_a_failed_delete_batch_is_reported_key_by_key_and_the_rest_is_deleted(s3, bucket, run, front):
    """The second of two DeleteObjects batches fails: the first batch is gone, the second's keys remain, and the task
    fails naming how many keys could not be deleted, with each key's error in ``errors``."""
    reference = datetime.datetime(2026, 6, 30, 12, 0, tzinfo=datetime.timezone.utc)
    keys = []
    for hours in range(601):
        key = "database/" + (reference - datetime.timedelta(hours=hours)).strftime("loyalty_backup_%Y%m%d_%H%M%S.dump")
        s3.put_object(Bucket=bucket, Key=key, Body=b"d")
        s3.put_object(Bucket=bucket, Key=key + ".manifest.json", Body=b'{"size": 1, "sha256": "-"}')
        keys.append(key)
    front.add_fault(operation="DeleteObjects", bucket=bucket, after=1, count=10, status=403, code="AccessDenied",
                    message="injected: no s3:DeleteObject on this prefix")
    result = run(task("rotate", "s3_backup_rotate", bucket=bucket, prefix="database/", keep_last=1, reference_time=reference.isoformat()))
    failed = result.task_result("rotate")
    assert failed["failed"] is True and "200 of 1200 keys could not be deleted" in failed["msg"] and "AccessDenied" in failed["msg"]
    assert len(failed["errors"]) == 200 and {item["code"] for item in failed["errors"]} == {"DeleteObjects"}
    remaining = set(s3_keys(s3, bucket))
    assert remaining == {keys[0], keys[0] + ".manifest.json"} | {item["key"] for item in failed["errors"]}
    assert len(failed["deleted_keys"]) == 1000 and not remaining & set(failed["deleted_keys"])


def test_a_passfile_gives_the_password_over_an_inherited_pgpassword(sandbox, s3, bucket, small_db, run, tmp_path):
    """The playbook's environment carries a wrong PGPASSWORD (the run fixture's): the passfile must win."""
    db = small_db()
    passfile = tmp_path / "pgpass"
    passfile.write_text("%s:%s:*:%s:%s\n" % (sandbox["PGHOST"], sandbox["PGPORT"], sandbox["PGUSER"], sandbox["PGPASSWORD"]))
    passfile.chmod(0o600)
    result = run(task("backup", "postgresql_backup_s3", bucket=bucket, db=db, login_host=sandbox["PGHOST"], login_port=int(sandbox["PGPORT"]),
                      login_user=sandbox["PGUSER"], passfile=str(passfile)))
    outcome = result.task_result("backup")
    assert not outcome.get("failed"), outcome.get("msg")
    assert set(s3_keys(s3, bucket)) == {outcome["key"], outcome["manifest_key"]}


def test_a_prefix_that_is_not_a_folder_and_a_role_that_cannot_create_databases_are_refused_first(
        sandbox, s3, bucket, small_db, target_db, run, backup, databases):
    source = small_db()
    backup(bucket, source)
    before = s3_keys(s3, bucket)
    role, role_password = "it_nocreatedb_" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    pg_exec(sandbox, "postgres", sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), (role_password,))
    try:
        target = databases(create=False)
        result = run(
            task("prefix", "s3_backup_rotate", bucket=bucket, prefix="database", keep_last=1),
            task("no createdb", "postgresql_restore_s3", bucket=bucket, db=target, login_host=sandbox["PGHOST"],
                 login_port=int(sandbox["PGPORT"]), login_user=role, login_password=role_password),
            secrets=(role_password,))
        prefix = result.task_result("prefix")
        assert prefix["failed"] and "prefix=database must be a folder ending in / (database/)" in prefix["msg"]
        refused = result.task_result("no createdb")
        assert refused["failed"] and "CREATEDB" in refused["msg"] and "nothing was changed" in refused["msg"]
        assert not database_exists(sandbox, target) and staging_databases(sandbox, target) == []
        assert s3_keys(s3, bucket) == before
    finally:
        pg_exec(sandbox, "postgres", sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

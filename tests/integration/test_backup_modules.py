"""The backup modules against the sandbox's real PostgreSQL 15 and S3 (moto behind the sandbox's front, which
refuses what real S3 refuses): what each module promises when nothing goes wrong, check mode, and what S3 and
PostgreSQL hold afterwards, read back through boto3 and psycopg2. The failures are in test_backup_faults.py."""

import datetime
import hashlib
import json
import threading
import time

from psycopg2 import sql

from backuplib import (
    MIB, database_exists, pg_args, pg_connect, pg_exec, play, previous_databases, s3_keys, staging_databases, task,
)
from s3front.control import S3Front

UTC = datetime.timezone.utc
STAMP = "%Y%m%d_%H%M%S"


def fill(sandbox, db, members=500, points=3000):
    pg_exec(sandbox, db, """
        CREATE TABLE members (id int PRIMARY KEY, email text NOT NULL);
        CREATE TABLE points (id bigserial PRIMARY KEY, member_id int REFERENCES members (id), amount int NOT NULL);
        CREATE SCHEMA "Rewards";
        CREATE TABLE "Rewards"."Catalog Items" (sku text PRIMARY KEY, cost int);
        INSERT INTO members SELECT g, 'm' || g || '@example.invalid' FROM generate_series(1, %s) g;
        INSERT INTO points (member_id, amount) SELECT 1 + g %% %s, g %% 97 FROM generate_series(1, %s) g;
        INSERT INTO "Rewards"."Catalog Items" VALUES ('mug', 100), ('cap', 250);
    """, (members, members, points))


def big_fill(sandbox, db, rows):
    """Random text that compresses badly, so the dump spans several 5 MiB parts."""
    pg_exec(sandbox, db, "CREATE TABLE blobs (id int PRIMARY KEY, payload text NOT NULL); "
                         "INSERT INTO blobs SELECT g, md5(random()::text) || md5(random()::text) || md5(random()::text) "
                         "FROM generate_series(1, %s) g", (rows,))


def backup_task(sandbox, bucket, db, name="backup", **extra):
    args = dict(pg_args(sandbox), bucket=bucket, prefix="database/", db=db)
    args.update(extra)
    return task(name, "postgresql_backup_s3", **args)


def put_backup(s3, bucket, when, prefix="database/", manifest=True, body=b"dump", size=None):
    """A synthetic backup (object and, unless ``manifest`` is False, a manifest that agrees with it)."""
    key = prefix + when.strftime("loyalty_backup_" + STAMP + ".dump")
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    if manifest:
        s3.put_object(Bucket=bucket, Key=key + ".manifest.json", Body=json.dumps({
            "sha256": hashlib.sha256(body).hexdigest(), "size": len(body) if size is None else size, "tables": {}}).encode())
    return key


def test_a_backup_is_streamed_checksummed_encrypted_and_committed_by_its_manifest(sandbox, run_playbook, s3, bucket, databases):
    db = databases()
    fill(sandbox, db)
    # The controller's time zone must not reach the key: the stamp is UTC.
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    result = run_playbook(play(backup_task(sandbox, bucket, db)), env={"TZ": "Pacific/Kiritimati"})
    after = datetime.datetime.now(UTC)
    out = result.task_result("backup")
    assert not out.get("failed"), out
    assert out["changed"] is True
    stamp = datetime.datetime.strptime(out["key"], "database/loyalty_backup_" + STAMP + ".dump").replace(tzinfo=UTC)
    assert before <= stamp <= after
    assert sandbox["PGPASSWORD"] not in result.stdout + result.stderr

    keys = s3_keys(s3, bucket)
    assert set(keys) == {out["key"], out["key"] + ".manifest.json"}
    body = s3.get_object(Bucket=bucket, Key=out["key"])["Body"].read()
    assert body[:5] == b"PGDMP"  # pg_dump's custom format
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=out["manifest_key"])["Body"].read())
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest() == out["sha256"]
    assert manifest["size"] == len(body) == out["size"]
    assert manifest["database"] == db
    assert manifest["server_version"].startswith("15.")
    assert manifest["pg_dump_version"].startswith("15.")
    assert manifest["part_size"] == 8 * MIB
    assert manifest["tables"] == {"public.members": 500, "public.points": 3000, "Rewards.Catalog Items": 2} == out["tables"]
    started = datetime.datetime.strptime(manifest["started"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert started == stamp and manifest["finished"] >= manifest["started"]
    for key in keys:
        assert s3.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_check_mode_runs_nothing_and_names_the_key(sandbox, run_playbook, s3, bucket, databases):
    db = databases()
    result = run_playbook(play(backup_task(sandbox, bucket, db)), check=True)
    out = result.task_result("backup")
    assert out["changed"] is True and not out.get("failed"), out
    assert out["key"].startswith("database/loyalty_backup_") and "sha256" not in out
    assert s3_keys(s3, bucket) == {}
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_dump_of_many_parts_uploads_them_in_parallel_and_reads_back_whole(sandbox, run_playbook, s3, bucket, databases):
    db = databases()
    big_fill(sandbox, db, 250000)  # about 24 MB of incompressible-ish text, 5 parts at compression 0
    front = S3Front(sandbox["SANDBOX_AWS_FRONT_URL"])
    result = run_playbook(play(backup_task(sandbox, bucket, db, compression_level=0, part_size=5 * MIB, upload_concurrency=3)))
    out = result.task_result("backup")
    assert not out.get("failed"), out
    assert out["parts"] >= 4 and out["part_size"] == 5 * MIB
    body = s3.get_object(Bucket=bucket, Key=out["key"])["Body"].read()
    assert len(body) == out["size"] and hashlib.sha256(body).hexdigest() == out["sha256"]
    assert out["tables"] == {"public.blobs": 250000}
    assert front.stats()["operations"].get("UploadPart", 0) >= out["parts"]


def test_the_manifest_counts_are_those_of_the_dump_while_rows_are_committed_during_it(sandbox, run_playbook, s3, bucket, databases):
    """Rows inserted while pg_dump runs are neither in the dump nor in the counts: the restore proves both agree."""
    db = databases()
    big_fill(sandbox, db, 150000)
    pg_exec(sandbox, db, "CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())")
    stop = threading.Event()
    inserted = []

    def writer():
        conn = pg_connect(sandbox, db)
        with conn.cursor() as cur:
            while not stop.is_set():
                cur.execute("INSERT INTO events DEFAULT VALUES; INSERT INTO blobs SELECT max(id) + 1, 'late' FROM blobs")
                inserted.append(1)
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = run_playbook(play(backup_task(sandbox, bucket, db, compression_level=9)))
    finally:
        stop.set()
        thread.join()
    out = result.task_result("backup")
    assert not out.get("failed"), out
    live = dict(pg_exec(sandbox, db, "SELECT 'public.blobs', count(*) FROM blobs UNION ALL SELECT 'public.events', count(*) FROM events"))
    assert len(inserted) > 0
    assert out["tables"]["public.events"] < live["public.events"]
    assert out["tables"]["public.blobs"] < live["public.blobs"]

    target = databases(create=False)
    restored = run_playbook(play(task("restore", "postgresql_restore_s3", bucket=bucket, prefix="database/", db=target, **pg_args(sandbox))))
    res = restored.task_result("restore")
    assert not res.get("failed"), res
    counts = dict(pg_exec(sandbox, target, "SELECT 'public.blobs', count(*) FROM blobs UNION ALL SELECT 'public.events', count(*) FROM events"))
    assert counts == {name: out["tables"][name] for name in counts}


def test_info_reports_states_selects_and_verifies(sandbox, run_playbook, s3, bucket):
    now = datetime.datetime.now(UTC).replace(microsecond=0)
    day = datetime.timedelta(days=1)
    newest_complete = put_backup(s3, bucket, now - 2 * day)
    same_day_older = put_backup(s3, bucket, now - 2 * day - datetime.timedelta(hours=1))
    incomplete = put_backup(s3, bucket, now - datetime.timedelta(hours=1), manifest=False)
    mismatch = put_backup(s3, bucket, now - day, size=999)
    oldest = put_backup(s3, bucket, now - 10 * day, body=b"older dump")
    s3.put_object(Bucket=bucket, Key="database/notes.txt", Body=b"not a backup")
    s3.put_object(Bucket=bucket, Key="database/archive/" + (now - day).strftime("loyalty_backup_" + STAMP + ".dump"), Body=b"sub-folder")
    day_spec = (now - 2 * day).strftime("%Y%m%d")

    result = run_playbook(play(
        task("all", "s3_backup_info", bucket=bucket, prefix="database/"),
        task("latest", "s3_backup_info", bucket=bucket, prefix="database/", backup="latest", verify=True),
        task("day", "s3_backup_info", bucket=bucket, prefix="database/", backup=day_spec),
        task("by name", "s3_backup_info", bucket=bucket, prefix="database/", backup=oldest.split("/", 1)[1]),
        task("verify all", "s3_backup_info", bucket=bucket, prefix="database/", verify=True),
        task("verify newest", "s3_backup_info", bucket=bucket, prefix="database/", verify=True, verify_newest=1),
    ))
    listing = result.task_result("all")
    states = {item["key"]: item["state"] for item in listing["backups"]}
    assert states == {newest_complete: "complete", same_day_older: "complete", incomplete: "incomplete", mismatch: "mismatch",
                      oldest: "complete"}
    assert [item["key"] for item in listing["backups"]] == [incomplete, mismatch, newest_complete, same_day_older, oldest]
    assert listing["others"] == 1 and listing["counts"] == {"complete": 3, "incomplete": 1, "mismatch": 1}
    assert listing["changed"] is False

    latest = result.task_result("latest")
    assert latest["selected"]["key"] == newest_complete and latest["selected"]["verified"] is True
    assert result.task_result("day")["selected"]["key"] == newest_complete
    assert result.task_result("by name")["selected"]["key"] == oldest
    # Verifying everything verifies each backup with a manifest: the mismatched one fails the task, naming it; the
    # incomplete one has nothing to be verified against and is only reported by its state.
    everything = result.task_result("verify all")
    assert everything["failed"] and mismatch in everything["msg"] and incomplete not in everything["msg"]
    assert {item["key"]: item["ok"] for item in everything["verified"]} == {
        mismatch: False, newest_complete: True, same_day_older: True, oldest: True}
    newest_only = result.task_result("verify newest")
    assert newest_only["failed"] and [item["key"] for item in newest_only["verified"]] == [mismatch]


def test_rotation_batches_deletes_and_a_second_run_deletes_nothing(sandbox, run_playbook, s3, bucket):
    """1,100 backups and a keep_last of 50: 2,100 keys deleted in three DeleteObjects (the front refuses more than
    1,000 keys in one, as S3 does); check mode reports exactly what the real run then deletes."""
    from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel

    reference = datetime.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    times = [reference - datetime.timedelta(hours=3 * n) for n in range(1100)]
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda when: put_backup(s3, bucket, when), times))
    future = put_backup(s3, bucket, reference + datetime.timedelta(days=2))
    young_incomplete = put_backup(s3, bucket, reference - datetime.timedelta(hours=1, minutes=30), manifest=False)
    s3.put_object(Bucket=bucket, Key="database/keep-me.dump", Body=b"x")
    s3.put_object(Bucket=bucket, Key="other/" + times[-1].strftime("loyalty_backup_" + STAMP + ".dump"), Body=b"x")
    args = {"bucket": bucket, "prefix": "database/", "keep_last": 50, "reference_time": reference.isoformat(),
            "incomplete_grace": "100d"}
    preview = run_playbook(play(task("rotate", "s3_backup_rotate", **args)), check=True).task_result("rotate")
    assert not preview.get("failed"), preview
    assert len(s3_keys(s3, bucket)) == 2 * 1100 + 2 + 1 + 2

    front = S3Front(sandbox["SANDBOX_AWS_FRONT_URL"])
    front.reset_stats()
    real = run_playbook(play(task("rotate", "s3_backup_rotate", **args))).task_result("rotate")
    operations = front.stats()["operations"]
    assert not real.get("failed"), real
    assert real["deleted_keys"] == preview["deleted_keys"] and len(real["deleted_keys"]) == 2100
    assert [item["key"] for item in real["deleted"]] == keys[50:]
    assert operations.get("DeleteObjects") == 3
    remaining = set(s3_keys(s3, bucket))
    assert remaining == (set(keys[:50]) | {k + ".manifest.json" for k in keys[:50]} | {future, future + ".manifest.json", young_incomplete}
                         | {"database/keep-me.dump", "other/" + times[-1].strftime("loyalty_backup_" + STAMP + ".dump")})
    kept = {item["key"]: item["rules"] for item in real["kept"]}
    assert kept[future] == ["future"] and kept[young_incomplete] == ["incomplete_grace"]
    assert kept[keys[0]] == ["min_keep", "keep_last"] and real["future"] == [future]

    again = run_playbook(play(task("rotate", "s3_backup_rotate", **args))).task_result("rotate")
    assert again["changed"] is False and again["deleted_keys"] == []


def test_rotation_refuses_without_rules_and_over_max_delete_deleting_nothing(run_playbook, s3, bucket):
    reference = datetime.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    for n in range(6):
        put_backup(s3, bucket, reference - datetime.timedelta(days=n))
    before = s3_keys(s3, bucket)
    result = run_playbook(play(
        task("no rule", "s3_backup_rotate", bucket=bucket, prefix="database/"),
        task("too many", "s3_backup_rotate", bucket=bucket, prefix="database/", keep_last=1, max_delete=4, reference_time=reference.isoformat()),
    ))
    assert result.task_result("no rule")["failed"] and "no retention rule" in result.task_result("no rule")["msg"]
    too_many = result.task_result("too many")
    assert too_many["failed"] and "max_delete=4" in too_many["msg"] and len(too_many["would_delete"]) == 5
    assert s3_keys(s3, bucket) == before


def test_rotation_removes_stale_incomplete_backups_and_aborts_stale_uploads(run_playbook, s3, bucket):
    old = datetime.datetime.now(UTC) - datetime.timedelta(days=3)
    good = put_backup(s3, bucket, old)
    stale = put_backup(s3, bucket, old - datetime.timedelta(days=1), manifest=False)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="database/" + old.strftime("loyalty_backup_" + STAMP + "9.dump"))
    del upload  # a name that is not a candidate: never touched
    candidate_upload = s3.create_multipart_upload(Bucket=bucket, Key="database/" + (old - datetime.timedelta(hours=1)).strftime(
        "loyalty_backup_" + STAMP + ".dump"))["UploadId"]
    # The uploads are initiated now and the incomplete backup's object was written now (its stamp is days old, but a long
    # dump is stamped when it starts): with the default grace of 24 h all are left alone; with a grace of 0 they go.
    kept = run_playbook(play(task("rotate", "s3_backup_rotate", bucket=bucket, prefix="database/", keep_last=1))).task_result("rotate")
    assert kept["aborted_uploads"] == [] and kept["deleted"] == [] and kept["changed"] is False
    assert {item["key"]: item["rules"] for item in kept["kept"]} == {good: ["min_keep", "keep_last"], stale: ["incomplete_grace"]}
    gone = run_playbook(play(task("rotate", "s3_backup_rotate", bucket=bucket, prefix="database/", keep_last=1,
                                  incomplete_grace="0s"))).task_result("rotate")
    assert [item["upload_id"] for item in gone["aborted_uploads"]] == [candidate_upload]
    assert [(item["key"], item["reason"]) for item in gone["deleted"]] == [(stale, "incomplete")]
    uploads = {item["UploadId"] for item in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}
    assert candidate_upload not in uploads and len(uploads) == 1
    assert set(s3_keys(s3, bucket)) == {good, good + ".manifest.json"}


def test_restore_streams_into_a_new_database_and_with_two_jobs_from_a_file(sandbox, run_playbook, s3, bucket, databases, tmp_path):
    source = databases()
    fill(sandbox, source)
    run_playbook(play(backup_task(sandbox, bucket, source, ignore_errors=False)))
    one, two = databases(create=False), databases(create=False)
    result = run_playbook(play(
        task("jobs 1", "postgresql_restore_s3", bucket=bucket, prefix="database/", db=one, **pg_args(sandbox)),
        task("jobs 2", "postgresql_restore_s3", bucket=bucket, prefix="database/", db=two, jobs=2, tmp_dir=str(tmp_path), **pg_args(sandbox)),
    ))
    expected = pg_exec(sandbox, source, "SELECT (SELECT count(*) FROM members), (SELECT sum(amount) FROM points), "
                                        "(SELECT string_agg(sku, ',' ORDER BY sku) FROM \"Rewards\".\"Catalog Items\")")
    for name, target in (("jobs 1", one), ("jobs 2", two)):
        out = result.task_result(name)
        assert not out.get("failed"), out
        assert out["verified"] is True and out["previous"] is None and out["replaced"] is False
        assert pg_exec(sandbox, target, "SELECT (SELECT count(*) FROM members), (SELECT sum(amount) FROM points), "
                                        "(SELECT string_agg(sku, ',' ORDER BY sku) FROM \"Rewards\".\"Catalog Items\")") == expected
        assert staging_databases(sandbox, target) == []
    assert list(tmp_path.iterdir()) == []  # the temporary copy is gone


def test_restore_over_a_database_keeps_the_replaced_one_unless_told_otherwise(sandbox, run_playbook, s3, bucket, databases):
    source = databases()
    fill(sandbox, source)
    run_playbook(play(backup_task(sandbox, bucket, source, ignore_errors=False)))
    target = databases()
    pg_exec(sandbox, target, "CREATE TABLE old_data (v int); INSERT INTO old_data VALUES (1), (2)")
    args = dict(pg_args(sandbox), bucket=bucket, prefix="database/", db=target, overwrite=True)

    preview = run_playbook(play(task("restore", "postgresql_restore_s3", **args)), check=True).task_result("restore")
    assert preview["changed"] is True and not preview.get("failed"), preview
    assert pg_exec(sandbox, target, "SELECT count(*) FROM old_data") == [(2,)] and staging_databases(sandbox, target) == []

    out = run_playbook(play(task("restore", "postgresql_restore_s3", **args))).task_result("restore")
    assert not out.get("failed"), out
    assert out["previous"] and out["previous"].startswith(target + "_before_restore_")
    assert previous_databases(sandbox, target) == [out["previous"]]
    assert pg_exec(sandbox, out["previous"], "SELECT count(*) FROM old_data") == [(2,)]
    assert pg_exec(sandbox, target, "SELECT count(*) FROM members") == [(500,)]
    assert not pg_exec(sandbox, target, "SELECT 1 FROM pg_class WHERE relname = 'old_data'")

    # Again, without keeping the replaced database: it is dropped.
    time.sleep(1.1)  # a new UTC second, so the new names cannot meet the kept one
    out = run_playbook(play(task("restore", "postgresql_restore_s3", keep_previous=False, **args))).task_result("restore")
    assert not out.get("failed"), out
    assert out["previous"] is None and out["dropped_previous"] and not database_exists(sandbox, out["dropped_previous"])
    assert len(previous_databases(sandbox, target)) == 1


def test_an_empty_target_is_replaced_and_not_kept(sandbox, run_playbook, s3, bucket, databases):
    source = databases()
    fill(sandbox, source, members=10, points=10)
    run_playbook(play(backup_task(sandbox, bucket, source, ignore_errors=False)))
    target = databases()  # exists, holds nothing of its own: no overwrite needed, nothing kept
    out = run_playbook(play(task("restore", "postgresql_restore_s3", bucket=bucket, prefix="database/", db=target,
                                 **pg_args(sandbox)))).task_result("restore")
    assert not out.get("failed"), out
    assert out["replaced"] is True and out["previous"] is None and previous_databases(sandbox, target) == []
    assert pg_exec(sandbox, target, "SELECT count(*) FROM members") == [(10,)]
    owner = pg_exec(sandbox, "postgres", sql.SQL("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s"), (target,))
    assert owner == [(sandbox["PGUSER"],)]


def test_the_role_backs_up_verifies_rotates_and_pushes_metrics(sandbox, run_playbook, s3, bucket, databases):
    db = databases()
    fill(sandbox, db, members=20, points=20)
    reference = datetime.datetime.now(UTC)
    old = [put_backup(s3, bucket, reference - datetime.timedelta(days=40 + n)) for n in range(3)]
    result = run_playbook("playbooks/backup.yml", inventory="inventories/local", extra_vars={
        "db_backup_bucket": bucket, "db_backup_database": db, "db_backup_login_host": sandbox["PGHOST"],
        "db_backup_login_port": int(sandbox["PGPORT"]), "db_backup_retention": {"keep_days": 7, "min_keep": 1},
        "db_backup_pushgateway_job": "it_" + db})
    assert result.rc == 0, result.stdout[-3000:]
    backup = result.task_result("loyalty.platform.db_backup : Dump the database into S3")
    remaining = set(s3_keys(s3, bucket))
    assert remaining == {backup["key"], backup["manifest_key"]}
    assert not set(old) & remaining
    versioning = s3.get_bucket_versioning(Bucket=bucket)
    assert versioning["Status"] == "Enabled"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    import requests  # pylint: disable=import-outside-toplevel

    pushed = requests.get(sandbox["PUSHGATEWAY_URL"] + "/api/v1/metrics", timeout=10).json()["data"]
    group = [item for item in pushed if item["labels"].get("job") == "it_" + db]
    assert len(group) == 1
    metric = group[0]["loyalty_backup_last_success_timestamp_seconds"]["metrics"][0]
    assert abs(float(metric["value"]) - time.time()) < 300 and metric["labels"]["database"] == db
    assert int(float(group[0]["loyalty_backup_size_bytes"]["metrics"][0]["value"])) == backup["size"]

"""playbooks/dr.yml (role loyalty.platform.disaster_recovery) against the sandbox, with inventories/local.

Every test has a database, a bucket, a namespace and an artifacts folder of its own (the `recovery` fixture), and
reads the effect back through the real APIs: psycopg2 on the database, boto3 on the bucket and the Kubernetes client
on the namespace, not only the playbook's output. The infrastructure tests share one aws_infra environment of their
own in moto (a project name nobody else uses), built by the first of them and torn down at the end of the module.
Faults are added through the sandbox's fault proxy (`kube_sandbox`), which removes only the faults this suite added.
"""

import datetime
import json
import os
import re
import time
import uuid

import boto3
import pytest
from psycopg2 import sql

from backuplib import (
    REPO_ROOT, databases_like, drop_database, like_escape, pg_args, pg_exec, play, previous_databases, s3_keys, staging_databases, task,
)

PLAYBOOK = "playbooks/dr.yml"
APPS_PLAYBOOK = "playbooks/apps.yml"
INFRA_PLAYBOOK = "playbooks/infra.yml"
INVENTORY = "inventories/local"
ROLE = "loyalty.platform.disaster_recovery : "
TYPES = ("database", "application", "infrastructure", "partial", "full", "drill")
SERVICES = ["user-service", "point-service", "rewards-service", "admin-service"]
PREFIX = "database/"
INVENTORY_ARTIFACTS = os.path.join(REPO_ROOT, INVENTORY, "artifacts")
# The blue/green switch's field manager: a Service it re-pointed is what an interrupted switch leaves.
SELECTOR_MANAGER = "loyalty-platform-bluegreen"
DRILL_REPORT = re.compile(r"^dr-drill-(\d{8})T(\d{6})Z\.json$")
STAMP = re.compile(r"^\d{14}$")
# What the backup holds (fill) and what changes after it (change).
BACKED_UP_TABLES = {"public.items": 25, "public.members": 40}
PASSING_CHECKS = [
    {"name": "items exist", "query": "select count(*) from items", "min": 1},
    # 40 in the backup, 35 in the live database: passes only on what was restored.
    {"name": "every member", "query": "select count(*) from members", "equals": 40},
    {"name": "emails look right", "query": "select bool_and(email like '%@example.invalid') from members"},
]


# ---- the database, read back through psycopg2 ------------------------------------------------------------------


def fill(sandbox, db):
    pg_exec(sandbox, db, """
        CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
        CREATE TABLE members (id int PRIMARY KEY, email text NOT NULL, points int NOT NULL);
        INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 25) g;
        INSERT INTO members SELECT g, 'm' || g || '@example.invalid', 10 * g FROM generate_series(1, 40) g;
    """)


def change(sandbox, db):
    """What happens after the backup: a row added, rows deleted, a row updated."""
    pg_exec(sandbox, db, "INSERT INTO items VALUES (1000, 'after the backup'); DELETE FROM members WHERE id <= 5; "
                         "UPDATE members SET points = 0 WHERE id = 6")


def content(sandbox, db):
    """Every row of every table of the database: {schema.table: [rows in key order]}."""
    tables = pg_exec(sandbox, db, "SELECT table_schema, table_name FROM information_schema.tables "
                                  "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') "
                                  "ORDER BY 1, 2")
    return {"%s.%s" % (schema, name): pg_exec(sandbox, db, sql.SQL("SELECT * FROM {}.{} ORDER BY 1").format(
        sql.Identifier(schema), sql.Identifier(name))) for schema, name in tables}


def oid(sandbox, db):
    """The database's oid: equal before and after means it was not dropped, renamed away or recreated."""
    rows = pg_exec(sandbox, "postgres", "SELECT oid FROM pg_database WHERE datname = %s", (db,))
    return rows[0][0] if rows else None


def beginning_with(sandbox, db):
    """Every database whose name begins with ``db`` (itself, kept copies, staging and scratch databases)."""
    return databases_like(sandbox, like_escape(db) + "%")


def drill_databases(sandbox, db):
    return databases_like(sandbox, like_escape(db) + "\\_drill\\_%")


def marker(sandbox, db):
    return pg_exec(sandbox, db, "SELECT name FROM items WHERE id = 9999")


# ---- the playbook's output ----------------------------------------------------------------------------------------


def assert_ok(result):
    assert result.rc == 0, "playbook failed (rc %s):\n%s\n%s" % (result.rc, failure_messages(result), result.stderr[-3000:])


def report(result):
    """The disaster_recovery_report fact, and the same dict as the last item of what "Report | print it" printed."""
    fact = result.task_result(ROLE + "Report | the summary")["ansible_facts"]["disaster_recovery_report"]
    assert result.task_result(ROLE + "Report | print it")["msg"][-1] == fact
    return fact


def steps(summary):
    return [(entry["step"], entry["result"]) for entry in summary["steps"]]


def step(summary, name):
    return [entry for entry in summary["steps"] if entry["step"] == name][-1]


def plan(result):
    return result.task_result(ROLE + "Plan | what each step will do")["msg"]


def failure_messages(result):
    """The message of every failed task, rescued ones included, whitespace folded."""
    found = []
    for play_ in result.data.get("plays", []):
        for task_ in play_.get("tasks", []):
            host = task_["hosts"].get("localhost", {})
            if host.get("failed"):
                found.append(" ".join(str(host.get("msg", "")).split()))
    return "\n".join(found) or result.stdout[-3000:] + result.stderr[-2000:]


def ran(result, name):
    """Whether the role's task ``name`` ran (and was not skipped) in the run."""
    return any(not outcome.get("skipped") for outcome in result.task_results(ROLE + name))


# ---- Kubernetes, read back through the client ----------------------------------------------------------------------


def selectors(kube_client, namespace):
    services = kube_client.resources.get(api_version="v1", kind="Service").get(namespace=namespace).items
    return {item.metadata.name: (item.spec.selector or {}).get("color") for item in services}


def versions(kube_client, namespace):
    """resourceVersion of every object a recovery could write in the namespace."""
    found = {}
    for api_version, kind in (("v1", "Service"), ("apps/v1", "Deployment"), ("v1", "ConfigMap"), ("v1", "Secret")):
        for item in kube_client.resources.get(api_version=api_version, kind=kind).get(namespace=namespace).items:
            found[(kind, item.metadata.name)] = item.metadata.resourceVersion
    return found


def ready_endpoint_colors(kube_client, namespace, service):
    """The color label of the Pod behind every ready endpoint of the Service (its EndpointSlices)."""
    slices = kube_client.resources.get(api_version="discovery.k8s.io/v1", kind="EndpointSlice").get(
        namespace=namespace, label_selector="kubernetes.io/service-name=" + service).items
    pods = kube_client.resources.get(api_version="v1", kind="Pod")
    colors = []
    for item in slices:
        for endpoint in item.endpoints or []:
            if endpoint.conditions and endpoint.conditions.ready and endpoint.targetRef:
                pod = pods.get(name=endpoint.targetRef.name, namespace=namespace)
                colors.append(dict(pod.metadata.labels or {}).get("color"))
    return colors


def repoint(kube_client, namespace, service, color):
    """What an interrupted blue/green switch leaves behind: one Service re-pointed, as the switch's field manager."""
    kube_client.resources.get(api_version="v1", kind="Service").patch(
        name=service, namespace=namespace, body={"spec": {"selector": {"color": color}}},
        content_type="application/merge-patch+json", field_manager=SELECTOR_MANAGER)


# ---- fixtures ------------------------------------------------------------------------------------------------------


class Recovery:
    """One environment of the test's own: database, bucket, namespace and artifacts folder, and the playbooks run on it."""

    def __init__(self, sandbox, run_playbook, bucket, db, namespace, tmp_path):
        self.sandbox = sandbox
        self.run_playbook = run_playbook
        self.bucket = bucket
        self.db = db
        self.namespace = namespace
        self.artifacts = tmp_path / "artifacts"
        self.outputs = tmp_path / "infra-outputs.json"
        self.progress_file = self.artifacts / "dr-progress.json"
        self.server = "%s:%s" % (sandbox["PGHOST"], sandbox["PGPORT"])

    def common_vars(self):
        return {
            "eks_apps_database": {"host": self.sandbox["PGHOST"], "port": int(self.sandbox["PGPORT"]), "name": self.db, "ssl": False},
            "eks_apps_namespace": self.namespace,
            "aws_infra_outputs_file": str(self.outputs),
        }

    def run(self, dr_type=None, check=False, **extra):
        """playbooks/dr.yml -e type=<dr_type> (no type at all when None) on this environment."""
        extra_vars = dict(self.common_vars(), disaster_recovery_database=self.db, disaster_recovery_bucket=self.bucket,
                          disaster_recovery_prefix=PREFIX, disaster_recovery_namespace=self.namespace,
                          disaster_recovery_artifacts_dir=str(self.artifacts),
                          disaster_recovery_infra_outputs_file=str(self.outputs))
        if dr_type is not None:
            extra_vars["type"] = dr_type
        extra_vars.update(extra)
        return self.run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=extra_vars, check=check)

    def deploy_apps(self, **extra):
        """playbooks/apps.yml into the namespace, the services pointed at the test's database."""
        result = self.run_playbook(APPS_PLAYBOOK, inventory=INVENTORY, extra_vars=dict(self.common_vars(), **extra))
        assert_ok(result)
        return result

    def back_up(self, tables=None):
        """A backup of the database with postgresql_backup_s3, as db_backup makes it: its key, manifest key and tables
        (those of fill() unless told otherwise)."""
        result = self.run_playbook(play(task("backup", "postgresql_backup_s3", ignore_errors=False, bucket=self.bucket, prefix=PREFIX,
                                             db=self.db, **pg_args(self.sandbox))))
        out = result.task_result("backup")
        assert result.rc == 0 and not out.get("failed"), out
        assert out["tables"] == (tables or BACKED_UP_TABLES)
        return out

    def prepared(self):
        """The database filled, backed up, then changed: the content of the backup."""
        fill(self.sandbox, self.db)
        backup = self.back_up()
        expected = content(self.sandbox, self.db)
        change(self.sandbox, self.db)
        assert content(self.sandbox, self.db) != expected
        return backup, expected

    def artifact_files(self):
        return sorted(path.name for path in self.artifacts.iterdir()) if self.artifacts.exists() else []

    def drill_report(self):
        names = [name for name in self.artifact_files() if DRILL_REPORT.match(name)]
        assert len(names) == 1, self.artifact_files()
        return names[0], json.loads((self.artifacts / names[0]).read_text(encoding="utf-8"))

    def progress(self):
        return json.loads(self.progress_file.read_text(encoding="utf-8"))


@pytest.fixture
def recovery(sandbox, run_playbook, bucket, databases, namespace, tmp_path):
    return Recovery(sandbox, run_playbook, bucket, databases(), namespace, tmp_path)


@pytest.fixture(scope="module")
def infra_project(run_playbook, tmp_path_factory):
    """An aws_infra project of this module's own in moto, torn down (playbooks/infra.yml -e state=absent) at the end."""
    project = "itdr%s" % uuid.uuid4().hex[:6]
    yield project
    outputs = tmp_path_factory.mktemp("dr-infra") / "infra-outputs.json"
    result = run_playbook(INFRA_PLAYBOOK, inventory=INVENTORY, extra_vars={
        "aws_infra_project": project, "aws_infra_outputs_file": str(outputs), "state": "absent"})
    assert result.rc == 0, "tearing down %s-local failed:\n%s" % (project, failure_messages(result))


# ---- the type ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dr_type, words", [(None, "No recovery type given"), ("restore-everything", 'Unknown recovery type "restore-everything"')])
def test_no_type_or_an_unknown_type_fails_first_listing_the_types(sandbox, recovery, s3, dr_type, words):
    """Without a type, or with one it does not know, the run stops at its first task, naming all six types, before it
    reads or writes anything: the database, the bucket and the artifacts folder are as they were."""
    fill(sandbox, recovery.db)
    recovery.back_up()
    before, before_oid, before_keys = content(sandbox, recovery.db), oid(sandbox, recovery.db), s3_keys(s3, recovery.bucket)

    result = recovery.run(dr_type)
    assert result.rc != 0
    message = failure_messages(result)
    assert words in message, message
    listed = re.search(r"give -e type= one of (.*?) \(", message)
    assert listed and listed.group(1).split(", ") == list(TYPES), message
    # Stopped at the first check: no plan was made, nothing was read from S3, no step and no report ran.
    assert not ran(result, "Plan | choose the backup") and not ran(result, "Report | the summary")
    assert content(sandbox, recovery.db) == before and oid(sandbox, recovery.db) == before_oid
    assert beginning_with(sandbox, recovery.db) == [recovery.db]
    assert s3_keys(s3, recovery.bucket) == before_keys
    assert not recovery.artifacts.exists() and not recovery.progress_file.exists()


# ---- type database -------------------------------------------------------------------------------------------------


def test_database_recovery_restores_the_backup_over_the_database_and_checks_health(sandbox, recovery):
    """type=database: the database holds exactly what the backup held, the replaced one is kept as
    <db>_before_restore_*, the health checks pass against the deployed services, and the recovery's progress file is
    gone once it succeeded."""
    backup, expected = recovery.prepared()
    changed = content(sandbox, recovery.db)
    recovery.deploy_apps()

    result = recovery.run("database")
    assert_ok(result)
    assert content(sandbox, recovery.db) == expected
    kept = previous_databases(sandbox, recovery.db)
    assert len(kept) == 1 and content(sandbox, kept[0]) == changed
    assert staging_databases(sandbox, recovery.db) == []

    summary = report(result)
    assert summary["type"] == "database" and summary["result"] == "succeeded" and summary["error"] is None
    assert steps(summary) == [("database", "done"), ("health", "done")]
    assert summary["backup"]["key"] == backup["key"] and summary["backup"]["size"] == backup["size"]
    assert summary["backup"]["age_seconds"] >= 0
    restored = step(summary, "database")
    assert restored["backup"] == backup["key"] and restored["database"] == recovery.db and restored["server"] == recovery.server
    assert restored["previous"] == kept[0]
    assert step(summary, "health")["color"] == "blue"
    assert not recovery.progress_file.exists()


def test_database_recovery_recreates_a_database_the_disaster_dropped(sandbox, recovery):
    """type=database when the database is gone altogether: it is created from the backup, and nothing is kept."""
    backup, expected = recovery.prepared()
    recovery.deploy_apps()
    drop_database(sandbox, recovery.db)

    result = recovery.run("database")
    assert_ok(result)
    assert content(sandbox, recovery.db) == expected
    assert beginning_with(sandbox, recovery.db) == [recovery.db]
    summary = report(result)
    assert summary["result"] == "succeeded" and steps(summary) == [("database", "done"), ("health", "done")]
    assert step(summary, "database")["backup"] == backup["key"] and step(summary, "database")["previous"] is None


def test_partial_recovery_restores_the_database_then_deploys_the_services_into_an_empty_namespace(sandbox, recovery, kube_client):
    """type=partial where the services are gone: the database is restored, the services are deployed (blue, as no
    Service exists), and the health checks pass against them."""
    backup, expected = recovery.prepared()
    assert selectors(kube_client, recovery.namespace) == {}

    result = recovery.run("partial")
    assert_ok(result)
    assert content(sandbox, recovery.db) == expected
    assert selectors(kube_client, recovery.namespace) == dict.fromkeys(SERVICES, "blue")
    for service in SERVICES:
        assert set(ready_endpoint_colors(kube_client, recovery.namespace, service)) == {"blue"}, service
    summary = report(result)
    assert summary["result"] == "succeeded" and summary["backup"]["key"] == backup["key"]
    assert steps(summary) == [("database", "done"), ("application", "done"), ("health", "done")]
    assert step(summary, "application")["color"] == "blue" and step(summary, "application")["color_before"] is None
    assert not recovery.progress_file.exists()


def test_a_failed_health_check_names_what_is_wrong(sandbox, recovery):
    """type=database with no service deployed: the database is restored, then the health step fails naming the missing
    Services and what they select (nothing), and the run fails, its progress kept for a resumed run."""
    recovery.prepared()
    result = recovery.run("database", disaster_recovery_health_timeout=5)
    assert result.rc != 0
    summary = report(result)
    assert steps(summary) == [("database", "done"), ("health", "failed")] and summary["result"] == "failed"
    error = " ".join(summary["error"].split())
    assert error.startswith("health: After 5 s: missing Services user-service, point-service, rewards-service, admin-service;"), error
    assert "the Services select nothing" in error, error
    assert recovery.progress()["steps"]["database"]["result"] == "done"


@pytest.mark.parametrize("drill_type", ["drill", " drill "], ids=["drill", "drill-padded"])
def test_a_drill_leaves_the_progress_of_an_interrupted_recovery_alone(sandbox, recovery, drill_type):
    """A recovery interrupted after its database step (its health checks fail: no service is deployed) leaves its
    progress; a drill that succeeds afterwards must neither delete nor change it, whichever way its type is spelled
    (the preflight accepts a type with spaces around it), or the resumed recovery would restore the database again."""
    backup = recovery.prepared()[0]
    interrupted = recovery.run("database", disaster_recovery_health_timeout=5)
    assert interrupted.rc != 0 and report(interrupted)["result"] == "failed"
    assert steps(report(interrupted)) == [("database", "done"), ("health", "failed")]
    progress = recovery.progress_file.read_text(encoding="utf-8")
    assert json.loads(progress)["steps"]["database"]["backup"] == backup["key"]

    drill = recovery.run(drill_type, disaster_recovery_drill_checks=PASSING_CHECKS)
    assert_ok(drill)
    assert report(drill)["result"] == "succeeded" and steps(report(drill)) == [("drill", "passed")]
    assert recovery.progress_file.exists(), "the drill deleted the progress file of the interrupted recovery"
    assert recovery.progress_file.read_text(encoding="utf-8") == progress


# ---- drills --------------------------------------------------------------------------------------------------------


def test_a_drill_restores_into_a_scratch_database_checks_it_reports_and_drops_it(sandbox, recovery):
    """type=drill: the backup is restored into <db>_drill_<UTC stamp>, the SQL checks run there (one passes only on
    the backup's rows), the report file states RPO, RTO, the tables and the checks, and the scratch database is
    dropped; the environment's database is neither changed nor recreated and no progress file is written."""
    backup = recovery.prepared()[0]
    live, live_oid = content(sandbox, recovery.db), oid(sandbox, recovery.db)
    started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    result = recovery.run("drill", disaster_recovery_drill_checks=PASSING_CHECKS)
    assert_ok(result)
    name, drill = recovery.drill_report()
    assert recovery.artifact_files() == [name]
    assert drill["type"] == "drill" and drill["result"] == "passed" and drill["error"] is None
    assert isinstance(drill["rpo_seconds"], (int, float)) and drill["rpo_seconds"] >= 0
    assert isinstance(drill["rto_seconds"], (int, float)) and drill["rto_seconds"] > 0
    assert drill["tables"] == BACKED_UP_TABLES == backup["tables"]
    assert drill["backup"]["key"] == backup["key"] and drill["backup"]["sha256"] == backup["sha256"]
    assert [(check["name"], check["passed"], check["value"]) for check in drill["checks"]] == [
        ("items exist", True, 25), ("every member", True, 40), ("emails look right", True, True)]
    assert drill["scratch_dropped"] is True and drill["server"] == recovery.server
    stamp = drill["scratch_database"][len(recovery.db + "_drill_"):]
    assert drill["scratch_database"] == recovery.db + "_drill_" + stamp and STAMP.match(stamp), drill["scratch_database"]
    assert name == "dr-drill-%sT%sZ.json" % (stamp[:8], stamp[8:])
    assert started <= datetime.datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=datetime.timezone.utc)

    assert drill_databases(sandbox, recovery.db) == [] and beginning_with(sandbox, recovery.db) == [recovery.db]
    assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
    assert not recovery.progress_file.exists()
    summary = report(result)
    assert summary["result"] == "succeeded" and steps(summary) == [("drill", "passed")]
    assert summary["rpo_seconds"] == drill["rpo_seconds"] and summary["rto_seconds"] == drill["rto_seconds"]


def test_a_drill_whose_sql_check_fails_fails_and_still_drops_the_scratch_database(sandbox, recovery):
    """A check that does not hold on the restored data fails the drill (rc != 0) with the check named; the report file
    says failed, and the scratch database is dropped all the same."""
    recovery.prepared()
    live, live_oid = content(sandbox, recovery.db), oid(sandbox, recovery.db)
    checks = PASSING_CHECKS[:1] + [{"name": "no member at all", "query": "select count(*) from members", "max": 0},
                                   {"name": "a table the backup lacks", "query": "select count(*) from vouchers", "min": 0}]

    result = recovery.run("drill", disaster_recovery_drill_checks=checks)
    assert result.rc != 0
    message = failure_messages(result)
    assert "no member at all: returned 40, above max 0" in message, message
    assert re.search(r'a table the backup lacks: .*relation "vouchers" does not exist', message), message
    drill = recovery.drill_report()[1]
    assert drill["result"] == "failed" and "no member at all" in drill["error"] and "a table the backup lacks" in drill["error"]
    assert drill["rto_seconds"] is None and drill["scratch_dropped"] is True
    assert [(check["name"], check["passed"]) for check in drill["checks"]] == [
        ("items exist", True), ("no member at all", False), ("a table the backup lacks", False)]
    assert drill_databases(sandbox, recovery.db) == [] and beginning_with(sandbox, recovery.db) == [recovery.db]
    assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
    summary = report(result)
    assert summary["result"] == "failed" and steps(summary) == [("drill", "failed")]
    assert not recovery.progress_file.exists()


def test_a_drill_of_a_backup_whose_manifest_disagrees_with_the_dump_fails_leaving_no_database(sandbox, recovery, s3):
    """The manifest's row count of one table is made to disagree with the dump: the restore into the scratch database
    refuses it, the drill fails, and neither the scratch nor a staging database remains; the target is untouched."""
    backup = recovery.prepared()[0]
    manifest = json.loads(s3.get_object(Bucket=recovery.bucket, Key=backup["manifest_key"])["Body"].read())
    assert backup["manifest_key"] == backup["key"] + ".manifest.json" and manifest["tables"] == BACKED_UP_TABLES
    manifest["tables"]["public.items"] = 26
    s3.put_object(Bucket=recovery.bucket, Key=backup["manifest_key"], Body=json.dumps(manifest).encode(), ServerSideEncryption="AES256")
    live, live_oid = content(sandbox, recovery.db), oid(sandbox, recovery.db)

    result = recovery.run("drill", disaster_recovery_drill_checks=PASSING_CHECKS)
    assert result.rc != 0
    message = failure_messages(result)
    assert "does not match its manifest" in message and "public.items" in message, message
    drill = recovery.drill_report()[1]
    assert drill["result"] == "failed" and "does not match its manifest" in drill["error"]
    assert drill["scratch_dropped"] is True and drill["rto_seconds"] is None and drill["checks"] == []
    assert staging_databases(sandbox, drill["scratch_database"]) == [] and drill_databases(sandbox, recovery.db) == []
    assert beginning_with(sandbox, recovery.db) == [recovery.db]
    assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
    assert report(result)["result"] == "failed"


def test_a_drill_of_an_older_backup_chosen_by_key_on_another_server(sandbox, recovery):
    """-e backup=<key> drills that backup, not the newest, and -e dr_drill_target restores it on the server named
    there (the RDS endpoint the sandbox relays to the same PostgreSQL), without the dump's ownership."""
    older = recovery.prepared()[0]
    time.sleep(1.1)  # a new UTC second: a second key
    newer = recovery.back_up(tables={"public.items": 26, "public.members": 35})
    assert newer["key"] > older["key"]
    host, port = sandbox["SANDBOX_RDS_ENDPOINT"].rsplit(":", 1)

    result = recovery.run("drill", backup=older["key"], dr_drill_target={"host": host, "port": int(port)},
                          disaster_recovery_drill_checks=PASSING_CHECKS)
    assert_ok(result)
    assert any(line.startswith("drill: restore into a scratch database on %s, run 3 SQL checks" % sandbox["SANDBOX_RDS_ENDPOINT"])
               for line in plan(result)), plan(result)
    drill = recovery.drill_report()[1]
    assert drill["result"] == "passed" and drill["backup"]["key"] == older["key"] and drill["tables"] == BACKED_UP_TABLES
    assert drill["server"] == sandbox["SANDBOX_RDS_ENDPOINT"] and drill["scratch_dropped"] is True
    assert drill_databases(sandbox, recovery.db) == []
    assert report(result)["backup"]["key"] == older["key"]


# ---- the production guard ------------------------------------------------------------------------------------------


def test_production_refuses_an_unconfirmed_recovery_before_any_write_and_proceeds_when_confirmed(sandbox, recovery, kube_client):
    """In production, type=database and type=partial stop before their first write without -e dr_confirm=production,
    saying what they would replace (the database, its server, the backup's key; the namespace): the database and the
    namespace's objects are exactly as they were. With the confirmation the same recovery runs."""
    backup, expected = recovery.prepared()
    recovery.deploy_apps()
    live, live_oid = content(sandbox, recovery.db), oid(sandbox, recovery.db)
    objects = versions(kube_client, recovery.namespace)

    for dr_type in ("database", "partial"):
        refused = recovery.run(dr_type, disaster_recovery_environment="production")
        assert refused.rc != 0, dr_type
        message = failure_messages(refused)
        assert "A %s recovery of production writes" % dr_type in message, message
        assert "the database %s on %s is replaced by backup %s" % (recovery.db, recovery.server, backup["key"]) in message, message
        assert "-e dr_confirm=production" in message and "Nothing was changed" in message
        if dr_type == "partial":
            assert "the services in %s are converged" % recovery.namespace in message, message
        assert not ran(refused, "Step | run the step") and not ran(refused, "Database | restore the backup over the database")
        assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
        assert beginning_with(sandbox, recovery.db) == [recovery.db]
        assert versions(kube_client, recovery.namespace) == objects
        assert not recovery.artifacts.exists()

    # Check mode writes nothing, so it only says what a real run would need.
    planned = recovery.run("partial", check=True, disaster_recovery_environment="production")
    assert_ok(planned)
    note = planned.task_result(ROLE + "Guard | check mode states the confirmation a real run needs")["msg"]
    assert note.startswith("A real run would stop here without -e dr_confirm=production") and backup["key"] in note, note
    assert report(planned)["result"] == "planned"
    # A drill writes nothing of the environment's: production needs no confirmation for it.
    drill = recovery.run("drill", disaster_recovery_environment="production")
    assert_ok(drill)
    assert report(drill)["result"] == "succeeded" and not ran(drill, "Guard | stop an unconfirmed production recovery before its first write")
    assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
    assert versions(kube_client, recovery.namespace) == objects
    assert not recovery.progress_file.exists()

    confirmed = recovery.run("database", disaster_recovery_environment="production", dr_confirm="production")
    assert_ok(confirmed)
    assert content(sandbox, recovery.db) == expected
    summary = report(confirmed)
    assert summary["environment"] == "production" and summary["result"] == "succeeded"
    assert steps(summary) == [("database", "done"), ("health", "done")]


@pytest.mark.parametrize("drill_type", ["drill", " drill "], ids=["drill", "drill-padded"])
def test_production_drills_need_no_confirmation(sandbox, recovery, drill_type):
    """A drill writes nothing of the environment's, so production runs it without -e dr_confirm=production, however
    its type is spelled (the preflight accepts a type with spaces around it)."""
    recovery.prepared()
    result = recovery.run(drill_type, disaster_recovery_environment="production", disaster_recovery_drill_checks=PASSING_CHECKS)
    assert_ok(result)
    assert recovery.drill_report()[1]["result"] == "passed"


# ---- check mode ----------------------------------------------------------------------------------------------------


def test_check_mode_of_a_database_recovery_states_the_backup_and_changes_nothing(sandbox, recovery):
    """--check of type=database: the plan names the backup that would be restored over which database; the database
    (contents and oid) is unchanged, no database is made beside it, and no artifact (progress file) is written."""
    backup = recovery.prepared()[0]
    recovery.deploy_apps()
    live, live_oid = content(sandbox, recovery.db), oid(sandbox, recovery.db)

    result = recovery.run("database", check=True)
    assert_ok(result)
    lines = plan(result)
    assert lines[0] == "Check mode: nothing is written; each step states what it would do.", lines
    assert any(line.startswith("database: restore backup %s (taken " % backup["key"]) and
               line.endswith(" over %s on %s" % (recovery.db, recovery.server)) for line in lines), lines
    assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
    assert beginning_with(sandbox, recovery.db) == [recovery.db]
    assert recovery.artifact_files() == [] and not recovery.progress_file.exists()
    summary = report(result)
    assert summary["result"] == "planned" and summary["check_mode"] is True
    assert steps(summary) == [("database", "planned"), ("health", "planned")]
    assert summary["backup"]["key"] == backup["key"]


def test_check_mode_of_a_drill_states_the_backup_and_writes_nothing(sandbox, recovery):
    """--check of type=drill: the plan names the backup and the server of the scratch database; no scratch database is
    made, no report file is written, the database is unchanged."""
    backup = recovery.prepared()[0]
    live, live_oid = content(sandbox, recovery.db), oid(sandbox, recovery.db)

    result = recovery.run("drill", check=True, disaster_recovery_drill_checks=PASSING_CHECKS)
    assert_ok(result)
    lines = plan(result)
    assert lines[0].startswith("Check mode: nothing is written")
    assert any(line.startswith("backup %s (taken " % backup["key"]) for line in lines), lines
    assert "drill: restore into a scratch database on %s, run 3 SQL checks, drop it" % recovery.server in lines, lines
    assert drill_databases(sandbox, recovery.db) == [] and beginning_with(sandbox, recovery.db) == [recovery.db]
    assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
    assert recovery.artifact_files() == [] and not recovery.progress_file.exists()
    summary = report(result)
    assert summary["result"] == "planned" and steps(summary) == [("drill", "planned")]


def test_check_mode_of_a_partial_recovery_plans_services_that_are_gone(sandbox, recovery, kube_client):
    """--check of type=partial where the services are gone (what the recovery is for): nothing is written, and the
    run plans each step and ends "planned", rather than failing the health checks on what the planned application
    step would deploy. (A short health timeout keeps a failure quick.)"""
    backup = recovery.prepared()[0]
    live, live_oid = content(sandbox, recovery.db), oid(sandbox, recovery.db)
    objects = versions(kube_client, recovery.namespace)

    result = recovery.run("partial", check=True, disaster_recovery_health_timeout=10)
    assert selectors(kube_client, recovery.namespace) == {} and versions(kube_client, recovery.namespace) == objects
    assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
    assert recovery.artifact_files() == []
    assert any(line.startswith("database: restore backup %s" % backup["key"]) for line in plan(result))
    assert_ok(result)
    summary = report(result)
    assert summary["result"] == "planned" and [entry["step"] for entry in summary["steps"]] == ["database", "application", "health"]


# ---- type application ----------------------------------------------------------------------------------------------


def test_application_recovery_puts_a_split_group_back_on_one_color(sandbox, recovery, kube_client):
    """type=application after an interrupted switch (both colors deployed, one Service re-pointed to green): the
    services are converged as the color most Services select, and every Service selects it with ready endpoints of
    that color only."""
    recovery.deploy_apps()
    recovery.deploy_apps(eks_apps_color="green")
    repoint(kube_client, recovery.namespace, "point-service", "green")
    assert selectors(kube_client, recovery.namespace) == dict(dict.fromkeys(SERVICES, "blue"), **{"point-service": "green"})

    result = recovery.run("application")
    assert_ok(result)
    assert selectors(kube_client, recovery.namespace) == dict.fromkeys(SERVICES, "blue")
    for service in SERVICES:
        colors = ready_endpoint_colors(kube_client, recovery.namespace, service)
        assert colors and set(colors) == {"blue"}, (service, colors)
    summary = report(result)
    assert summary["result"] == "succeeded" and steps(summary) == [("application", "done"), ("health", "done")]
    applied = step(summary, "application")
    assert applied["color"] == "blue" and applied["color_before"] == "mixed" and applied["switched"] is True
    assert summary["backup"] is None and not recovery.progress_file.exists()


# ---- types infrastructure and full (aws_infra against moto) -----------------------------------------------------


def inventory_artifacts():
    """The files of the inventory's own artifacts folder an infrastructure recovery would write by default, which no
    test may write: {name: (size, mtime)}. (Drill reports there are someone else's: a drill of this suite names its
    own folder.)"""
    found = {}
    for name in ("infra-outputs.json", "dr-progress.json"):
        path = os.path.join(INVENTORY_ARTIFACTS, name)
        if os.path.exists(path):
            found[name] = (os.stat(path).st_size, os.stat(path).st_mtime_ns)
    return found


def rds_instance(sandbox, name):
    rds = boto3.client("rds", endpoint_url=sandbox["AWS_ENDPOINT_URL"], region_name=sandbox["AWS_DEFAULT_REGION"],
                       aws_access_key_id=sandbox["AWS_ACCESS_KEY_ID"], aws_secret_access_key=sandbox["AWS_SECRET_ACCESS_KEY"])
    return rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]


def test_infrastructure_recovery_converges_aws_and_writes_its_outputs(sandbox, recovery, infra_project):
    """type=infrastructure: aws_infra converges the environment in moto and writes its outputs file (in the test's
    folder, never the inventory's), whose database endpoint is the RDS instance's; the database is not touched."""
    fill(sandbox, recovery.db)
    live, live_oid = content(sandbox, recovery.db), oid(sandbox, recovery.db)
    untouched = inventory_artifacts()

    result = recovery.run("infrastructure", aws_infra_project=infra_project)
    assert_ok(result)
    outputs = json.loads(recovery.outputs.read_text(encoding="utf-8"))
    name = infra_project + "-local"
    endpoint = rds_instance(sandbox, name)["Endpoint"]
    assert outputs["name"] == name == outputs["cluster_name"]
    assert "%s:%s" % (outputs["database_address"], outputs["database_port"]) == sandbox["SANDBOX_RDS_ENDPOINT"]
    assert (outputs["database_address"], outputs["database_port"]) == (endpoint["Address"], endpoint["Port"])
    summary = report(result)
    assert summary["result"] == "succeeded" and steps(summary) == [("infrastructure", "done")]
    assert step(summary, "infrastructure")["outputs"] == str(recovery.outputs)
    assert step(summary, "infrastructure")["database_server"] == sandbox["SANDBOX_RDS_ENDPOINT"]
    assert summary["backup"] is None and not recovery.progress_file.exists()
    assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
    assert inventory_artifacts() == untouched


def test_full_recovery_restores_through_the_infrastructures_database_address(sandbox, recovery, infra_project, kube_client):
    """type=full: infrastructure, database, application and health, all done, in that order; the database is restored
    through the outputs' database_address (the RDS endpoint the sandbox relays to its PostgreSQL) and the services
    are converged on one color."""
    backup, expected = recovery.prepared()
    untouched = inventory_artifacts()

    result = recovery.run("full", aws_infra_project=infra_project)
    assert_ok(result)
    outputs = json.loads(recovery.outputs.read_text(encoding="utf-8"))
    rds_server = "%s:%s" % (outputs["database_address"], outputs["database_port"])
    assert rds_server == sandbox["SANDBOX_RDS_ENDPOINT"]
    assert content(sandbox, recovery.db) == expected
    assert len(previous_databases(sandbox, recovery.db)) == 1
    summary = report(result)
    assert summary["result"] == "succeeded"
    assert steps(summary) == [("infrastructure", "done"), ("database", "done"), ("application", "done"), ("health", "done")]
    assert step(summary, "database")["server"] == rds_server and step(summary, "database")["backup"] == backup["key"]
    assert selectors(kube_client, recovery.namespace) == dict.fromkeys(SERVICES, "blue")
    for service in SERVICES:
        assert set(ready_endpoint_colors(kube_client, recovery.namespace, service)) == {"blue"}, service
    assert not recovery.progress_file.exists()
    assert inventory_artifacts() == untouched


def test_check_mode_of_a_full_recovery_of_an_environment_not_built_yet_plans_every_step(sandbox, recovery):
    """--check of type=full where the infrastructure does not exist yet (an environment's full recovery): no AWS
    resource and no outputs file is made, the database is untouched, and each step is planned; the database step
    cannot be checked against a server that does not exist yet, so it must not connect anywhere else instead.
    (A short health timeout keeps a failure quick.)"""
    backup = recovery.prepared()[0]
    live, live_oid = content(sandbox, recovery.db), oid(sandbox, recovery.db)
    project = "itdrc%s" % uuid.uuid4().hex[:6]

    result = recovery.run("full", check=True, aws_infra_project=project, disaster_recovery_health_timeout=5)
    ec2 = boto3.client("ec2", endpoint_url=sandbox["AWS_ENDPOINT_URL"], region_name=sandbox["AWS_DEFAULT_REGION"],
                       aws_access_key_id=sandbox["AWS_ACCESS_KEY_ID"], aws_secret_access_key=sandbox["AWS_SECRET_ACCESS_KEY"])
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [project + "-local"]}])["Vpcs"] == []
    assert not recovery.outputs.exists() and recovery.artifact_files() == []
    assert content(sandbox, recovery.db) == live and oid(sandbox, recovery.db) == live_oid
    assert any(line.startswith("database: restore backup %s" % backup["key"]) and line.endswith("on the server the infrastructure step creates")
               for line in plan(result)), plan(result)
    assert_ok(result)
    summary = report(result)
    assert summary["result"] == "planned"
    assert [entry["step"] for entry in summary["steps"]] == ["infrastructure", "database", "application", "health"]


def test_an_interrupted_full_recovery_resumes_without_restoring_twice_unless_forced(sandbox, recovery, infra_project, kube_sandbox,
                                                                                    kube_client):
    """A full recovery whose application step fails (the API refuses every write of one Deployment) leaves its
    progress: infrastructure and database done. The re-run skips the restore (a row written since survives) and
    succeeds, and the progress file goes. Interrupted again, a re-run with -e dr_force_restore=true restores again."""
    backup, expected = recovery.prepared()
    rds_server = sandbox["SANDBOX_RDS_ENDPOINT"]
    deployments = kube_client.resources.get(api_version="apps/v1", kind="Deployment")

    def interrupted():
        # The disaster took the Deployments (none yet the first time): the application step must write them again.
        for item in deployments.get(namespace=recovery.namespace).items:
            deployments.delete(name=item.metadata.name, namespace=recovery.namespace)
        fault = kube_sandbox.fault(type="fail_writes", namespace=recovery.namespace, resource="deployments", name="user-service-blue",
                                   count=1000, status=500)
        result = recovery.run("full", aws_infra_project=infra_project)
        assert fault["id"] in kube_sandbox.active(), "another client cleared the fault during the run"
        kube_sandbox.remove_mine()
        assert result.rc != 0
        summary = report(result)
        assert summary["result"] == "failed" and summary["error"].startswith("application: "), summary["error"]
        assert steps(summary) == [("infrastructure", "done"), ("database", "done"), ("application", "failed")]
        assert summary["not_run"] == ["health"]
        progress = recovery.progress()
        assert progress["type"] == "full" and sorted(progress["steps"]) == ["database", "infrastructure"]
        assert progress["steps"]["infrastructure"]["result"] == "done"
        recorded = progress["steps"]["database"]
        assert recorded["result"] == "done"
        assert (recorded["backup"], recorded["database"], recorded["server"]) == (backup["key"], recovery.db, rds_server)
        assert content(sandbox, recovery.db) == expected
        pg_exec(sandbox, recovery.db, "INSERT INTO items VALUES (9999, 'written after the restore')")
        return progress

    interrupted()
    kept = previous_databases(sandbox, recovery.db)
    resumed = recovery.run("full", aws_infra_project=infra_project)
    assert_ok(resumed)
    summary = report(resumed)
    assert summary["result"] == "succeeded"
    assert steps(summary) == [("infrastructure", "done"), ("database", "skipped"), ("application", "done"), ("health", "done")]
    assert "already restored from %s" % backup["key"] in step(summary, "database")["note"]
    assert any("so skipped (-e dr_force_restore=true restores it again)" in line for line in plan(resumed))
    assert not ran(resumed, "Database | restore the backup over the database")
    assert marker(sandbox, recovery.db) == [("written after the restore",)]
    assert previous_databases(sandbox, recovery.db) == kept
    assert not recovery.progress_file.exists()

    interrupted()
    assert marker(sandbox, recovery.db) == [("written after the restore",)]
    forced = recovery.run("full", aws_infra_project=infra_project, dr_force_restore=True)
    assert_ok(forced)
    summary = report(forced)
    assert summary["result"] == "succeeded"
    assert steps(summary) == [("infrastructure", "done"), ("database", "done"), ("application", "done"), ("health", "done")]
    assert marker(sandbox, recovery.db) == [] and content(sandbox, recovery.db) == expected
    assert len(previous_databases(sandbox, recovery.db)) == len(kept) + 2
    assert not recovery.progress_file.exists()

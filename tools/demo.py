"""`make demo`: run the platform playbooks against inventories/local, then back the database up and rehearse its
recovery (a drill), and print a short summary.

The sandbox must be up and its environment loaded (the make target does both).
"""

import glob
import json
import os
import re
import subprocess
import sys

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def site_playbooks():
    """The playbooks site.yml imports, in order: the demo runs exactly what exists."""
    with open(os.path.join(REPO_ROOT, "playbooks", "site.yml"), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    return [play["ansible.builtin.import_playbook"] for play in plays if "ansible.builtin.import_playbook" in play]


def cluster_summary():
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel

    api = config.new_client_from_config(config_file=os.environ["K8S_AUTH_KUBECONFIG"])
    core, apps, discovery = client.CoreV1Api(api), client.AppsV1Api(api), client.DiscoveryV1Api(api)
    lines = []
    for ns in core.list_namespace().items:
        name = ns.metadata.name
        if name.startswith("kube-") or name == "default":
            continue
        deployments = apps.list_namespaced_deployment(name).items
        services = core.list_namespaced_service(name).items
        if ns.status.phase == "Terminating" or not (deployments or services):
            continue
        lines.append("namespace %s: %d deployments, %d services" % (name, len(deployments), len(services)))
        for dep in deployments:
            lines.append("  deployment %-28s ready %s/%s" % (dep.metadata.name, dep.status.ready_replicas or 0, dep.spec.replicas))
        for svc in services:
            slices = discovery.list_namespaced_endpoint_slice(name, label_selector="kubernetes.io/service-name=" + svc.metadata.name).items
            ready = sum(len(e.addresses) for s in slices for e in s.endpoints or [] if e.conditions and e.conditions.ready)
            lines.append("  service    %-28s selector %s, %d ready endpoint(s)" % (svc.metadata.name, svc.spec.selector, ready))
    return lines or ["no application namespaces yet"]


def ensure_demo_database():
    """The local inventory's database (eks_apps_database.name: loyalty), with a few members when it has no table."""
    import psycopg2  # pylint: disable=import-outside-toplevel

    def connect(dbname):
        conn = psycopg2.connect(host=os.environ["PGHOST"], port=os.environ["PGPORT"], user=os.environ["PGUSER"],
                                password=os.environ["PGPASSWORD"], dbname=dbname)
        conn.autocommit = True
        return conn

    # Not `with conn`: since psycopg2 2.9 it opens a transaction even in autocommit, and CREATE DATABASE refuses one.
    conn = connect("postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = 'loyalty'")
            if not cur.fetchone():
                cur.execute("CREATE DATABASE loyalty")
    finally:
        conn.close()
    conn = connect("loyalty")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            if cur.fetchone()[0] == 0:
                cur.execute("CREATE TABLE members (id int PRIMARY KEY, email text NOT NULL); "
                            "INSERT INTO members SELECT g, 'member' || g || '@example.invalid' FROM generate_series(1, 1000) g")
    finally:
        conn.close()


def drill(ansible_playbook):
    """Back the local database up, then rehearse its recovery: playbooks/dr.yml -e type=drill. Returns the exit code."""
    ensure_demo_database()
    for args in (["playbooks/backup.yml", "-i", "inventories/local"],
                 ["playbooks/dr.yml", "-i", "inventories/local", "-e", "type=drill",
                  "-e", json.dumps({"disaster_recovery_drill_checks": [{"name": "members exist", "query": "SELECT count(*) FROM members",
                                                                        "min": 1}]})]):
        print("running: %s" % " ".join(args))
        proc = subprocess.run([ansible_playbook] + args, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.stdout.write(proc.stdout[-4000:])
            sys.stderr.write(proc.stderr[-2000:])
            return proc.returncode
    reports = sorted(glob.glob(os.path.join(REPO_ROOT, "inventories", "local", "artifacts", "dr-drill-*.json")))
    with open(reports[-1], encoding="utf-8") as handle:
        report = json.load(handle)
    print("drill %s: backup %s, RPO %s s, RTO %s s, tables %s, scratch database %s dropped (report %s)" % (
        report["result"], report["backup"]["key"], report["rpo_seconds"], report["rto_seconds"], report["tables"],
        report["scratch_database"], os.path.relpath(reports[-1], REPO_ROOT)))
    return 0


def main():
    playbooks = site_playbooks()
    cmd = [os.path.join(REPO_ROOT, ".venv", "bin", "ansible-playbook"), "playbooks/site.yml", "-i", "inventories/local"]
    print("running: %s" % " ".join(cmd[1:]))
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    recap = proc.stdout[proc.stdout.rfind("PLAY RECAP"):] if "PLAY RECAP" in proc.stdout else ""
    print("\n==== demo summary")
    print("playbooks run (from playbooks/site.yml): %s" % ", ".join(playbooks))
    for line in recap.splitlines()[1:]:
        if re.search(r"ok=\d+", line):
            print("recap: %s" % " ".join(line.split()))
    returncode = proc.returncode
    if returncode == 0:
        for line in cluster_summary():
            print(line)
        returncode = drill(cmd[0])
    print("sandbox endpoints: Kubernetes %s, AWS %s, PostgreSQL %s:%s, Prometheus %s, Alertmanager %s" % (
        os.environ.get("SANDBOX_K8S_URL"), os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("PGHOST"), os.environ.get("PGPORT"),
        os.environ.get("PROMETHEUS_URL"), os.environ.get("ALERTMANAGER_URL")))
    print("demo %s" % ("succeeded" if returncode == 0 else "FAILED (exit %d)" % returncode))
    return returncode


if __name__ == "__main__":
    sys.exit(main())

"""The sandbox behaviours the collection's code relies on, each read back through the real client.

Not a smoke test of every component (each module's own integration tests use them): these are the properties of the
sandbox a wrong stand-in would silently break, the way a real AWS, Prometheus, PostgreSQL or cluster behaves.
"""

import json
import os
import subprocess
import urllib.parse
import uuid

import boto3
import botocore.exceptions
import psycopg2
import pytest
import requests
from kubernetes.client.exceptions import ApiException

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def aws(sandbox, service):
    return boto3.client(service, endpoint_url=sandbox["AWS_ENDPOINT_URL"], region_name=sandbox["AWS_DEFAULT_REGION"],
                        aws_access_key_id=sandbox["AWS_ACCESS_KEY_ID"], aws_secret_access_key=sandbox["AWS_SECRET_ACCESS_KEY"])


def test_pg_dump_is_of_the_servers_major_version(sandbox):
    """postgresql_backup_s3 records both versions in the manifest and restores with the same major's pg_restore."""
    conn = psycopg2.connect(host=sandbox["PGHOST"], port=sandbox["PGPORT"], user=sandbox["PGUSER"], password=sandbox["PGPASSWORD"], dbname="postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version_num")
            server_major = int(cur.fetchone()[0]) // 10000
    finally:
        conn.close()
    for tool in ("pg_dump", "pg_restore"):
        version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]
        assert int(version.split(".")[0]) == server_major == 15, (tool, version)


def test_an_rds_endpoint_reaches_the_sandbox_postgresql(sandbox):
    """disaster_recovery's full type restores onto the server the infrastructure's outputs name: a DB instance's
    Endpoint must reach a PostgreSQL, as RDS's does, and the same server the inventory's PGHOST names."""
    rds = aws(sandbox, "rds")
    name = "it-endpoint-" + uuid.uuid4().hex[:8]
    created = rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t4g.micro", AllocatedStorage=20,
                                     MasterUsername="loyalty_admin", MasterUserPassword="Sandbox-Passw0rd", Port=5432)["DBInstance"]
    try:
        endpoint = rds.describe_db_instances(DBInstanceIdentifier=created["DBInstanceIdentifier"])["DBInstances"][0]["Endpoint"]
        assert "%s:%s" % (endpoint["Address"], endpoint["Port"]) == sandbox["SANDBOX_RDS_ENDPOINT"]
        identities = []
        for host, port in ((endpoint["Address"], endpoint["Port"]), (sandbox["PGHOST"], sandbox["PGPORT"])):
            with psycopg2.connect(host=host, port=port, user=sandbox["PGUSER"], password=sandbox["PGPASSWORD"], dbname="postgres",
                                  connect_timeout=5) as conn, conn.cursor() as cur:
                cur.execute("SELECT system_identifier FROM pg_control_system()")
                identities.append(cur.fetchone()[0])
        assert identities[0] == identities[1]
    finally:
        rds.delete_db_instance(DBInstanceIdentifier=created["DBInstanceIdentifier"], SkipFinalSnapshot=True)


def test_the_services_database_user_logs_in_with_the_vault_password(sandbox):
    """The services (and the recovery's health check) log in as the local vault's vault_loyalty_db_username."""
    with open(os.path.join(sandbox["LOYALTY_SANDBOX_DIR"], "secrets.json"), encoding="utf-8") as handle:
        password = json.load(handle)["app_db_password"]
    with psycopg2.connect(host=sandbox["PGHOST"], port=sandbox["PGPORT"], user="loyalty_app", password=password, dbname="postgres",
                          connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == ("loyalty_app", False)
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host=sandbox["PGHOST"], port=sandbox["PGPORT"], user="loyalty_app", password=password + "x", dbname="postgres",
                         connect_timeout=5)


def test_aws_endpoint_refuses_a_delete_of_more_than_1000_keys_as_s3_does(sandbox):
    s3 = aws(sandbox, "s3")
    bucket = "it-delete-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": sandbox["AWS_DEFAULT_REGION"]})
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    keys = ["keep"] + ["absent/%d" % index for index in range(1000)]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys]})
    assert refused.value.response["Error"]["Code"] == "MalformedXML"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep"]
    assert len(s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys[:1000]]})["Deleted"]) == 1000
    s3.delete_bucket(Bucket=bucket)


def test_pushgateway_keeps_a_pushed_metric_for_prometheus(sandbox):
    job = "it-push-" + uuid.uuid4().hex[:8]
    group = "%s/metrics/job/%s/instance/backup" % (sandbox["PUSHGATEWAY_URL"], job)
    pushed = requests.put(group, data="# TYPE loyalty_it_backup_bytes gauge\nloyalty_it_backup_bytes{database=\"points\"} 4096\n", timeout=10)
    assert pushed.status_code in (200, 202), pushed.text
    try:
        answer = requests.get(sandbox["PUSHGATEWAY_URL"] + "/api/v1/metrics", timeout=10).json()
        assert answer["status"] == "success"
        (found,) = [item for item in answer["data"] if item["labels"].get("job") == job]
        assert found["labels"]["instance"] == "backup"
        (sample,) = found["loyalty_it_backup_bytes"]["metrics"]
        assert sample["labels"]["database"] == "points" and float(sample["value"]) == 4096
    finally:
        requests.delete(group, timeout=10)
    # Prometheus scrapes it keeping the pushed job and instance labels.
    config = requests.get(sandbox["PROMETHEUS_URL"] + "/api/v1/status/config", timeout=10).json()["data"]["yaml"]
    job_config = config[config.index("job_name: pushgateway"):]
    assert "honor_labels: true" in job_config and sandbox["PUSHGATEWAY_URL"].split("//")[1] in job_config


def test_prometheus_is_an_in_cluster_service_behind_the_services_proxy(sandbox, deployer_client):
    """The gates' production path: the deployer reaches monitoring/prometheus-server through the API server only."""
    namespace, rest = sandbox["SANDBOX_PROMETHEUS_SERVICE"].split("/", 1)
    name, port = rest.rsplit(":", 1)
    query = "count(prometheus_build_info)"
    direct = requests.get(sandbox["PROMETHEUS_URL"] + "/api/v1/query", params={"query": query}, timeout=10).json()
    answer = deployer_client.request("GET", "/api/v1/namespaces/%s/services/%s:%s/proxy/api/v1/query?%s" % (
        namespace, name, port, urllib.parse.urlencode({"query": query})), serialize=False)
    proxied = json.loads(answer.data)
    assert proxied["status"] == direct["status"] == "success"
    assert [sample["value"][1] for sample in proxied["data"]["result"]] == [sample["value"][1] for sample in direct["data"]["result"]] == ["1"]


def test_the_services_proxy_reaches_pods_only_as_a_real_api_server_does(kube_client, namespace):
    """Hand-written Endpoints that name no Pod are refused, even at a live Pod's address (why the sandbox runs a
    Prometheus Pod rather than pointing Endpoints at the host)."""
    pods = kube_client.resources.get(api_version="v1", kind="Pod").get(namespace="monitoring").to_dict()["items"]
    address = [pod["status"]["podIP"] for pod in pods if (pod.get("status") or {}).get("podIP")][0]
    services = kube_client.resources.get(api_version="v1", kind="Service")
    services.create(namespace=namespace, body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "handmade"},
                                               "spec": {"ports": [{"name": "http", "port": 9090}]}})
    kube_client.resources.get(api_version="v1", kind="Endpoints").create(namespace=namespace, body={
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "handmade"},
        "subsets": [{"addresses": [{"ip": address}], "ports": [{"name": "http", "port": 9090}]}]})
    with pytest.raises(ApiException) as refused:
        kube_client.request("GET", "/api/v1/namespaces/%s/services/handmade:9090/proxy/api/v1/query?query=up" % namespace, serialize=False)
    assert refused.value.status == 503 and "no endpoints available" in str(refused.value.body)


def test_preflight_playbook_reaches_both_apis(run_playbook):
    result = run_playbook(os.path.join(REPO_ROOT, "playbooks", "preflight.yml"), inventory=os.path.join(REPO_ROOT, "inventories", "local"))
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.task_result("Summarise what was reached")
    text = "\n".join(summary["msg"])
    assert "environment: local" in text
    assert "kubernetes: v1." in text
    assert "aws account: 123456789012" in text

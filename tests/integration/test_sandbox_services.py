"""Every sandbox component answers through its real client, so later tests can rely on it."""

import os
import subprocess
import uuid

import boto3
import botocore.exceptions
import psycopg2
import pytest
import requests

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def aws(sandbox, service):
    return boto3.client(service, endpoint_url=sandbox["AWS_ENDPOINT_URL"], region_name=sandbox["AWS_DEFAULT_REGION"],
                        aws_access_key_id=sandbox["AWS_ACCESS_KEY_ID"], aws_secret_access_key=sandbox["AWS_SECRET_ACCESS_KEY"])


def test_postgresql_dump_and_restore_round_trip(sandbox, tmp_path):
    db = "it_" + uuid.uuid4().hex[:8]
    conn = psycopg2.connect(host=sandbox["PGHOST"], port=sandbox["PGPORT"], user=sandbox["PGUSER"],
                            password=sandbox["PGPASSWORD"], dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        assert cur.fetchone()[0].startswith("15.")
        cur.execute("CREATE DATABASE %s" % db)
    conn.close()
    env = dict(os.environ, **sandbox)
    try:
        subprocess.run(["psql", "-d", db, "-v", "ON_ERROR_STOP=1", "-c",
                        "CREATE TABLE points (id int primary key, amount int); INSERT INTO points SELECT g, g*10 FROM generate_series(1,500) g"],
                       env=env, check=True, capture_output=True)
        dump = tmp_path / "points.dump"
        subprocess.run(["pg_dump", "-d", db, "--format=custom", "--file", str(dump)], env=env, check=True, capture_output=True)
        subprocess.run(["psql", "-d", db, "-c", "DROP TABLE points"], env=env, check=True, capture_output=True)
        subprocess.run(["pg_restore", "-d", db, str(dump)], env=env, check=True, capture_output=True)
        out = subprocess.run(["psql", "-d", db, "-tAc", "SELECT count(*), sum(amount) FROM points"], env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        assert out == "500|1252500"
    finally:
        subprocess.run(["psql", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS %s" % db], env=env, check=False, capture_output=True)


def test_moto_serves_every_aws_service_the_collection_uses(sandbox):
    suffix = uuid.uuid4().hex[:8]
    s3 = aws(sandbox, "s3")
    bucket = "it-bucket-" + suffix
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": sandbox["AWS_DEFAULT_REGION"]})
    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"

    ec2 = aws(sandbox, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.0.1.0/24", AvailabilityZone="us-west-2a")["Subnet"]
    assert subnet["VpcId"] == vpc["VpcId"]

    iam = aws(sandbox, "iam")
    role = iam.create_role(RoleName="it-eks-" + suffix, AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')["Role"]

    eks = aws(sandbox, "eks")
    cluster = eks.create_cluster(name="it-" + suffix, roleArn=role["Arn"], version="1.30",
                                 resourcesVpcConfig={"subnetIds": [subnet["SubnetId"]]})["cluster"]
    assert eks.describe_cluster(name=cluster["name"])["cluster"]["version"] == "1.30"

    rds = aws(sandbox, "rds")
    rds.create_db_instance(DBInstanceIdentifier="it-" + suffix, Engine="postgres", EngineVersion="15.4",
                           DBInstanceClass="db.t3.micro", AllocatedStorage=20, MasterUsername="admin_user", MasterUserPassword="not-a-real-secret-1")
    assert rds.describe_db_instances(DBInstanceIdentifier="it-" + suffix)["DBInstances"][0]["Engine"] == "postgres"

    elasticache = aws(sandbox, "elasticache")
    elasticache.create_cache_cluster(CacheClusterId="it-" + suffix, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1)
    clusters = elasticache.describe_cache_clusters(CacheClusterId="it-" + suffix)["CacheClusters"]
    assert clusters[0]["Engine"] == "redis"

    logs = aws(sandbox, "logs")
    logs.create_log_group(logGroupName="/it/" + suffix)
    assert logs.describe_log_groups(logGroupNamePrefix="/it/" + suffix)["logGroups"]

    secrets = aws(sandbox, "secretsmanager")
    secrets.create_secret(Name="it/" + suffix, SecretString="value")
    assert secrets.get_secret_value(SecretId="it/" + suffix)["SecretString"] == "value"


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


def test_prometheus_evaluates_promql_and_alertmanager_answers(sandbox):
    result = requests.get(sandbox["PROMETHEUS_URL"] + "/api/v1/query", params={"query": "vector(42)"}, timeout=10).json()
    assert result["status"] == "success"
    assert float(result["data"]["result"][0]["value"][1]) == 42.0
    config = requests.get(sandbox["PROMETHEUS_URL"] + "/api/v1/status/config", timeout=10).json()
    assert sandbox["ALERTMANAGER_URL"].split("//")[1] in config["data"]["yaml"]
    status = requests.get(sandbox["ALERTMANAGER_URL"] + "/api/v2/status", timeout=10).json()
    assert "config" in status and "original" in status["config"]
    amtool = subprocess.run(["amtool", "--alertmanager.url", sandbox["ALERTMANAGER_URL"], "config", "show"],
                            capture_output=True, text=True, check=False)
    assert amtool.returncode == 0 and "sandbox-null" in amtool.stdout


@pytest.mark.parametrize("namespace_name", ["kube-system", "default"])
def test_kubernetes_through_kubeconfig(kube_client, namespace_name):
    namespaces = kube_client.resources.get(api_version="v1", kind="Namespace")
    assert namespaces.get(name=namespace_name).metadata.name == namespace_name


def test_preflight_playbook_reaches_both_apis(run_playbook):
    result = run_playbook(os.path.join(REPO_ROOT, "playbooks", "preflight.yml"), inventory=os.path.join(REPO_ROOT, "inventories", "local"))
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.task_result("Summarise what was reached")
    text = "\n".join(summary["msg"])
    assert "environment: local" in text
    assert "kubernetes: v1." in text
    assert "aws account: 123456789012" in text

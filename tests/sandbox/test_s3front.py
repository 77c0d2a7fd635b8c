"""The sandbox's AWS front (sandbox/s3front) between real boto3 and moto, both in this process.

No sandbox needed: moto runs as a ThreadedMotoServer and the front as a FrontServer, each on a free
port of 127.0.0.1.
"""

import datetime
import hashlib
import http.client
import threading
import uuid

import boto3
import botocore.exceptions
import pytest
import requests
from botocore.config import Config
from moto.server import ThreadedMotoServer

from s3front.control import S3Front
from s3front.faults import FaultError, Faults
from s3front.operations import Request
from s3front.proxy import MAX_DELETE_KEYS, Front, FrontServer

REGION = "us-west-2"
MIB = 1024 * 1024
AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=sandbox/20260101/us-west-2/%s/aws4_request, SignedHeaders=host, Signature=0"}


@pytest.fixture(scope="module")
def front_url():
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    server = FrontServer(0, Front("http://%s:%d" % (host, port)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()
    moto.stop()


@pytest.fixture
def front(front_url):
    control = S3Front(front_url)
    control.clear_faults()
    control.reset_stats()
    yield control
    control.clear_faults()


def client(front_url, service="s3", attempts=None):
    # total_max_attempts counts the first request; botocore's max_attempts counts retries only.
    config = Config(retries={"total_max_attempts": attempts}) if attempts else None
    return boto3.client(service, endpoint_url=front_url, region_name=REGION, aws_access_key_id="sandbox",
                        aws_secret_access_key="sandbox", config=config)


@pytest.fixture
def bucket(front_url, front):
    name = "front-" + uuid.uuid4().hex[:10]
    client(front_url).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    front.reset_stats()  # a test counts its own requests only
    return name


def keys_of(s3, bucket):
    return [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for item in page.get("Contents", [])]


@pytest.mark.parametrize("method,target,headers,expected", [
    ("POST", "/b/k?uploads", {}, ("CreateMultipartUpload", "b", "k")),
    ("PUT", "/b/a/k.dump?partNumber=2&uploadId=U", {}, ("UploadPart", "b", "a/k.dump")),
    ("PUT", "/b/k?partNumber=2&uploadId=U", {"x-amz-copy-source": "/b/o"}, ("UploadPartCopy", "b", "k")),
    ("POST", "/b/k?uploadId=U", {}, ("CompleteMultipartUpload", "b", "k")),
    ("DELETE", "/b/k?uploadId=U", {}, ("AbortMultipartUpload", "b", "k")),
    ("GET", "/b/k?uploadId=U&max-parts=10", {}, ("ListParts", "b", "k")),
    ("GET", "/b?uploads&prefix=x", {}, ("ListMultipartUploads", "b", None)),
    ("GET", "/b?list-type=2&prefix=x%2F", {}, ("ListObjectsV2", "b", None)),
    ("GET", "/b?prefix=x", {}, ("ListObjects", "b", None)),
    ("POST", "/b?delete", {}, ("DeleteObjects", "b", None)),
    ("POST", "/b?delete=", {}, ("DeleteObjects", "b", None)),
    ("DELETE", "/b/dir/k%20one", {}, ("DeleteObject", "b", "dir/k one")),
    ("PUT", "/b/k", {}, ("PutObject", "b", "k")),
    ("PUT", "/b/k", {"X-Amz-Copy-Source": "/b/o"}, ("CopyObject", "b", "k")),
    ("GET", "/b/k%3Fq", {}, ("GetObject", "b", "k?q")),
    ("HEAD", "/b/k", {}, ("HeadObject", "b", "k")),
    ("PUT", "/b", {}, ("CreateBucket", "b", None)),
    ("HEAD", "/b", {}, ("HeadBucket", "b", None)),
    ("PUT", "/b?versioning", {}, ("PutBucketVersioning", "b", None)),
    ("GET", "/", {}, ("ListBuckets", None, None)),
    ("PATCH", "/b/k", {}, ("other", "b", "k")),
    ("GET", "/moto-api/data.json", {}, ("other", None, None)),
])
def test_s3_operations_are_named_from_method_path_and_query(method, target, headers, expected):
    request = Request(method, target, dict(headers, **{"Authorization": AUTH["Authorization"] % "s3"}))
    assert (request.operation, request.bucket, request.key) == expected


def test_other_services_are_named_by_their_action_or_target():
    query = Request("GET", "/?Action=DescribeVpcs&Version=2016-11-15", {"Authorization": AUTH["Authorization"] % "ec2"})
    assert (query.service, query.operation, query.protocol) == ("ec2", "DescribeVpcs", "ec2")
    form = Request("POST", "/", {"Authorization": AUTH["Authorization"] % "iam", "Content-Type": "application/x-www-form-urlencoded"})
    assert form.needs_form({"Content-Type": "application/x-www-form-urlencoded"})
    form.set_form(b"Action=CreateRole&RoleName=x")
    assert (form.service, form.operation, form.protocol) == ("iam", "CreateRole", "query")
    target = Request("POST", "/", {"Authorization": AUTH["Authorization"] % "secretsmanager", "X-Amz-Target": "secretsmanager.GetSecretValue"})
    assert (target.operation, target.protocol) == ("GetSecretValue", "json")
    # A REST-JSON service the front has no routes for stays "other" (EKS has routes: see the test below).
    assert Request("POST", "/apps", {"Authorization": AUTH["Authorization"] % "amplify"}).operation == "other"


def test_fault_specs_are_checked():
    faults = Faults()
    for spec, message in (
        ({}, "needs an operation"),
        ({"operation": "UploadPart", "key-prefix": "a"}, "unknown fault field"),
        ({"operation": "UploadPart", "after": -1}, "after must be an integer"),
        ({"operation": "UploadPart", "count": 0}, "count must be an integer"),
        ({"operation": "UploadPart", "status": 200}, "status must be an integer"),
        ({"operation": "UploadPart", "action": "slow"}, "action must be one of"),
        ({"operation": "UploadPart", "bucket": ""}, "bucket must be a non-empty string"),
    ):
        with pytest.raises(FaultError, match=message):
            faults.add(spec)
    assert faults.list() == []


def test_put_get_round_trip(front_url, front, bucket):
    s3 = client(front_url)
    body = uuid.uuid4().bytes * 1000
    s3.put_object(Bucket=bucket, Key="dir/one two.bin", Body=body)
    assert s3.get_object(Bucket=bucket, Key="dir/one two.bin")["Body"].read() == body
    assert s3.head_object(Bucket=bucket, Key="dir/one two.bin")["ContentLength"] == len(body)
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        s3.head_object(Bucket=bucket, Key="absent")
    assert missing.value.response["Error"]["Code"] == "404"
    operations = front.stats()["operations"]
    assert operations["PutObject"] == 1 and operations["GetObject"] == 1 and operations["HeadObject"] == 2


def test_multipart_upload_of_two_5_mib_parts_arrives_intact(front_url, front, bucket):
    s3 = client(front_url)
    parts = [bytes([index]) * (5 * MIB) for index in (1, 2)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="backup.dump")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="backup.dump", UploadId=upload, PartNumber=number, Body=data)["ETag"]
             for number, data in enumerate(parts, 1)]
    assert [p["Size"] for p in s3.list_parts(Bucket=bucket, Key="backup.dump", UploadId=upload)["Parts"]] == [5 * MIB] * 2
    s3.complete_multipart_upload(Bucket=bucket, Key="backup.dump", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]})
    got = s3.get_object(Bucket=bucket, Key="backup.dump")["Body"].read()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(b"".join(parts)).hexdigest()
    operations = front.stats()["operations"]
    assert (operations["CreateMultipartUpload"], operations["UploadPart"], operations["ListParts"],
            operations["CompleteMultipartUpload"]) == (1, 2, 1, 1)


def test_delete_objects_of_more_than_1000_keys_is_refused_and_deletes_nothing(front_url, front, bucket):
    s3 = client(front_url)
    kept = ["keep/%d" % index for index in range(5)]
    for key in kept:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    too_many = kept + ["absent/%d" % index for index in range(MAX_DELETE_KEYS + 1 - len(kept))]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in too_many]})
    assert refused.value.response["Error"]["Code"] == "MalformedXML"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sorted(keys_of(s3, bucket)) == kept

    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in too_many[:MAX_DELETE_KEYS]]})
    assert len(deleted["Deleted"]) == MAX_DELETE_KEYS and not deleted.get("Errors")
    assert keys_of(s3, bucket) == []
    assert front.stats()["operations"]["DeleteObjects"] == 2


def test_upload_part_fault_after_one_fails_exactly_the_second_part(front_url, front, bucket):
    s3 = client(front_url, attempts=1)
    fault = front.add_fault(operation="UploadPart", bucket=bucket, after=1, count=1, status=500, code="InternalError")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="db.dump")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="db.dump", UploadId=upload, PartNumber=1, Body=b"a" * 1024)
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        s3.upload_part(Bucket=bucket, Key="db.dump", UploadId=upload, PartNumber=2, Body=b"b" * 1024)
    assert failed.value.response["Error"]["Code"] == "InternalError"
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # The same part again, and the next, pass: the fault is spent.
    s3.upload_part(Bucket=bucket, Key="db.dump", UploadId=upload, PartNumber=2, Body=b"b" * 1024)
    s3.upload_part(Bucket=bucket, Key="db.dump", UploadId=upload, PartNumber=3, Body=b"c" * 1024)
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="db.dump", UploadId=upload)["Parts"]] == [1, 2, 3]
    (listed,) = [f for f in front.faults() if f["id"] == fault["id"]]
    assert (listed["seen"], listed["fired"]) == (4, 1)
    stats = front.stats()
    assert stats["operations"]["UploadPart"] == 4 and stats["faulted"] == 1
    s3.abort_multipart_upload(Bucket=bucket, Key="db.dump", UploadId=upload)


def test_faults_match_bucket_and_key_prefix_only(front_url, front, bucket):
    s3 = client(front_url, attempts=1)
    front.add_fault(operation="PutObject", bucket=bucket, key_prefix="fail/", count=5, status=503, code="SlowDown")
    s3.put_object(Bucket=bucket, Key="ok/a", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        s3.put_object(Bucket=bucket, Key="fail/a", Body=b"x")
    assert failed.value.response["Error"]["Code"] == "SlowDown"
    assert keys_of(s3, bucket) == ["ok/a"]


def test_a_drop_fault_is_a_connection_error_and_the_next_request_passes(front_url, front, bucket):
    s3 = client(front_url, attempts=1)
    front.add_fault(operation="PutObject", bucket=bucket, action="drop")
    with pytest.raises(botocore.exceptions.HTTPClientError):
        s3.put_object(Bucket=bucket, Key="dropped", Body=b"x" * MIB)
    s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    assert keys_of(s3, bucket) == ["kept"]


def test_retries_of_botocore_pass_through_a_single_fault(front_url, front, bucket):
    s3 = client(front_url)  # botocore's default retries
    front.add_fault(operation="PutObject", bucket=bucket, count=1)
    s3.put_object(Bucket=bucket, Key="retried", Body=b"x")
    assert front.stats()["operations"]["PutObject"] == 2


def test_chunked_request_bodies_are_forwarded(front_url, front, bucket):
    port = int(front_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    pieces = [b"first-", b"x" * (300 * 1024), b"-last"]
    conn.request("PUT", "/%s/chunked" % bucket, body=iter(pieces), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked", "Authorization": AUTH["Authorization"] % "s3"})
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    conn.close()
    assert client(front_url).get_object(Bucket=bucket, Key="chunked")["Body"].read() == b"".join(pieces)
    assert front.stats()["operations"]["PutObject"] == 1


def test_other_services_pass_through_and_take_faults_in_their_own_format(front_url, front):
    ec2 = client(front_url, "ec2", attempts=1)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    assert ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["VpcId"] == vpc
    front.add_fault(operation="CreateVpc", status=503, code="RequestLimitExceeded")
    with pytest.raises(botocore.exceptions.ClientError) as ec2_error:
        ec2.create_vpc(CidrBlock="10.1.0.0/16")
    assert ec2_error.value.response["Error"]["Code"] == "RequestLimitExceeded"

    iam = client(front_url, "iam", attempts=1)
    front.add_fault(operation="CreateRole", status=409, code="EntityAlreadyExists")
    with pytest.raises(botocore.exceptions.ClientError) as iam_error:
        iam.create_role(RoleName="front-" + uuid.uuid4().hex[:8], AssumeRolePolicyDocument="{}")
    assert iam_error.value.response["Error"]["Code"] == "EntityAlreadyExists"

    secrets = client(front_url, "secretsmanager", attempts=1)
    front.add_fault(operation="GetSecretValue", status=400, code="ResourceNotFoundException")
    name = "front/" + uuid.uuid4().hex[:8]
    secrets.create_secret(Name=name, SecretString="value")
    with pytest.raises(secrets.exceptions.ResourceNotFoundException):
        secrets.get_secret_value(SecretId=name)
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "value"
    operations = front.stats()["operations"]
    assert operations["CreateVpc"] == 2 and operations["DescribeVpcs"] == 1 and operations["GetSecretValue"] == 2


def test_stats_count_operations_until_reset(front_url, front, bucket):
    s3 = client(front_url)
    for index in range(3):
        s3.put_object(Bucket=bucket, Key="k%d" % index, Body=b"x")
    s3.list_objects_v2(Bucket=bucket)
    stats = front.stats()
    assert stats["operations"] == {"ListObjectsV2": 1, "PutObject": 3} and stats["total"] == 4
    assert front.reset_stats()["total"] == 0
    assert front.stats()["operations"] == {}


def test_control_endpoint_answers_itself_and_rejects_bad_specs(front_url, front):
    with pytest.raises(requests.HTTPError, match="unknown fault field"):
        front.add_fault(operation="UploadPart", key="x")
    answer = requests.get(front_url + "/_sandbox/nothing", timeout=10)
    assert answer.status_code == 404 and "known" in answer.json()["error"]
    fault = front.add_fault(operation="UploadPart")
    assert [f["id"] for f in front.faults()] == [fault["id"]]
    front.remove_fault(fault["id"])
    assert front.faults() == []
    assert front.stats()["total"] == 0


def test_in_progress_uploads_are_listed_with_the_time_they_were_initiated(front_url, bucket):
    """S3 lists an upload with the time it started; moto answers a fixed 2010 date, which the front corrects."""
    s3 = client(front_url)
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="db/a.dump")["UploadId"]
    after = datetime.datetime.now(datetime.timezone.utc)
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [item["UploadId"] for item in uploads] == [upload_id]
    assert before <= uploads[0]["Initiated"] <= after
    s3.abort_multipart_upload(Bucket=bucket, Key="db/a.dump", UploadId=upload_id)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.parametrize("method, path, operation", [
    ("GET", "/clusters/prod", "DescribeCluster"),
    ("POST", "/clusters", "CreateCluster"),
    ("POST", "/clusters/prod/update-config", "UpdateClusterConfig"),
    ("GET", "/clusters/prod/updates/1234-abcd", "DescribeUpdate"),
    ("GET", "/clusters/prod/node-groups/main", "DescribeNodegroup"),
    ("POST", "/clusters/prod/node-groups/main/update-config", "UpdateNodegroupConfig"),
    ("DELETE", "/clusters/prod/node-groups/main", "DeleteNodegroup"),
    ("POST", "/tags/arn%3Aaws%3Aeks%3Aus-west-2%3A123456789012%3Acluster%2Fprod", "TagResource"),
    ("PUT", "/clusters/prod", "other"),
])
def test_eks_requests_are_named_from_method_and_path(method, path, operation):
    """EKS is REST-JSON: neither an Action nor an X-Amz-Target names the operation, its method and path do."""
    request = Request(method, path, {"Authorization": AUTH["Authorization"] % "eks"})
    assert (request.service, request.operation) == ("eks", operation)

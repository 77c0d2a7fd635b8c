"""What an AWS request through the front is: its service, its operation and, for S3, its bucket and key.

S3 is read from method, path and query (path-style addressing: the sandbox's endpoint is an IP address,
so botocore never puts the bucket in the host name). Other services are named by their request: the
Action of the query protocols (EC2, IAM, RDS, ...) or the X-Amz-Target of the JSON ones; REST-JSON
services are named from method and path where the front knows them (EKS), and count as "other" otherwise.
"""

import re
import urllib.parse

OTHER = "other"
# SigV4 credential scope: <key id>/<date>/<region>/<service>/aws4_request.
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
FORM = "application/x-www-form-urlencoded"

# (method, query parameter) -> operation, tried in this order; the multipart ones first, since their
# parameters decide the operation whatever else the query holds.
OBJECT_SUBRESOURCES = (
    ("POST", "uploads", "CreateMultipartUpload"),
    ("POST", "uploadId", "CompleteMultipartUpload"),
    ("DELETE", "uploadId", "AbortMultipartUpload"),
    ("GET", "uploadId", "ListParts"),
    ("GET", "tagging", "GetObjectTagging"),
    ("PUT", "tagging", "PutObjectTagging"),
    ("DELETE", "tagging", "DeleteObjectTagging"),
    ("GET", "acl", "GetObjectAcl"),
    ("PUT", "acl", "PutObjectAcl"),
    ("GET", "attributes", "GetObjectAttributes"),
    ("GET", "retention", "GetObjectRetention"),
    ("PUT", "retention", "PutObjectRetention"),
    ("GET", "legal-hold", "GetObjectLegalHold"),
    ("PUT", "legal-hold", "PutObjectLegalHold"),
    ("POST", "restore", "RestoreObject"),
)
BUCKET_SUBRESOURCES = (
    ("POST", "delete", "DeleteObjects"),
    ("GET", "uploads", "ListMultipartUploads"),
    ("GET", "versions", "ListObjectVersions"),
    ("GET", "location", "GetBucketLocation"),
    ("GET", "versioning", "GetBucketVersioning"),
    ("PUT", "versioning", "PutBucketVersioning"),
    ("GET", "lifecycle", "GetBucketLifecycleConfiguration"),
    ("PUT", "lifecycle", "PutBucketLifecycleConfiguration"),
    ("DELETE", "lifecycle", "DeleteBucketLifecycle"),
    ("GET", "encryption", "GetBucketEncryption"),
    ("PUT", "encryption", "PutBucketEncryption"),
    ("DELETE", "encryption", "DeleteBucketEncryption"),
    ("GET", "publicAccessBlock", "GetPublicAccessBlock"),
    ("PUT", "publicAccessBlock", "PutPublicAccessBlock"),
    ("DELETE", "publicAccessBlock", "DeletePublicAccessBlock"),
    ("GET", "object-lock", "GetObjectLockConfiguration"),
    ("PUT", "object-lock", "PutObjectLockConfiguration"),
    ("GET", "policy", "GetBucketPolicy"),
    ("PUT", "policy", "PutBucketPolicy"),
    ("DELETE", "policy", "DeleteBucketPolicy"),
    ("GET", "tagging", "GetBucketTagging"),
    ("PUT", "tagging", "PutBucketTagging"),
    ("DELETE", "tagging", "DeleteBucketTagging"),
    ("GET", "acl", "GetBucketAcl"),
    ("PUT", "acl", "PutBucketAcl"),
    ("GET", "ownershipControls", "GetBucketOwnershipControls"),
    ("PUT", "ownershipControls", "PutBucketOwnershipControls"),
    ("GET", "replication", "GetBucketReplication"),
    ("PUT", "replication", "PutBucketReplication"),
    ("GET", "notification", "GetBucketNotificationConfiguration"),
    ("PUT", "notification", "PutBucketNotificationConfiguration"),
    ("GET", "cors", "GetBucketCors"),
    ("PUT", "cors", "PutBucketCors"),
    ("DELETE", "cors", "DeleteBucketCors"),
)
# EKS (REST-JSON): (method, path pattern) -> operation, from the EKS API reference's request syntax.
EKS_ROUTES = tuple((method, re.compile("^" + pattern + "$"), operation) for method, pattern, operation in (
    ("GET", r"/clusters", "ListClusters"),
    ("POST", r"/clusters", "CreateCluster"),
    ("GET", r"/clusters/[^/]+", "DescribeCluster"),
    ("DELETE", r"/clusters/[^/]+", "DeleteCluster"),
    ("POST", r"/clusters/[^/]+/update-config", "UpdateClusterConfig"),
    ("POST", r"/clusters/[^/]+/updates", "UpdateClusterVersion"),
    ("GET", r"/clusters/[^/]+/updates", "ListUpdates"),
    ("GET", r"/clusters/[^/]+/updates/[^/]+", "DescribeUpdate"),
    ("GET", r"/clusters/[^/]+/node-groups", "ListNodegroups"),
    ("POST", r"/clusters/[^/]+/node-groups", "CreateNodegroup"),
    ("GET", r"/clusters/[^/]+/node-groups/[^/]+", "DescribeNodegroup"),
    ("DELETE", r"/clusters/[^/]+/node-groups/[^/]+", "DeleteNodegroup"),
    ("POST", r"/clusters/[^/]+/node-groups/[^/]+/update-config", "UpdateNodegroupConfig"),
    ("POST", r"/clusters/[^/]+/node-groups/[^/]+/update-version", "UpdateNodegroupVersion"),
    ("GET", r"/clusters/[^/]+/fargate-profiles", "ListFargateProfiles"),
    ("GET", r"/clusters/[^/]+/addons", "ListAddons"),
    ("GET", r"/tags/.+", "ListTagsForResource"),
    ("POST", r"/tags/.+", "TagResource"),
    ("DELETE", r"/tags/.+", "UntagResource"),
))
BUCKET_PLAIN = {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket", "POST": "PostObject"}
OBJECT_PLAIN = {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}


def lowered(headers):
    """Header names in lower case (an http.client message or a plain dict)."""
    return {name.lower(): value for name, value in headers.items()}


def service_of(path, query, headers):
    """The signing name of the service a request is for: "s3", "ec2", "iam", ...; "moto" for moto's own API.

    ``headers`` has lower-case names (see lowered)."""
    if path == "/moto-api" or path.startswith("/moto-api/"):
        return "moto"
    match = CREDENTIAL_SCOPE.search(headers.get("authorization") or "")
    if match is None and "X-Amz-Credential" in query:
        match = CREDENTIAL_SCOPE.search("Credential=" + query["X-Amz-Credential"][0])
    if match:
        return match.group(1)
    if (headers.get("authorization") or "").startswith("AWS ") or "AWSAccessKeyId" in query:
        return "s3"  # Signature version 2 is S3's alone by now.
    if headers.get("x-amz-target") or "Action" in query or FORM in (headers.get("content-type") or ""):
        return "unknown"
    return "s3"  # an anonymous S3 request (a public object, say)


class Request:
    """One request through the front: service, operation, bucket and key (S3), and the error format it expects."""

    def __init__(self, method, target, headers):
        url = urllib.parse.urlsplit(target)
        headers = lowered(headers)
        self.method = method
        self.path = url.path
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        self.service = service_of(self.path, self.query, headers)
        self.bucket = self.key = None
        self.operation = OTHER
        # How an error for this request is written: "s3" (REST-XML), "ec2", "query" (XML) or "json".
        self.protocol = "s3" if self.service == "s3" else "json"
        if self.service == "s3":
            self._s3(headers)
        elif self.service != "moto":
            target_header = headers.get("x-amz-target")
            if target_header:
                self.operation = target_header.rsplit(".", 1)[-1]
            elif "Action" in self.query:
                self.set_action(self.query["Action"][0])
            elif self.service == "eks":
                self.operation = next((operation for method, pattern, operation in EKS_ROUTES
                                       if method == self.method and pattern.match(self.path)), OTHER)

    def needs_form(self, headers):
        """True when the operation is only named in a form body (a query-protocol POST) that should be read first."""
        return (self.service not in ("s3", "moto") and self.operation == OTHER and self.method == "POST"
                and FORM in (lowered(headers).get("content-type") or ""))

    def set_form(self, raw):
        """Name the operation from a query-protocol form body."""
        action = urllib.parse.parse_qs(raw.decode("utf-8", "replace")).get("Action")
        if action:
            self.set_action(action[0])

    def set_action(self, action):
        self.operation = action or OTHER
        self.protocol = "ec2" if self.service == "ec2" else "query"

    def _s3(self, headers):
        bucket, _slash, key = self.path.lstrip("/").partition("/")
        self.bucket = urllib.parse.unquote(bucket) or None
        self.key = urllib.parse.unquote(key) or None
        if self.bucket is None:
            self.operation = "ListBuckets" if self.method == "GET" else OTHER
            return
        copy = "x-amz-copy-source" in headers
        if self.key is None:
            for method, name, operation in BUCKET_SUBRESOURCES:
                if method == self.method and name in self.query:
                    self.operation = operation
                    return
            if self.method == "GET":
                self.operation = "ListObjectsV2" if self.query.get("list-type") == ["2"] else "ListObjects"
            else:
                self.operation = BUCKET_PLAIN.get(self.method, OTHER)
            return
        if self.method == "PUT" and "partNumber" in self.query and "uploadId" in self.query:
            self.operation = "UploadPartCopy" if copy else "UploadPart"
            return
        for method, name, operation in OBJECT_SUBRESOURCES:
            if method == self.method and name in self.query:
                self.operation = operation
                return
        if self.method == "PUT":
            self.operation = "CopyObject" if copy else "PutObject"
        else:
            self.operation = OBJECT_PLAIN.get(self.method, OTHER)

    def resource(self):
        """The path an S3 error names as its Resource."""
        return urllib.parse.unquote(self.path)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Streams to and from S3 with a running SHA-256 and bounded memory.

The upload reads a stream in parts and keeps at most ``concurrency`` parts in flight plus the one being read,
so memory is ``part_size * (concurrency + 1)`` whatever the stream's length. Any failure aborts the multipart
upload, so no object is left behind.
"""

from __future__ import annotations

import hashlib
import math
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.naming import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE

MIB = 1024 * 1024
DOWNLOAD_CHUNK = 1 * MIB


def plan_part_size(part_size, expected_size):
    """The part size to start with: the asked size, grown (in whole MiB) so that ``expected_size`` fits in 9,000 parts,
    leaving headroom below S3's 10,000 for a stream larger than expected."""
    if part_size < MIN_PART_SIZE:
        raise BackupError("part_size=%d is below S3's minimum part size of 5 MiB (%d bytes): raise it" % (part_size, MIN_PART_SIZE))
    if part_size > MAX_PART_SIZE:
        raise BackupError("part_size=%d is above S3's maximum part size of 5 GiB: lower it" % part_size)
    if expected_size:
        needed = int(math.ceil(float(expected_size) / (MAX_PARTS - 1000) / MIB)) * MIB
        part_size = max(part_size, needed)
    return min(part_size, MAX_PART_SIZE)


def client_error_text(exc):
    """``Code: message`` of a botocore ClientError, or the exception's text."""
    response = getattr(exc, "response", None) or {}
    error = response.get("Error") or {}
    if error.get("Code"):
        return "%s: %s" % (error.get("Code"), error.get("Message") or "")
    return str(exc)


class MultipartUpload:
    """One streamed multipart upload: ``start()``, ``upload(stream)``, then ``complete()``; ``abort()`` on any failure."""

    def __init__(self, client, bucket, key, part_size, concurrency=2, extra_args=None):
        if concurrency < 1:
            raise BackupError("upload_concurrency=%d must be at least 1" % concurrency)
        self.client = client
        self.bucket = bucket
        self.key = key
        self.part_size = part_size
        self.first_part_size = part_size
        self.concurrency = concurrency
        self.extra_args = dict(extra_args or {})
        self.upload_id = None
        self.parts = []
        self.size = 0
        self.sha256 = hashlib.sha256()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._failure = None
        self._lock = threading.Lock()
        self._next_growth = MAX_PARTS // 2
        self._starting = False

    def start(self):
        self._starting = True
        answer = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, **self.extra_args)
        self.upload_id = answer["UploadId"]
        return self.upload_id

    def _grow(self, number):
        """Parts may differ in size: each time a stream has used half the parts that were left, the rest are twice as
        large, so a dump far larger than expected still fits in S3's 10,000 parts."""
        if number > self._next_growth:
            self._next_growth += max(1, (MAX_PARTS - self._next_growth) // 2)
            self.part_size = min(self.part_size * 2, MAX_PART_SIZE)

    def _send(self, number, data):
        try:
            answer = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data)
            with self._lock:
                self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        except Exception as exc:  # pylint: disable=broad-except
            with self._lock:
                if self._failure is None:
                    self._failure = BackupError("uploading part %d of s3://%s/%s failed: %s" % (
                        number, self.bucket, self.key, client_error_text(exc)))
        finally:
            self._slots.release()

    def upload(self, stream, should_stop=None):
        """Read ``stream`` to its end in parts; each part is hashed, then uploaded in the background."""
        number = 0
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            while True:
                if self._failure is not None:
                    break
                if should_stop is not None:
                    should_stop()
                data = stream.read(self.part_size)
                if not data and number > 0:
                    break
                number += 1
                if number > MAX_PARTS:
                    raise BackupError("the dump outgrew S3's %d parts of s3://%s/%s: raise part_size" % (MAX_PARTS, self.bucket, self.key))
                self.sha256.update(data)
                self.size += len(data)
                self._slots.acquire()  # pylint: disable=consider-using-with
                pool.submit(self._send, number, data)
                del data
                self._grow(number + 1)
        if self._failure is not None:
            raise self._failure
        return self.size

    def complete(self):
        parts = sorted(self.parts, key=lambda part: part["PartNumber"])
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": parts})
        self.upload_id = None
        self._starting = False

    def abort(self):
        """Abort the upload (a no-op once completed or never started); returns an error text or None."""
        if self.upload_id is None and self._starting:
            # Interrupted while CreateMultipartUpload was in flight: S3 may hold an upload we never heard of.
            try:
                found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.key).get("Uploads", [])
            except Exception as exc:  # pylint: disable=broad-except
                return "listing the multipart uploads of s3://%s/%s failed (%s): abort any by hand" % (self.bucket, self.key, client_error_text(exc))
            ids = [upload["UploadId"] for upload in found if upload["Key"] == self.key]
        else:
            ids = [self.upload_id] if self.upload_id is not None else []
        for upload_id in ids:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
            except Exception as exc:  # pylint: disable=broad-except
                return "aborting the multipart upload %s of s3://%s/%s failed (%s): abort it by hand" % (
                    upload_id, self.bucket, self.key, client_error_text(exc))
        self.upload_id = None
        self._starting = False
        return None


def stream_object(client, bucket, key, sink=None, chunk=DOWNLOAD_CHUNK):
    """Download an object in chunks into ``sink(chunk)`` (or nowhere); returns (size, sha256 hex)."""
    digest = hashlib.sha256()
    size = 0
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        for data in body.iter_chunks(chunk):
            digest.update(data)
            size += len(data)
            if sink is not None:
                sink(data)
    finally:
        body.close()
    return size, digest.hexdigest()

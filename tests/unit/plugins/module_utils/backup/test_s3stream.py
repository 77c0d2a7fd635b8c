"""MultipartUpload against a fake S3 client: bounded parts in flight, part size growth, abort on every failure."""

import hashlib
import io
import threading
import time

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.backup import s3stream
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.naming import MAX_PARTS, MIN_PART_SIZE

MIB = 1024 * 1024


class FakeS3:
    """Records parts; ``delay`` slows each part, ``fail_part`` makes one part fail, ``interrupt_create`` raises after
    the upload was created server-side (as a signal arriving while CreateMultipartUpload is in flight would)."""

    def __init__(self, delay=0.0, fail_part=None, interrupt_create=False):
        self.delay = delay
        self.fail_part = fail_part
        self.interrupt_create = interrupt_create
        self.uploads = {}
        self.aborted = []
        self.completed = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def create_multipart_upload(self, Bucket, Key, **_extra):  # pylint: disable=invalid-name
        upload_id = "u%d" % (len(self.uploads) + 1)
        self.uploads[upload_id] = {"key": Key, "parts": {}}
        if self.interrupt_create:
            raise KeyboardInterrupt()
        return {"UploadId": upload_id}

    def upload_part(self, Bucket, Key, UploadId, PartNumber, Body):  # pylint: disable=invalid-name
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if PartNumber == self.fail_part:
                raise RuntimeError("SlowDown: injected")
            self.uploads[UploadId]["parts"][PartNumber] = bytes(Body)
            return {"ETag": '"%d"' % PartNumber}
        finally:
            with self.lock:
                self.in_flight -= 1

    def complete_multipart_upload(self, Bucket, Key, UploadId, MultipartUpload):  # pylint: disable=invalid-name
        numbers = [part["PartNumber"] for part in MultipartUpload["Parts"]]
        assert numbers == sorted(numbers)
        self.completed.append(UploadId)

    def abort_multipart_upload(self, Bucket, Key, UploadId):  # pylint: disable=invalid-name
        self.aborted.append(UploadId)
        self.uploads.pop(UploadId, None)

    def list_multipart_uploads(self, Bucket, Prefix):  # pylint: disable=invalid-name
        return {"Uploads": [{"Key": up["key"], "UploadId": uid} for uid, up in self.uploads.items() if up["key"].startswith(Prefix)]}


def test_parts_in_flight_never_exceed_the_concurrency_and_the_stream_arrives_whole():
    data = bytes(range(256)) * (4 * 23 * 1024 * 3)  # 18.4 MiB: four parts of 5 MiB
    client = FakeS3(delay=0.05)
    upload = s3stream.MultipartUpload(client, "b", "k", MIN_PART_SIZE, concurrency=2)
    upload.start()
    assert upload.upload(io.BytesIO(data)) == len(data)
    upload.complete()
    parts = client.uploads["u1"]["parts"]
    assert b"".join(parts[n] for n in sorted(parts)) == data
    assert upload.sha256.hexdigest() == hashlib.sha256(data).hexdigest()
    assert client.max_in_flight == 2 and client.completed == ["u1"]


def test_a_failed_part_fails_the_upload_and_abort_removes_it():
    client = FakeS3(fail_part=2)
    upload = s3stream.MultipartUpload(client, "b", "k", MIN_PART_SIZE, concurrency=2)
    upload.start()
    with pytest.raises(BackupError, match="part 2 .*SlowDown"):
        upload.upload(io.BytesIO(b"x" * (4 * MIN_PART_SIZE)))
    assert upload.abort() is None
    assert client.aborted == ["u1"] and client.uploads == {}


def test_an_interrupted_create_still_aborts_the_upload_the_server_made():
    client = FakeS3(interrupt_create=True)
    upload = s3stream.MultipartUpload(client, "b", "db/k.dump", MIN_PART_SIZE)
    with pytest.raises(KeyboardInterrupt):
        upload.start()
    assert upload.upload_id is None
    assert upload.abort() is None
    assert client.aborted == ["u1"] and client.uploads == {}


def test_part_size_grows_for_a_large_database_and_refuses_what_s3_refuses():
    assert s3stream.plan_part_size(8 * MIB, None) == 8 * MIB
    assert s3stream.plan_part_size(8 * MIB, 10 * 1024 * MIB) == 8 * MIB  # 10 GiB fits in 9,000 parts of 8 MiB
    grown = s3stream.plan_part_size(8 * MIB, 200 * 1024 ** 3)
    assert grown % MIB == 0 and grown * (MAX_PARTS - 1000) >= 200 * 1024 ** 3
    with pytest.raises(BackupError, match="5 MiB"):
        s3stream.plan_part_size(MIN_PART_SIZE - 1, None)


def test_a_stream_past_half_the_parts_doubles_the_rest():
    upload = s3stream.MultipartUpload(FakeS3(), "b", "k", MIN_PART_SIZE)
    sizes = []
    for number in range(1, MAX_PARTS + 1):
        upload._grow(number)  # pylint: disable=protected-access
        sizes.append(upload.part_size)
    assert sizes[MAX_PARTS // 2 - 1] == MIN_PART_SIZE and sizes[MAX_PARTS // 2] == 2 * MIN_PART_SIZE
    # Ever larger parts as the budget runs out: the sum of the 10,000 parts is far beyond 10,000 x 5 MiB.
    assert sum(sizes) > 3 * MAX_PARTS * MIN_PART_SIZE

"""An in-memory stand-in for the few S3 calls the backup catalog makes, for unit tests.

ListObjectsV2 is paginated like boto3's paginator: keys in lexicographic order (or a given order),
``Prefix`` and ``Delimiter`` honoured the way S3 does (a key with the delimiter after the prefix is
rolled up into ``CommonPrefixes``, never listed in ``Contents``), ``page_size`` entries a page.
"""

import datetime
import io

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=UTC)


class NoSuchKey(Exception):
    """What get_object raises for a key the bucket does not hold."""


class FakeS3:
    """A bucket's objects: {key: (body bytes, LastModified)}; calls are recorded in ``calls``."""

    def __init__(self, objects=None, page_size=1000, order=None):
        self.objects = {}
        self.page_size = page_size
        self.order = order  # None: S3's lexicographic order; else a function of the key list giving the order
        self.calls = []
        for key, value in (objects or {}).items():
            if isinstance(value, tuple):
                self.put(key, *value)
            else:
                self.put(key, value)

    def put(self, key, body=b"", last_modified=EPOCH):
        self.objects[key] = (body if isinstance(body, bytes) else body.encode("utf-8"), last_modified)

    def delete(self, keys):
        for key in keys:
            self.objects.pop(key, None)

    def get_paginator(self, operation):
        assert operation == "list_objects_v2", operation
        return _Paginator(self)

    def get_object(self, Bucket, Key):  # pylint: disable=invalid-name
        self.calls.append(("get_object", Bucket, Key))
        if Key not in self.objects:
            raise NoSuchKey(Key)
        return {"Body": io.BytesIO(self.objects[Key][0])}

    def gets(self):
        return [call[2] for call in self.calls if call[0] == "get_object"]


class _Paginator:
    def __init__(self, client):
        self.client = client

    def paginate(self, **kwargs):
        self.client.calls.append(("paginate", kwargs))
        prefix = kwargs.get("Prefix", "")
        delimiter = kwargs.get("Delimiter")
        entries = []
        rolled_up = set()
        keys = sorted(self.client.objects)
        if self.client.order is not None:
            keys = list(self.client.order(keys))
        for key in keys:
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
                if common not in rolled_up:
                    rolled_up.add(common)
                    entries.append(("prefix", common))
                continue
            body, last_modified = self.client.objects[key]
            entries.append(("object", {"Key": key, "Size": len(body), "LastModified": last_modified, "ETag": '"x"'}))
        size = self.client.page_size
        for start in range(0, max(len(entries), 1), size):
            chunk = entries[start:start + size]
            page = {"KeyCount": len(chunk), "IsTruncated": start + size < len(entries)}
            contents = [item for kind, item in chunk if kind == "object"]
            commons = [{"Prefix": item} for kind, item in chunk if kind == "prefix"]
            # Like S3: the keys are absent (not an empty list) from a page without objects.
            if contents:
                page["Contents"] = contents
            if commons:
                page["CommonPrefixes"] = commons
            yield page

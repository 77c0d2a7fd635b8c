"""A manifest that cannot be read is never taken for a missing or a bad one: only S3's 404 means "no manifest"."""

import datetime

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.backup import catalog
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError


class ClientError(Exception):
    """Shaped like botocore's: a ``response`` with the error code and the HTTP status."""

    def __init__(self, code, status):
        super().__init__(code)
        self.response = {"Error": {"Code": code, "Message": code + " (injected)"}, "ResponseMetadata": {"HTTPStatusCode": status}}


class FailingClient:
    def __init__(self, error):
        self.error = error

    def get_object(self, **_kwargs):
        raise self.error


def backup():
    when = datetime.datetime(2026, 3, 8, tzinfo=datetime.timezone.utc)
    return catalog.entry("database/loyalty_backup_20260308_000000.dump", "loyalty_backup_20260308_000000.dump", when, 10, when) | {
        "has_manifest": True}


@pytest.mark.parametrize("code,status", [("SlowDown", 503), ("AccessDenied", 403), ("InternalError", 500)])
def test_an_s3_error_reading_a_manifest_decides_nothing(code, status):
    item = backup()
    with pytest.raises(BackupError, match="cannot read the manifest .*%s.*nothing was decided" % code):
        catalog.read_manifest(FailingClient(ClientError(code, status)), "b", item)
    assert item["state"] == catalog.INCOMPLETE and item["manifest"] is None and item["has_manifest"] is True


def test_a_manifest_deleted_since_the_listing_makes_the_backup_incomplete():
    item = catalog.read_manifest(FailingClient(ClientError("NoSuchKey", 404)), "b", backup())
    assert item["state"] == catalog.INCOMPLETE and item["has_manifest"] is False

"""Unit tests of plugins/module_utils/backup/naming.py and catalog.py: names, the listing, manifests, select()."""

import datetime
import json

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.backup import catalog, naming
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError

from backup_fakes3 import EPOCH, FakeS3

UTC = datetime.timezone.utc
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))
BUCKET = "loyalty-backups"
PREFIX = "database/"


def at(text):
    """A UTC time from a stamp like 20260301_020000."""
    return datetime.datetime.strptime(text, naming.STAMP_FORMAT).replace(tzinfo=UTC)


def name(stamp):
    return "loyalty_backup_%s.dump" % stamp


def manifest_body(size, **extra):
    return json.dumps(dict({"size": size, "sha256": "ab" * 32, "database": "loyalty"}, **extra)).encode()


def add_backup(client, stamp, body=b"dump-bytes", manifest="good", prefix=PREFIX):
    """A backup object and, per ``manifest``, its manifest: good, size (wrong size), garbage, list or None."""
    key = prefix + name(stamp)
    client.put(key, body, at(stamp) + datetime.timedelta(minutes=10))
    bodies = {
        "good": manifest_body(len(body)),
        "size": manifest_body(len(body) + 1),
        "garbage": b"{this is not json",
        "list": b"[1, 2, 3]",
    }
    if manifest is not None:
        client.put(naming.manifest_key(key), bodies[manifest], at(stamp) + datetime.timedelta(minutes=11))
    return key


# naming


def test_backup_key_converts_an_aware_time_to_utc_first():
    when = datetime.datetime(2026, 3, 1, 1, 30, tzinfo=PLUS_TWO)
    assert naming.backup_key("", when) == "loyalty_backup_20260228_233000.dump"
    assert naming.backup_key("database/", when) == "database/loyalty_backup_20260228_233000.dump"
    assert naming.backup_key(None, when) == "loyalty_backup_20260228_233000.dump"


def test_backup_key_of_a_utc_time_and_its_stamp_round_trip():
    when = datetime.datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    key = naming.backup_key(PREFIX, when)
    assert key == "database/loyalty_backup_20261231_235959.dump"
    assert naming.stamp_of(key[len(PREFIX):], naming.compile_pattern(None)) == when
    assert naming.manifest_key(key) == key + ".manifest.json"


def test_compile_pattern_defaults_to_the_names_the_backup_module_writes():
    compiled = naming.compile_pattern(None)
    assert compiled.pattern == naming.DEFAULT_PATTERN
    assert naming.compile_pattern("").pattern == naming.DEFAULT_PATTERN
    assert naming.stamp_of("loyalty_backup_20260228_233000.dump", compiled) == datetime.datetime(2026, 2, 28, 23, 30, tzinfo=UTC)


def test_compile_pattern_refuses_an_invalid_regular_expression_naming_the_fix():
    with pytest.raises(BackupError) as info:
        naming.compile_pattern("loyalty_(?P<stamp>[0-9_+)")
    assert "not a regular expression" in info.value.msg
    assert "omit it for the default" in info.value.msg
    assert naming.DEFAULT_PATTERN in info.value.msg


def test_compile_pattern_refuses_a_pattern_without_the_stamp_group_naming_the_fix():
    with pytest.raises(BackupError) as info:
        naming.compile_pattern(r"^loyalty_backup_(\d{8}_\d{6})\.dump$")
    assert "no named group `stamp`" in info.value.msg
    assert "(?P<stamp>...)" in info.value.msg
    assert naming.STAMP_FORMAT in info.value.msg


@pytest.mark.parametrize("candidate", [
    "loyalty_backup_20260228_2330.dump",         # short stamp
    "loyalty_backup_20261301_000000.dump",       # month 13: matches the pattern, not a time
    "loyalty_backup_20260230_000000.dump",       # 30 February
    "loyalty_backup_20260228_233000.dump.tmp",
    "xloyalty_backup_20260228_233000.dump",
    "old/loyalty_backup_20260228_233000.dump",
    "loyalty_backup_20260228_233000.dump\n",     # `$` alone would match before a final newline
    "loyalty_backup_\u0662\u0660\u0662\u0666\u0660\u0662\u0662\u0668_233000.dump",  # Arabic-Indic digits
])
def test_stamp_of_a_name_that_is_not_exactly_a_backup_name_is_none(candidate):
    assert naming.stamp_of(candidate, naming.compile_pattern(None)) is None


def test_stamp_of_with_a_custom_pattern_and_format():
    compiled = naming.compile_pattern(r"^nightly-(?P<stamp>\d{12})\.sql\.gz$")
    assert naming.stamp_of("nightly-202603010130.sql.gz", compiled, "%Y%m%d%H%M") == datetime.datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert naming.stamp_of("loyalty_backup_20260228_233000.dump", compiled, "%Y%m%d%H%M") is None


@pytest.mark.parametrize("value, expected", [
    ("20260228", datetime.date(2026, 2, 28)),
    ("20240229", datetime.date(2024, 2, 29)),
    ("20260229", None),
    ("2026022", None),
    ("202602280", None),
    ("2026-02-28", None),
    ("latest", None),
    ("", None),
    (None, None),
    ("20260228\n", None),
])
def test_parse_day(value, expected):
    assert naming.parse_day(value) == expected


def test_iso_is_utc_with_a_z():
    assert naming.iso(datetime.datetime(2026, 3, 1, 1, 30, 15, 999, tzinfo=PLUS_TWO)) == "2026-02-28T23:30:15Z"
    assert naming.iso(None) is None


@pytest.mark.parametrize("value", [
    "2026-01-31T23:00:00Z",
    "2026-02-01T01:00:00+02:00",
    "2026-01-31T23:00:00",
    datetime.datetime(2026, 2, 1, 1, 0, tzinfo=PLUS_TWO),
    datetime.datetime(2026, 1, 31, 23, 0),
])
def test_parse_iso_gives_utc(value):
    when = naming.parse_iso(value)
    assert when == datetime.datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert when.utcoffset() == datetime.timedelta(0)
    assert naming.iso(when) == "2026-01-31T23:00:00Z"


@pytest.mark.parametrize("value", ["yesterday", "", "31/01/2026"])
def test_parse_iso_refuses_what_is_not_a_time(value):
    with pytest.raises(BackupError) as info:
        naming.parse_iso(value)
    assert "2026-01-31T23:00:00Z" in info.value.msg


# list_backups


def three_page_bucket():
    client = FakeS3(page_size=5)
    client.put(PREFIX + "CHANGES")
    client.put(PREFIX + "INDEX")
    client.put(PREFIX + "README.txt", b"what lies here")
    client.put(PREFIX + "archive.tar", b"tar")
    add_backup(client, "20260301_020000")                      # A: its manifest is on the next page
    add_backup(client, "20260302_020000", manifest=None)       # B: no manifest
    add_backup(client, "20260303_020000")                      # C
    client.put(PREFIX + naming.manifest_key(name("20260304_020000")))  # orphan manifest: its object is gone
    client.put(PREFIX + "loyalty_backup_20260305_020000.dump.tmp")
    client.put(PREFIX + "loyalty_backup_20261301_020000.dump")  # not a time
    client.put(PREFIX + "notes.txt.manifest.json")             # a manifest of something that is no backup
    add_backup(client, "20260306_020000", prefix=PREFIX + "old/")  # a sub-folder: one CommonPrefixes entry
    add_backup(client, "20260307_020000", prefix="other/")     # outside the prefix
    return client


def test_list_backups_walks_every_page_once_with_the_delimiter():
    client = three_page_bucket()
    pages = list(client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX, Delimiter="/"))
    # The fixture is what the test claims: three pages, and A's object and manifest on different ones.
    assert len(pages) == 3
    a_key = PREFIX + name("20260301_020000")
    page_of = {obj["Key"]: index for index, page in enumerate(pages) for obj in page.get("Contents", [])}
    assert page_of[a_key] != page_of[naming.manifest_key(a_key)]
    client.calls.clear()

    listing = catalog.list_backups(client, BUCKET, PREFIX)

    assert client.calls == [("paginate", {"Bucket": BUCKET, "Prefix": PREFIX, "Delimiter": "/"})]
    assert listing.pages == 3
    assert listing.prefix == PREFIX
    assert [b["name"] for b in listing.backups] == [name("20260303_020000"), name("20260302_020000"), name("20260301_020000")]
    assert [b["has_manifest"] for b in listing.backups] == [True, False, True]
    assert all(b["state"] == catalog.INCOMPLETE and b["manifest"] is None for b in listing.backups)  # nothing read yet
    assert listing.orphan_manifests == [{"key": PREFIX + naming.manifest_key(name("20260304_020000")), "last_modified": EPOCH}]
    # CHANGES, INDEX, README.txt, archive.tar, the .tmp, the month-13 name and the manifest of notes.txt.
    assert listing.others == 7
    assert client.gets() == []  # listing reads no manifest


def test_list_backups_entries_carry_the_stamp_time_not_last_modified():
    client = FakeS3()
    key = add_backup(client, "20260301_020000", body=b"12345")
    client.put(key, b"12345", datetime.datetime(2026, 3, 9, tzinfo=UTC))
    (backup,) = catalog.list_backups(client, BUCKET, PREFIX).backups
    assert backup["key"] == key
    assert backup["time"] == at("20260301_020000")
    assert backup["last_modified"] == datetime.datetime(2026, 3, 9, tzinfo=UTC)
    assert backup["size"] == 5
    assert backup["manifest_key"] == key + ".manifest.json"


def test_list_backups_at_the_bucket_root_and_with_a_custom_pattern():
    client = FakeS3()
    client.put("nightly-20260301013000.dump", b"x")
    client.put("loyalty_backup_20260301_020000.dump", b"y")
    client.put("db/nightly-202603020130.dump", b"z")
    listing = catalog.list_backups(client, BUCKET, None, pattern=r"^nightly-(?P<stamp>\d{8}_?\d{6})\.dump$")
    # The stamp group must parse as STAMP_FORMAT: 20260301013000 matches the pattern, but without the underscore it is no time.
    assert listing.backups == []
    assert listing.others == 2
    listing = catalog.list_backups(client, BUCKET, "", pattern=r"^loyalty_backup_(?P<stamp>\d{8}_\d{6})\.dump$")
    assert [b["key"] for b in listing.backups] == ["loyalty_backup_20260301_020000.dump"]
    assert listing.others == 1  # the sub-folder db/ is a CommonPrefixes entry, not an object


def test_list_backups_refuses_a_bad_pattern_before_listing():
    client = three_page_bucket()
    with pytest.raises(BackupError):
        catalog.list_backups(client, BUCKET, PREFIX, pattern=r"^loyalty_backup_.*\.dump$")
    assert client.calls == []


def test_list_backups_of_an_empty_prefix():
    client = FakeS3()
    listing = catalog.list_backups(client, BUCKET, PREFIX)
    assert (listing.backups, listing.orphan_manifests, listing.others, listing.pages) == ([], [], 0, 1)


# read_manifest


def listed(client, stamp):
    return next(b for b in catalog.list_backups(client, BUCKET, PREFIX).backups if b["name"] == name(stamp))


def test_read_manifest_complete_when_the_size_matches():
    client = FakeS3()
    add_backup(client, "20260301_020000", body=b"0123456789")
    backup = catalog.read_manifest(client, BUCKET, listed(client, "20260301_020000"))
    assert backup["state"] == catalog.COMPLETE
    assert backup["manifest"]["size"] == 10
    assert "problem" not in backup
    public = catalog.public(backup, verified=True)
    assert public == {
        "key": PREFIX + name("20260301_020000"), "time": "2026-03-01T02:00:00Z", "size": 10, "last_modified": "2026-03-01T02:10:00Z",
        "state": "complete", "manifest_key": PREFIX + name("20260301_020000") + ".manifest.json", "sha256": "ab" * 32,
        "database": "loyalty", "verified": True,
    }


def test_read_manifest_mismatch_when_the_size_differs():
    client = FakeS3()
    add_backup(client, "20260301_020000", body=b"0123456789", manifest="size")
    backup = catalog.read_manifest(client, BUCKET, listed(client, "20260301_020000"))
    assert backup["state"] == catalog.MISMATCH
    assert "11" in backup["problem"] and "10" in backup["problem"]
    assert catalog.public(backup)["problem"] == backup["problem"]


@pytest.mark.parametrize("manifest", ["garbage", "list"])
def test_read_manifest_mismatch_when_the_body_is_not_a_json_object(manifest):
    client = FakeS3()
    add_backup(client, "20260301_020000", manifest=manifest)
    backup = catalog.read_manifest(client, BUCKET, listed(client, "20260301_020000"))
    assert backup["state"] == catalog.MISMATCH
    assert backup["manifest"] is None
    assert "not a JSON object" in backup["problem"]


def test_read_manifest_mismatch_when_the_body_is_not_utf8_or_too_large(monkeypatch):
    client = FakeS3()
    key = add_backup(client, "20260301_020000")
    client.put(naming.manifest_key(key), b"\xff\xfe{}")
    assert catalog.read_manifest(client, BUCKET, listed(client, "20260301_020000"))["state"] == catalog.MISMATCH
    client.put(naming.manifest_key(key), manifest_body(10, padding="x" * 100))
    monkeypatch.setattr(catalog, "MAX_MANIFEST_BYTES", 64)
    assert catalog.read_manifest(client, BUCKET, listed(client, "20260301_020000"))["state"] == catalog.MISMATCH


def test_read_manifest_incomplete_without_a_manifest_reads_nothing():
    client = FakeS3()
    add_backup(client, "20260301_020000", manifest=None)
    backup = catalog.read_manifest(client, BUCKET, listed(client, "20260301_020000"))
    assert backup["state"] == catalog.INCOMPLETE
    assert backup["manifest"] is None
    assert client.gets() == []


# select


def mixed_bucket():
    """Newest first: an incomplete one, a mismatch, two complete ones (03-01 22:00 and 03-01 02:00), an older complete one."""
    client = FakeS3()
    add_backup(client, "20260302_020000", manifest=None)
    add_backup(client, "20260301_230000", manifest="size")
    add_backup(client, "20260301_220000")
    add_backup(client, "20260301_020000")
    add_backup(client, "20260227_020000")
    return client


def test_select_latest_skips_the_incomplete_and_mismatch_newest_and_reads_only_as_far_as_needed():
    client = mixed_bucket()
    listing = catalog.list_backups(client, BUCKET, PREFIX)
    chosen = catalog.select(listing, "latest", client, BUCKET)
    assert chosen["name"] == name("20260301_220000")
    assert chosen["state"] == catalog.COMPLETE
    assert client.gets() == [PREFIX + name("20260301_230000") + ".manifest.json", PREFIX + name("20260301_220000") + ".manifest.json"]
    assert listing.backups[1]["state"] == catalog.MISMATCH


@pytest.mark.parametrize("spec", [None, "", "  latest  "])
def test_select_defaults_to_latest(spec):
    client = mixed_bucket()
    assert catalog.select(catalog.list_backups(client, BUCKET, PREFIX), spec, client, BUCKET)["name"] == name("20260301_220000")


def test_select_latest_without_a_complete_backup_raises():
    client = FakeS3()
    add_backup(client, "20260302_020000", manifest=None)
    add_backup(client, "20260301_230000", manifest="garbage")
    with pytest.raises(BackupError) as info:
        catalog.select(catalog.list_backups(client, BUCKET, PREFIX), "latest", client, BUCKET)
    assert "no complete backup" in info.value.msg
    assert "2 backups" in info.value.msg and name("20260302_020000") in info.value.msg


def test_select_without_a_client_relies_on_known_states():
    client = mixed_bucket()
    listing = catalog.list_backups(client, BUCKET, PREFIX)
    with pytest.raises(BackupError):
        catalog.select(listing, "latest")  # nothing read: no state is complete
    for backup in listing.backups:
        catalog.read_manifest(client, BUCKET, backup)
    assert catalog.select(listing, "latest")["name"] == name("20260301_220000")


def test_select_a_day_gives_the_newest_complete_backup_of_that_utc_day():
    client = mixed_bucket()
    listing = catalog.list_backups(client, BUCKET, PREFIX)
    chosen = catalog.select(listing, "20260301", client, BUCKET)
    # 23:00 is that day's newest but a mismatch; 22:00 UTC is 00:00 on 03-02 in +02:00 and still 03-01 by its stamp.
    assert chosen["name"] == name("20260301_220000")
    assert catalog.select(listing, "20260227", client, BUCKET)["name"] == name("20260227_020000")
    # Only that day's manifests were read, newest first, as far as needed.
    assert PREFIX + name("20260302_020000") + ".manifest.json" not in client.gets()
    assert PREFIX + name("20260301_020000") + ".manifest.json" not in client.gets()


def test_select_a_day_without_a_complete_backup_raises_listing_days():
    client = mixed_bucket()
    listing = catalog.list_backups(client, BUCKET, PREFIX)
    with pytest.raises(BackupError) as info:
        catalog.select(listing, "20260302", client, BUCKET)  # only the incomplete one
    assert "no complete backup from 20260302" in info.value.msg
    assert "20260301, 20260227" in info.value.msg
    with pytest.raises(BackupError) as info:
        catalog.select(listing, "20250101", client, BUCKET)
    assert "20260301, 20260227" in info.value.msg
    empty = catalog.list_backups(FakeS3(), BUCKET, PREFIX)
    with pytest.raises(BackupError) as info:
        catalog.select(empty, "20250101", client, BUCKET)
    assert info.value.msg.endswith("none")


def test_select_by_exact_key_and_by_name_reads_its_state():
    client = mixed_bucket()
    listing = catalog.list_backups(client, BUCKET, PREFIX)
    by_key = catalog.select(listing, PREFIX + name("20260301_020000"), client, BUCKET)
    assert by_key["name"] == name("20260301_020000") and by_key["state"] == catalog.COMPLETE
    by_name = catalog.select(listing, name("20260301_230000"), client, BUCKET)
    # An exact key is given back whatever its state; the state says whether it can be used.
    assert by_name["key"] == PREFIX + name("20260301_230000") and by_name["state"] == catalog.MISMATCH
    incomplete = catalog.select(listing, name("20260302_020000"), client, BUCKET)
    assert incomplete["state"] == catalog.INCOMPLETE


@pytest.mark.parametrize("spec", [name("20260303_020000"), "other/" + name("20260301_020000"), "20261301", "newest"])
def test_select_an_unknown_key_raises(spec):
    client = mixed_bucket()
    with pytest.raises(BackupError) as info:
        catalog.select(catalog.list_backups(client, BUCKET, PREFIX), spec, client, BUCKET)
    assert repr(spec) in info.value.msg
    assert "give latest, a UTC day as YYYYMMDD" in info.value.msg
    assert "5 backups, the newest %s" % (PREFIX + name("20260302_020000")) in info.value.msg

"""The restore's pure checks: row counts against the manifest, derived names within PostgreSQL's limit, disk space."""

import collections

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.backup import restore
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError

Usage = collections.namedtuple("Usage", "total used free")


def test_counts_that_differ_or_tables_missing_or_extra_are_named():
    problems = restore.compare_counts({"public.a": 3, "public.b": 1, "x.c": 0}, {"public.a": 4, "x.c": 0, "public.d": 2})
    assert problems == ["public.a has 4 rows, the manifest 3", "public.b is missing", "public.d is not in the manifest"]
    assert restore.compare_counts({"public.a": 3}, {"public.a": 3}) == []


def test_derived_names_stay_within_63_bytes():
    long_name = "l" * 63
    kept = restore.derived_name(long_name, "_before_restore_20260101_000000")
    assert len(kept) == 63 and kept.endswith("_before_restore_20260101_000000")
    assert restore.derived_name("loyalty", "_restore_20260101_000000") == "loyalty_restore_20260101_000000"


def test_jobs_above_one_refuse_a_folder_without_room_for_the_copy(monkeypatch, tmp_path):
    monkeypatch.setattr(restore.shutil, "disk_usage", lambda _path: Usage(10 ** 9, 10 ** 9 - 50 * 1024 ** 2, 50 * 1024 ** 2))
    with pytest.raises(BackupError, match=r"jobs=2 needs .* free in .*jobs: 1"):
        restore.check_disk({"jobs": 2, "tmp_dir": str(tmp_path)}, {"size": 10 * 1024 ** 2})
    monkeypatch.setattr(restore.shutil, "disk_usage", lambda _path: Usage(10 ** 12, 0, 10 ** 11))
    assert restore.check_disk({"jobs": 2, "tmp_dir": str(tmp_path)}, {"size": 10 * 1024 ** 2}) == str(tmp_path)

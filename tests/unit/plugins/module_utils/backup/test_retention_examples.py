"""Hand-computed examples of the retention decision (plugins/module_utils/backup/retention.py)."""

import datetime

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.backup import catalog, naming, retention
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError

from backup_fakes3 import FakeS3

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
PREFIX = "database/"


def utc(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def backup(when, state="complete", last_modified=None):
    """A catalog entry as list_backups and read_manifest leave it: complete, mismatch, incomplete or unread."""
    item = catalog.entry(naming.backup_key(PREFIX, when), naming.backup_key("", when), when, 100, last_modified or when + 0.25 * HOUR)
    if state == "incomplete":
        return item
    item["has_manifest"] = True
    if state == "complete":
        item.update(state=catalog.COMPLETE, manifest={"size": 100})
    elif state == "mismatch":
        item.update(state=catalog.MISMATCH, manifest={"size": 99}, problem="the manifest gives 99 bytes, the object has 100")
    return item


def kept(plan):
    return [naming.parse_iso(item["time"]) for item in plan["kept"]]


def deleted(plan):
    return [naming.parse_iso(item["time"]) for item in plan["deleted"]]


def rules_of(plan):
    return {naming.parse_iso(item["time"]): item["rules"] for item in plan["kept"]}


def test_thirty_days_of_two_daily_backups_keep_daily_7_keeps_the_newest_of_the_7_newest_days():
    days = [utc(2026, 3, 1) + index * DAY for index in range(30)]
    backups = [backup(day + 2 * HOUR) for day in days] + [backup(day + 14 * HOUR) for day in days]
    plan = retention.decide(backups, {"keep_daily": 7}, utc(2026, 3, 30, 23))
    assert kept(plan) == [day + 14 * HOUR for day in reversed(days[-7:])]
    assert rules_of(plan)[utc(2026, 3, 30, 14)] == ["min_keep", "keep_daily"]
    assert all(rules == ["keep_daily"] for when, rules in rules_of(plan).items() if when != utc(2026, 3, 30, 14))
    assert len(plan["deleted"]) == 53
    assert {item["reason"] for item in plan["deleted"]} == {"expired"}
    assert set(kept(plan)).isdisjoint(deleted(plan))


def test_keep_weekly_counts_iso_weeks_across_the_year_boundary():
    # 2026 has an ISO week 53 (Monday 2026-12-28 .. Sunday 2027-01-03); 2027-W01 starts on Monday 2027-01-04.
    assert utc(2026, 12, 28).isocalendar()[:2] == (2026, 53)
    assert utc(2027, 1, 3).isocalendar()[:2] == (2026, 53)
    assert utc(2027, 1, 4).isocalendar()[:2] == (2027, 1)
    assert utc(2026, 12, 27).isocalendar()[:2] == (2026, 52)
    backups = [backup(utc(2026, 12, 21, 3) + index * DAY) for index in range(21)]  # 2026-12-21 .. 2027-01-10
    reference = utc(2027, 1, 10, 12)
    assert kept(retention.decide(backups, {"keep_weekly": 2}, reference)) == [utc(2027, 1, 10, 3), utc(2027, 1, 3, 3)]
    # A calendar-year week (2027-01-01 in a week of its own) would keep 2026-12-31 here; ISO weeks keep Sunday 12-27.
    plan = retention.decide(backups, {"keep_weekly": 3}, reference)
    assert kept(plan) == [utc(2027, 1, 10, 3), utc(2027, 1, 3, 3), utc(2026, 12, 27, 3)]
    assert len(plan["deleted"]) == 18


def test_keep_weekly_skips_weeks_without_a_backup():
    backups = [backup(utc(2026, 6, 1, 3)), backup(utc(2026, 5, 4, 3)), backup(utc(2026, 5, 6, 3)), backup(utc(2026, 4, 1, 3))]
    plan = retention.decide(backups, {"keep_weekly": 3}, utc(2026, 6, 2))
    assert kept(plan) == [utc(2026, 6, 1, 3), utc(2026, 5, 6, 3), utc(2026, 4, 1, 3)]
    assert deleted(plan) == [utc(2026, 5, 4, 3)]


def test_keep_monthly_picks_the_newest_of_each_month_that_has_one():
    backups = [
        backup(utc(2026, 6, 2, 1)), backup(utc(2026, 6, 20, 1)),
        backup(utc(2026, 4, 30, 23, 30)),  # 2026-05-01 01:30 in +02:00, April by its UTC stamp
        backup(utc(2026, 4, 1, 1)),
        backup(utc(2026, 3, 31, 1)), backup(utc(2026, 3, 1, 1)),
        backup(utc(2026, 2, 14, 1)),
    ]  # no backup in May
    plan = retention.decide(backups, {"keep_monthly": 3}, utc(2026, 7, 1))
    assert kept(plan) == [utc(2026, 6, 20, 1), utc(2026, 4, 30, 23, 30), utc(2026, 3, 31, 1)]
    assert rules_of(plan)[utc(2026, 6, 20, 1)] == ["min_keep", "keep_monthly"]
    assert deleted(plan) == [utc(2026, 6, 2, 1), utc(2026, 4, 1, 1), utc(2026, 3, 1, 1), utc(2026, 2, 14, 1)]


def test_keep_yearly_and_rules_or_together():
    backups = [backup(utc(year, month, 1)) for year in (2023, 2024, 2025, 2026) for month in (1, 7)]
    plan = retention.decide(backups, {"keep_yearly": 3, "keep_last": 2}, utc(2026, 8, 1))
    assert kept(plan) == [utc(2026, 7, 1), utc(2026, 1, 1), utc(2025, 7, 1), utc(2024, 7, 1)]
    assert rules_of(plan) == {
        utc(2026, 7, 1): ["min_keep", "keep_last", "keep_yearly"], utc(2026, 1, 1): ["keep_last"],
        utc(2025, 7, 1): ["keep_yearly"], utc(2024, 7, 1): ["keep_yearly"],
    }


def test_two_backups_on_one_day_keep_daily_keeps_only_the_newer():
    older, newer = backup(utc(2026, 3, 5, 1)), backup(utc(2026, 3, 5, 23, 59, 59))
    plan = retention.decide([older, newer], {"keep_daily": 2}, utc(2026, 3, 6))
    assert kept(plan) == [utc(2026, 3, 5, 23, 59, 59)]
    assert plan["deleted"] == [{"key": older["key"], "time": "2026-03-05T01:00:00Z", "reason": "expired"}]
    assert plan["delete_keys"] == [older["manifest_key"], older["key"]]


def test_keep_days_boundary_exactly_d_days_old_is_not_newer():
    reference = utc(2026, 3, 10)
    newest, inside, boundary = backup(utc(2026, 3, 9)), backup(utc(2026, 3, 3, 0, 0, 1)), backup(utc(2026, 3, 3))
    plan = retention.decide([newest, inside, boundary], {"keep_days": 7}, reference)
    assert kept(plan) == [utc(2026, 3, 9), utc(2026, 3, 3, 0, 0, 1)]
    assert rules_of(plan)[utc(2026, 3, 3, 0, 0, 1)] == ["keep_days"]
    assert deleted(plan) == [utc(2026, 3, 3)]
    # Another rule can still keep it.
    plan = retention.decide([newest, inside, boundary], {"keep_days": 7, "keep_last": 3}, reference)
    assert rules_of(plan)[utc(2026, 3, 3)] == ["keep_last"]
    assert plan["deleted"] == []


def test_an_empty_listing_deletes_nothing():
    plan = retention.decide([], {"keep_last": 3}, utc(2026, 3, 10))
    assert plan == {"deleted": [], "kept": [], "future": [], "delete_keys": [], "orphan_manifests": [], "abort_uploads": []}
    listing = catalog.list_backups(FakeS3(), "bucket", PREFIX)
    plan = retention.decide(listing.backups, {"keep_days": 1}, utc(2026, 3, 10), orphan_manifests=listing.orphan_manifests)
    assert plan["delete_keys"] == [] and plan["deleted"] == []


def test_min_keep_protects_when_every_complete_backup_is_older_than_keep_days():
    backups = [backup(utc(2026, 1, 3)), backup(utc(2026, 1, 2)), backup(utc(2026, 1, 1))]
    plan = retention.decide(backups, {"keep_days": 7}, utc(2026, 3, 10), min_keep=2)
    assert kept(plan) == [utc(2026, 1, 3), utc(2026, 1, 2)]
    assert all(item["rules"] == ["min_keep"] for item in plan["kept"])
    assert deleted(plan) == [utc(2026, 1, 1)]
    plan = retention.decide(backups, {"keep_days": 7}, utc(2026, 3, 10))
    assert kept(plan) == [utc(2026, 1, 3)]


@pytest.mark.parametrize("rules", [{"keep_days": 7}, {"keep_last": 1}, {"keep_daily": 1}])
def test_an_incomplete_newest_backup_does_not_count_so_the_old_complete_one_is_kept(rules):
    reference = utc(2026, 3, 10, 12)
    newest = backup(utc(2026, 3, 10, 2), state="incomplete")
    old = backup(utc(2025, 11, 1, 2))
    plan = retention.decide([newest, old], rules, reference)
    assert rules_of(plan)[utc(2026, 3, 10, 2)] == ["incomplete_grace"]
    assert "min_keep" in rules_of(plan)[utc(2025, 11, 1, 2)]
    assert plan["deleted"] == [] and plan["delete_keys"] == []


@pytest.mark.parametrize("state", ["mismatch", "incomplete"])
def test_a_mismatch_or_incomplete_backup_is_never_counted(state):
    reference = utc(2026, 3, 10, 12)
    bad, good = backup(utc(2026, 3, 10, 2), state=state), backup(utc(2026, 3, 9, 2))
    plan = retention.decide([bad, good], {"keep_last": 1}, reference, min_keep=1)
    assert rules_of(plan) == {utc(2026, 3, 10, 2): ["incomplete_grace"], utc(2026, 3, 9, 2): ["min_keep", "keep_last"]}


def test_a_manifest_not_read_counts():
    unread = backup(utc(2026, 3, 10, 2), state="unread")
    assert unread["has_manifest"] and unread["manifest"] is None and unread["state"] == catalog.INCOMPLETE
    plan = retention.decide([unread, backup(utc(2026, 3, 9, 2))], {"keep_last": 1}, utc(2026, 3, 10, 12))
    assert rules_of(plan) == {utc(2026, 3, 10, 2): ["min_keep", "keep_last"]}
    assert deleted(plan) == [utc(2026, 3, 9, 2)]


def test_grace_is_measured_from_the_later_of_stamp_and_last_modified():
    reference = utc(2026, 3, 10, 12)
    grace = datetime.timedelta(hours=24)
    at_grace = backup(reference - grace, state="incomplete", last_modified=reference - grace)
    past_grace = backup(reference - grace - datetime.timedelta(seconds=1), state="incomplete",
                        last_modified=reference - grace - datetime.timedelta(seconds=1))
    # Stamped three days ago, but the upload finished an hour ago: a long dump is stamped when it starts.
    long_dump = backup(reference - 3 * DAY, state="incomplete", last_modified=reference - HOUR)
    old_mismatch = backup(reference - 3 * DAY - HOUR, state="mismatch", last_modified=reference - 2 * DAY)
    complete = backup(reference - 5 * DAY)
    plan = retention.decide([at_grace, past_grace, long_dump, old_mismatch, complete], {"keep_last": 1}, reference, grace=grace)
    assert set(rules_of(plan)) == {at_grace["time"], long_dump["time"], complete["time"]}
    assert [(item["key"], item["reason"]) for item in plan["deleted"]] == [
        (past_grace["key"], "incomplete"), (old_mismatch["key"], "mismatch")]
    # The mismatch has a manifest, deleted before its object; the incomplete one has none.
    assert plan["delete_keys"] == [past_grace["key"], old_mismatch["manifest_key"], old_mismatch["key"]]


def test_future_backups_are_kept_reported_and_use_no_keep_last_slot():
    reference = utc(2026, 3, 10, 12)
    future = [backup(utc(2026, 3, 11)), backup(utc(2027, 1, 1), state="incomplete")]
    past = [backup(utc(2026, 3, 10)), backup(utc(2026, 3, 9)), backup(utc(2026, 3, 8))]
    plan = retention.decide(future + past, {"keep_last": 2}, reference)
    assert plan["future"] == [future[1]["key"], future[0]["key"]]
    assert rules_of(plan) == {
        utc(2027, 1, 1): ["future"], utc(2026, 3, 11): ["future"],
        utc(2026, 3, 10): ["min_keep", "keep_last"], utc(2026, 3, 9): ["keep_last"],
    }
    assert deleted(plan) == [utc(2026, 3, 8)]


def test_max_delete_exceeded_raises_with_would_delete_and_at_the_limit_deletes():
    backups = [backup(utc(2026, 3, day)) for day in range(1, 6)]
    with pytest.raises(BackupError) as info:
        retention.decide(backups, {"keep_last": 2}, utc(2026, 3, 10), max_delete=2)
    assert info.value.details["would_delete"] == [b["key"] for b in backups[2::-1]]
    assert "max_delete=2" in info.value.msg and "nothing was deleted" in info.value.msg
    plan = retention.decide(backups, {"keep_last": 2}, utc(2026, 3, 10), max_delete=3)
    assert len(plan["deleted"]) == 3
    plan = retention.decide(backups, {"keep_last": 5}, utc(2026, 3, 10), max_delete=0)
    assert plan["deleted"] == []


def test_stale_uploads_and_orphan_manifests_older_than_grace():
    reference = utc(2026, 3, 10, 12)
    uploads = [
        {"key": PREFIX + "loyalty_backup_20260310_020000.dump", "upload_id": "b", "initiated": reference - 25 * HOUR},
        {"key": PREFIX + "loyalty_backup_20260310_020000.dump", "upload_id": "a", "initiated": reference - 25 * HOUR},
        {"key": PREFIX + "loyalty_backup_20260310_110000.dump", "upload_id": "c", "initiated": reference - HOUR},
        {"key": PREFIX + "loyalty_backup_20260309_110000.dump", "upload_id": "d", "initiated": reference - 24 * HOUR},
    ]
    orphans = [
        {"key": PREFIX + "loyalty_backup_20260302_020000.dump.manifest.json", "last_modified": reference - 8 * DAY},
        {"key": PREFIX + "loyalty_backup_20260301_020000.dump.manifest.json", "last_modified": reference - 9 * DAY},
        {"key": PREFIX + "loyalty_backup_20260310_020000.dump.manifest.json", "last_modified": reference - HOUR},
    ]
    old = backup(utc(2026, 3, 1, 3))
    plan = retention.decide([backup(utc(2026, 3, 9, 3)), old], {"keep_last": 1}, reference, uploads=uploads, orphan_manifests=orphans)
    assert [upload["upload_id"] for upload in plan["abort_uploads"]] == ["a", "b"]
    assert sorted(plan["orphan_manifests"]) == sorted([orphans[0]["key"], orphans[1]["key"]])
    # The backups' keys first, then the stale orphan manifests, in an order that does not depend on the listing's.
    assert plan["delete_keys"][:2] == [old["manifest_key"], old["key"]]
    assert plan["delete_keys"][2:] == plan["orphan_manifests"]
    again = retention.decide([old, backup(utc(2026, 3, 9, 3))], {"keep_last": 1}, reference, uploads=uploads[::-1],
                             orphan_manifests=orphans[::-1])
    assert again == plan


@pytest.mark.parametrize("rules", [None, {}, {"keep_last": None, "keep_days": None}])
def test_no_rule_is_refused(rules):
    with pytest.raises(BackupError) as info:
        retention.decide([backup(utc(2026, 1, 1))], rules, utc(2026, 3, 10))
    assert "no retention rule" in info.value.msg


@pytest.mark.parametrize("rules", [
    {"keep_last": 0}, {"keep_days": -1}, {"keep_daily": 1.5}, {"keep_weekly": True}, {"keep_monthly": "3"},
    {"keep_yearly": 2, "keep_last": 0}, {"keep_hourly": 3},
])
def test_a_rule_that_is_not_a_whole_number_of_at_least_one_is_refused(rules):
    with pytest.raises(BackupError) as info:
        retention.decide([backup(utc(2026, 1, 1))], rules, utc(2026, 3, 10))
    assert "at least 1" in info.value.msg or "unknown retention rule" in info.value.msg


@pytest.mark.parametrize("min_keep, max_delete", [(0, None), (-1, None), (1.5, None), (1, -1), (1, 2.0)])
def test_min_keep_and_max_delete_are_checked(min_keep, max_delete):
    with pytest.raises(BackupError):
        retention.decide([], {"keep_last": 1}, utc(2026, 3, 10), min_keep=min_keep, max_delete=max_delete)


def test_batches_of_2500_keys():
    keys = ["k%04d" % index for index in range(2500)]
    chunks = retention.batches(keys)
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 500]
    assert [key for chunk in chunks for key in chunk] == keys
    assert [len(chunk) for chunk in retention.batches(keys[:1000])] == [1000]
    assert retention.batches([]) == []
    assert naming.DELETE_BATCH == 1000

"""Property tests of the retention decision, on listings made by catalog.list_backups over a fake bucket.

Each example is a bucket under a prefix: backups with random UTC stamps over a few years around a reference
time (some after it), each with a good manifest, a manifest giving the wrong size, an unreadable manifest or
none, read or not; plus objects that are no candidates (other names, sub-folders, keys outside the prefix,
manifests of non-backups), orphan manifests and in-progress multipart uploads. The plan is checked against
the contract and against a small independent model of the rules.
"""

import datetime
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.loyalty.platform.plugins.module_utils.backup import catalog, naming, retention
from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError

from backup_fakes3 import FakeS3

UTC = datetime.timezone.utc
BUCKET = "loyalty-backups"
DAY = 86400
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANIFESTS = ("good", "good", "size", "garbage", None, None)
COUNT_REASONS = {"min_keep", "keep_last", "keep_days", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"}
ALL_REASONS = COUNT_REASONS | {"future", "incomplete_grace"}
PERIODS = {
    "keep_daily": lambda when: (when.year, when.month, when.day),
    "keep_weekly": lambda when: tuple(when.isocalendar())[:2],
    "keep_monthly": lambda when: (when.year, when.month),
    "keep_yearly": lambda when: when.year,
}

# Seconds from the reference time: spread over years, clustered over weeks, or close to it (grace, future).
OFFSETS = st.one_of(st.integers(-3 * 365 * DAY, 3 * DAY), st.integers(-45 * DAY, DAY), st.integers(-3 * DAY, 2 * DAY))
RULE_VALUES = {
    "keep_last": st.integers(1, 8),
    "keep_days": st.integers(1, 800),
    "keep_daily": st.integers(1, 10),
    "keep_weekly": st.integers(1, 8),
    "keep_monthly": st.integers(1, 12),
    "keep_yearly": st.integers(1, 3),
}
# At least one rule; RULES also gives none (which must be refused) one time in four.
SOME_RULES = st.sets(st.sampled_from(sorted(RULE_VALUES)), min_size=1).flatmap(
    lambda names: st.fixed_dictionaries({name: RULE_VALUES[name] for name in names}))
RULES = st.one_of(st.just({}), SOME_RULES, SOME_RULES, SOME_RULES)


class Scenario:  # pylint: disable=too-many-instance-attributes
    """What the bucket holds, and the truth about each backup that the plan is checked against."""

    def __init__(self, prefix, reference):
        self.prefix = prefix
        self.reference = reference
        self.objects = {}       # key: (body, last_modified)
        self.backups = {}       # key: {time, last_modified, has_manifest, counts}
        self.read = set()       # keys of backups whose manifest is read before deciding
        self.noise = set()      # keys that are no candidates and no orphan manifests
        self.direct_others = 0  # of those, the objects directly under the prefix
        self.orphans = {}       # orphan manifest key: last_modified
        self.uploads = []

    def client(self, order=None, page_size=1000):
        client = FakeS3(page_size=page_size, order=order)
        for key, (body, last_modified) in self.objects.items():
            client.put(key, body, last_modified)
        return client

    def __repr__(self):
        return "Scenario(prefix=%r, reference=%s, backups=%r, read=%r, orphans=%r, uploads=%r)" % (
            self.prefix, naming.iso(self.reference), self.backups, sorted(self.read), self.orphans, self.uploads)


@st.composite
def scenarios(draw):
    prefix = draw(st.sampled_from(["database/", "", "prod/db/"]))
    reference = datetime.datetime(2026, 1, 1, tzinfo=UTC) + datetime.timedelta(seconds=draw(st.integers(0, 730 * DAY)))
    scenario = Scenario(prefix, reference)

    def stamp(offset):
        return reference + datetime.timedelta(seconds=offset)

    specs = draw(st.lists(
        st.tuples(OFFSETS, st.sampled_from(MANIFESTS), st.booleans(), st.integers(-600, 3 * DAY), st.integers(0, 40)),
        max_size=20, unique_by=lambda spec: spec[0]))
    for offset, manifest, read, finished, size in specs:
        when = stamp(offset)
        key = naming.backup_key(prefix, when)
        scenario.objects[key] = (b"x" * size, when + datetime.timedelta(seconds=finished))
        bodies = {"good": json.dumps({"size": size}), "size": json.dumps({"size": size + 1}), "garbage": "{not json"}
        if manifest is not None:
            scenario.objects[naming.manifest_key(key)] = (bodies[manifest].encode(), when + datetime.timedelta(seconds=finished + 1))
        if read:
            scenario.read.add(key)
        scenario.backups[key] = {
            "time": when, "last_modified": when + datetime.timedelta(seconds=finished), "has_manifest": manifest is not None,
            # A manifest not read counts; one read counts only when it agrees with the object.
            "counts": manifest is not None and (not read or manifest == "good"),
        }

    used = {offset for offset, *_rest in specs}
    noise_offsets = draw(st.lists(st.one_of(st.sampled_from(sorted(used)) if used else OFFSETS, OFFSETS), max_size=3))
    direct = ["README.txt", "notes.txt.manifest.json", "loyalty_backup_20261301_000000.dump"]
    for offset in noise_offsets:
        name = naming.backup_key("", stamp(offset))
        direct += [name + ".tmp", name + "\n", "L" + name[1:], "x" + name, name + ".manifest.json.manifest.json"]
        for key in (prefix + "old/" + name, prefix + "old/" + naming.manifest_key(name), prefix + "old/deeper/" + name):
            scenario.objects[key] = (b"sub-folder", stamp(offset - DAY))
            scenario.noise.add(key)
        if prefix:
            scenario.objects["other/" + name] = (b"outside", stamp(offset - DAY))
            scenario.noise.add("other/" + name)
    for name in set(direct):
        scenario.objects[prefix + name] = (b"not a backup", reference - datetime.timedelta(days=30))
        scenario.noise.add(prefix + name)
    scenario.direct_others = len(set(direct))

    for offset, age in draw(st.lists(st.tuples(OFFSETS, st.integers(-DAY, 10 * DAY)), max_size=4)):
        if offset in used:
            continue
        key = naming.manifest_key(naming.backup_key(prefix, stamp(offset)))
        scenario.orphans[key] = reference - datetime.timedelta(seconds=age)
        scenario.objects[key] = (json.dumps({"size": 1}).encode(), scenario.orphans[key])

    uploads = st.lists(st.tuples(OFFSETS, st.sampled_from("abc"), st.integers(-DAY, 4 * DAY)), max_size=4, unique_by=lambda item: item[:2])
    for offset, upload_id, age in draw(uploads):
        scenario.uploads.append({"key": naming.backup_key(prefix, stamp(offset)), "upload_id": upload_id,
                                 "initiated": reference - datetime.timedelta(seconds=age)})
    return scenario


GRACES = st.integers(0, 72).map(lambda hours: datetime.timedelta(hours=hours))


def run(scenario, client, rules, min_keep=1, max_delete=None, grace=datetime.timedelta(hours=24), uploads=None, shuffle=None):
    """List, read the manifests the scenario reads, decide: what a rotation run does before deleting."""
    listing = catalog.list_backups(client, BUCKET, scenario.prefix)
    for backup in listing.backups:
        if backup["key"] in scenario.read:
            catalog.read_manifest(client, BUCKET, backup)
    backups, orphans, uploads = listing.backups, listing.orphan_manifests, list(scenario.uploads if uploads is None else uploads)
    if shuffle is not None:
        shuffle(backups)
        shuffle(orphans)
        shuffle(uploads)
    plan = retention.decide(backups, rules, scenario.reference, min_keep=min_keep, max_delete=max_delete, grace=grace,
                            uploads=uploads, orphan_manifests=orphans)
    return listing, plan


def model_kept(scenario, rules, min_keep, grace):
    """The keys the contract keeps, computed by grouping rather than by walking."""
    reference = scenario.reference
    kept = set()
    counted = []
    for key, truth in sorted(scenario.backups.items(), key=lambda item: item[1]["time"], reverse=True):
        if truth["time"] > reference:
            kept.add(key)
        elif truth["counts"]:
            counted.append((key, truth["time"]))
        elif reference - max(truth["time"], truth["last_modified"]) <= grace:
            kept.add(key)
    kept.update(key for key, _when in counted[:max(min_keep, rules.get("keep_last", 0))])
    if "keep_days" in rules:
        kept.update(key for key, when in counted if when > reference - datetime.timedelta(days=rules["keep_days"]))
    for rule, period_of in PERIODS.items():
        if rule in rules:
            groups = {}
            for key, when in counted:
                groups.setdefault(period_of(when), []).append((when, key))
            kept.update(max(groups[period])[1] for period in sorted(groups, reverse=True)[:rules[rule]])
    return kept


@SETTINGS
@given(scenarios(), RULES, st.integers(1, 4), GRACES)
def test_the_plan_keeps_what_the_contract_keeps_and_touches_nothing_else(scenario, rules, min_keep, grace):  # pylint: disable=too-many-locals
    client = scenario.client(page_size=7)
    if not rules:
        with pytest.raises(BackupError) as info:
            run(scenario, client, rules, min_keep=min_keep, grace=grace)
        assert "no retention rule" in info.value.msg
        return
    listing, plan = run(scenario, client, rules, min_keep=min_keep, grace=grace)
    reference = scenario.reference

    # The listing: exactly the scenario's backups, the others counted, the orphans found.
    assert {b["key"] for b in listing.backups} == set(scenario.backups)
    assert listing.others == scenario.direct_others
    assert {item["key"] for item in listing.orphan_manifests} == set(scenario.orphans)

    kept = {item["key"]: item["rules"] for item in plan["kept"]}
    deleted = {item["key"]: item["reason"] for item in plan["deleted"]}
    # A partition of the candidates, each listed once.
    assert len(kept) == len(plan["kept"]) and len(deleted) == len(plan["deleted"])
    assert set(kept) | set(deleted) == set(scenario.backups)
    assert not set(kept) & set(deleted)
    assert set(kept) == model_kept(scenario, rules, min_keep, grace)
    for key, reasons in kept.items():
        assert reasons and set(reasons) <= ALL_REASONS and len(set(reasons)) == len(reasons), (key, reasons)

    # Never a non-candidate; each deleted backup's manifest (if any) before its object; stale orphans last.
    expected_keys = []
    for item in plan["deleted"]:
        if scenario.backups[item["key"]]["has_manifest"]:
            expected_keys.append(naming.manifest_key(item["key"]))
        expected_keys.append(item["key"])
    stale = {key for key, last_modified in scenario.orphans.items() if reference - last_modified > grace}
    assert plan["delete_keys"][:len(expected_keys)] == expected_keys
    assert sorted(plan["delete_keys"][len(expected_keys):]) == sorted(stale) == sorted(plan["orphan_manifests"])
    assert not set(plan["delete_keys"]) & scenario.noise
    assert len(set(plan["delete_keys"])) == len(plan["delete_keys"])
    assert set(plan["delete_keys"]) <= set(scenario.objects)

    past = sorted((truth["time"], key) for key, truth in scenario.backups.items() if truth["time"] <= reference)[::-1]
    counted = [key for _when, key in past if scenario.backups[key]["counts"]]
    # The newest min_keep complete backups, and the newest keep_last of them, are kept by those rules.
    for index, key in enumerate(counted):
        assert ("min_keep" in kept.get(key, [])) == (index < min_keep)
        assert ("keep_last" in kept.get(key, [])) == (index < rules.get("keep_last", 0))
        if key in deleted:
            assert deleted[key] == "expired"
    # Future backups: kept, reported, and in no rule.
    future = [key for key, truth in scenario.backups.items() if truth["time"] > reference]
    assert sorted(plan["future"]) == sorted(future)
    assert all(kept[key] == ["future"] for key in future)
    # Incomplete or mismatch: never counted, kept while within grace, deleted only past it.
    for _when, key in past:
        truth = scenario.backups[key]
        if truth["counts"]:
            continue
        age = reference - max(truth["time"], truth["last_modified"])
        if age <= grace:
            assert kept[key] == ["incomplete_grace"]
        else:
            assert deleted[key] == ("mismatch" if truth["has_manifest"] else "incomplete")
    # Stale uploads only.
    assert plan["abort_uploads"] == sorted((u for u in scenario.uploads if reference - u["initiated"] > grace),
                                           key=lambda u: (u["key"], u["upload_id"]))


@SETTINGS
@given(scenarios(), SOME_RULES, st.integers(1, 4), GRACES, st.integers(0, 2 ** 32), st.integers(1, 9))
def test_the_plan_is_the_same_for_any_listing_order(scenario, rules, min_keep, grace, seed, page_size):  # pylint: disable=too-many-arguments
    rnd = random.Random(seed)  # a seed, not st.randoms(): each draw of those costs an example's worth of choices
    _listing, canonical = run(scenario, scenario.client(), rules, min_keep=min_keep, grace=grace)

    def shuffled(keys):
        keys = list(keys)
        rnd.shuffle(keys)
        return keys

    _listing, plan = run(scenario, scenario.client(order=shuffled, page_size=page_size), rules, min_keep=min_keep, grace=grace,
                         shuffle=rnd.shuffle)
    assert plan == canonical


@SETTINGS
@given(scenarios(), SOME_RULES, st.integers(1, 4), GRACES)
def test_a_second_run_on_what_remains_deletes_nothing(scenario, rules, min_keep, grace):
    client = scenario.client(page_size=5)
    _listing, first = run(scenario, client, rules, min_keep=min_keep, grace=grace)
    client.delete(first["delete_keys"])
    aborted = {(u["key"], u["upload_id"]) for u in first["abort_uploads"]}
    remaining = [u for u in scenario.uploads if (u["key"], u["upload_id"]) not in aborted]
    _listing, second = run(scenario, client, rules, min_keep=min_keep, grace=grace, uploads=remaining)
    assert second["deleted"] == [] and second["delete_keys"] == [] and second["abort_uploads"] == []
    assert second["kept"] == first["kept"]
    assert second["future"] == first["future"]


@SETTINGS
@given(scenarios(), SOME_RULES, st.integers(1, 4), GRACES, st.integers(0, 12))
def test_max_delete_exceeded_raises_carrying_would_delete_and_otherwise_changes_nothing(  # pylint: disable=too-many-arguments
        scenario, rules, min_keep, grace, max_delete):
    _listing, unlimited = run(scenario, scenario.client(), rules, min_keep=min_keep, grace=grace)
    if len(unlimited["deleted"]) > max_delete:
        with pytest.raises(BackupError) as info:
            run(scenario, scenario.client(), rules, min_keep=min_keep, grace=grace, max_delete=max_delete)
        assert info.value.details["would_delete"] == [item["key"] for item in unlimited["deleted"]]
        assert "max_delete=%d" % max_delete in info.value.msg
    else:
        _listing, limited = run(scenario, scenario.client(), rules, min_keep=min_keep, grace=grace, max_delete=max_delete)
        assert limited == unlimited


def entries(draw_specs):
    """Catalog entries straight from (stamp seconds, key suffix, state): several keys may share a stamp."""
    items = []
    for seconds, suffix, state in draw_specs:
        when = datetime.datetime(2026, 6, 1, tzinfo=UTC) + datetime.timedelta(seconds=seconds)
        key = "database/loyalty_backup_%s_%s.dump" % (when.strftime(naming.STAMP_FORMAT), suffix)
        item = catalog.entry(key, key[len("database/"):], when, 1, when)
        if state != catalog.INCOMPLETE:
            item.update(has_manifest=True, state=state, manifest={"size": 1} if state == catalog.COMPLETE else None)
        items.append(item)
    return items


@SETTINGS
@given(st.lists(st.tuples(st.integers(-40 * DAY, DAY).map(lambda s: s - s % 3600), st.sampled_from("abcd"),
                          st.sampled_from([catalog.COMPLETE, catalog.MISMATCH, catalog.INCOMPLETE])),
                max_size=20, unique_by=lambda spec: spec[:2]),
       SOME_RULES, st.integers(0, 2 ** 32))
def test_backups_sharing_a_stamp_are_ordered_by_key_whatever_the_input_order(specs, rules, seed):
    rnd = random.Random(seed)
    backups = entries(specs)
    reference = datetime.datetime(2026, 6, 1, 12, tzinfo=UTC)
    plan = retention.decide(backups, rules, reference)
    backups = entries(specs)
    rnd.shuffle(backups)
    assert retention.decide(backups, rules, reference) == plan
    order = [(naming.parse_iso(item["time"]), item["key"]) for item in plan["kept"]]
    assert order == sorted(order, reverse=True)


@SETTINGS
@given(st.lists(st.integers(), max_size=3500), st.integers(1, 1500))
def test_batches_are_the_keys_in_order_in_chunks_of_at_most_the_size(keys, size):
    chunks = retention.batches(keys, size)
    assert [key for chunk in chunks for key in chunk] == keys
    assert all(1 <= len(chunk) <= size for chunk in chunks)
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert all(len(chunk) <= 1000 for chunk in retention.batches(keys))


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(retention.RULES)),
                       st.one_of(st.integers(max_value=0), st.floats(allow_nan=False), st.booleans(), st.text(max_size=3)),
                       min_size=1))
def test_a_rule_value_that_is_not_a_whole_number_of_at_least_one_is_refused(rules):
    with pytest.raises(BackupError):
        retention.decide([], rules, datetime.datetime(2026, 1, 1, tzinfo=UTC))

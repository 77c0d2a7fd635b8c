"""The bluegreen-lock Lease: expiry, takeover, races and release."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen import lock
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError

from bluegreen_fakekube import FakeKube

NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def lease(holder, renewed, duration=60, rv="7", uid="u-1"):
    return {
        "metadata": {"name": lock.LEASE_NAME, "resourceVersion": rv, "uid": uid},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration,
                 "acquireTime": lock.format_micro_time(renewed), "renewTime": lock.format_micro_time(renewed)},
    }


class TestTimes:
    @pytest.mark.parametrize("text", ["2025-03-01T12:00:00Z", "2025-03-01T12:00:00.000000Z", "2025-03-01T12:00:00.0Z",
                                      "2025-03-01T12:00:00+00:00", "2025-03-01T13:00:00+01:00", "2025-03-01T12:00:00.123456789Z"])
    def test_parse_accepts_kubernetes_spellings(self, text):
        assert abs((lock.parse_time(text) - NOW).total_seconds()) < 1

    @pytest.mark.parametrize("text", [None, "", "yesterday"])
    def test_unreadable_times_are_none(self, text):
        assert lock.parse_time(text) is None

    @given(st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2200, 1, 1), timezones=st.just(datetime.timezone.utc)))
    def test_micro_time_round_trips(self, moment):
        assert lock.parse_time(lock.format_micro_time(moment)) == moment


class TestDecision:
    def test_no_lease_is_created(self):
        assert lock.acquire_decision(None, "me", "ns", NOW) == lock.CREATE

    def test_live_foreign_lease_fails_fast_naming_holder_and_expiry(self):
        with pytest.raises(BlueGreenError) as err:
            lock.acquire_decision(lease("ci-runner-7", NOW - datetime.timedelta(seconds=10)), "me", "prod", NOW)
        assert "Lease prod/bluegreen-lock is held by ci-runner-7" in err.value.msg
        assert "expires at 2025-03-01T12:00:50Z, in 50s" in err.value.msg
        assert err.value.details["lease"]["holder"] == "ci-runner-7"

    def test_expired_lease_is_taken_over(self):
        assert lock.acquire_decision(lease("old", NOW - datetime.timedelta(seconds=61)), "me", "ns", NOW) == lock.TAKEOVER

    def test_lease_without_holder_is_free(self):
        assert lock.acquire_decision(lease(None, NOW), "me", "ns", NOW) == lock.TAKEOVER

    def test_own_lease_is_reentered(self):
        assert lock.acquire_decision(lease("me", NOW), "me", "ns", NOW) == lock.REENTER

    @given(st.integers(min_value=1, max_value=3600), st.integers(min_value=0, max_value=7200))
    def test_expiry_is_renew_time_plus_duration(self, duration, age):
        status = lock.lease_status(lease("x", NOW - datetime.timedelta(seconds=age), duration=duration), NOW)
        assert status["expired"] == (age >= duration)

    def test_takeover_body_keeps_precondition_and_counts_transition(self):
        previous = lease("old", NOW - datetime.timedelta(hours=1))
        previous["spec"]["leaseTransitions"] = 2
        body = lock.lease_body("ns", "me", 90, NOW, previous=previous)
        assert body["metadata"]["resourceVersion"] == "7"
        assert body["spec"]["holderIdentity"] == "me" and body["spec"]["leaseDurationSeconds"] == 90
        assert body["spec"]["leaseTransitions"] == 3
        assert body["spec"]["renewTime"] == "2025-03-01T12:00:00.000000Z"


class TestLeaseLock:
    def test_create_then_release(self):
        kube = FakeKube()
        guard = lock.LeaseLock(kube, "ns", "me", 60, clock=lambda: NOW)
        guard.acquire(None)
        assert kube.leases[lock.LEASE_NAME]["spec"]["holderIdentity"] == "me"
        assert guard.release() and lock.LEASE_NAME not in kube.leases

    def test_create_race_reads_the_winner(self):
        kube = FakeKube()
        kube.add(dict(lease("ci-runner-2", NOW), kind="Lease"))
        guard = lock.LeaseLock(kube, "ns", "me", 60, clock=lambda: NOW)
        with pytest.raises(BlueGreenError, match="held by ci-runner-2"):
            guard.acquire(None)
        assert kube.leases[lock.LEASE_NAME]["spec"]["holderIdentity"] == "ci-runner-2"

    def test_stale_lease_takeover(self):
        kube = FakeKube()
        stale = kube.add(dict(lease("crashed", NOW - datetime.timedelta(minutes=5)), kind="Lease"))
        guard = lock.LeaseLock(kube, "ns", "me", 60, clock=lambda: NOW)
        guard.acquire(stale)
        assert kube.leases[lock.LEASE_NAME]["spec"]["holderIdentity"] == "me"
        assert kube.leases[lock.LEASE_NAME]["spec"]["leaseTransitions"] == 1

    def test_takeover_race_names_who_won(self):
        kube = FakeKube()
        stale = kube.add(dict(lease("crashed", NOW - datetime.timedelta(minutes=5)), kind="Lease"))
        observed = dict(stale)
        kube.leases[lock.LEASE_NAME] = kube._stamp(dict(lease("ci-runner-9", NOW), kind="Lease"))
        guard = lock.LeaseLock(kube, "ns", "me", 60, clock=lambda: NOW)
        with pytest.raises(BlueGreenError, match="taken by ci-runner-9 while we were taking over the expired lease of crashed"):
            guard.acquire(observed)
        assert guard.release()
        assert kube.leases[lock.LEASE_NAME]["spec"]["holderIdentity"] == "ci-runner-9"

    def test_release_leaves_a_lease_someone_else_took(self):
        kube = FakeKube()
        guard = lock.LeaseLock(kube, "ns", "me", 60, clock=lambda: NOW)
        guard.acquire(None)
        kube.leases[lock.LEASE_NAME] = kube._stamp(dict(lease("thief", NOW), kind="Lease"))
        assert not guard.release()
        assert "could not release Lease ns/bluegreen-lock" in guard.release_problem
        assert kube.leases[lock.LEASE_NAME]["spec"]["holderIdentity"] == "thief"

    def test_release_of_vanished_lease_is_fine(self):
        kube = FakeKube()
        guard = lock.LeaseLock(kube, "ns", "me", 60, clock=lambda: NOW)
        guard.acquire(None)
        del kube.leases[lock.LEASE_NAME]
        assert guard.release()

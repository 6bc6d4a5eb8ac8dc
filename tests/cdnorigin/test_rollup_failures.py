"""A 5-minute bucket whose recompute fails is set aside with a retry time; the other buckets go on.

The poison is real: two minutes of 2**62 bytes each in one bucket (rows written past the API's bounds,
as raw SQL could) sum past the bigint of the rollup's `flux`, on PostgreSQL and on SQLite alike.
"""

from datetime import timedelta

from django.utils import timezone

from cdnorigin import rollups
from cdnorigin.dirty import mark_buckets_dirty
from cdnorigin.ingest import replace_origin_samples
from cdnorigin.models import DirtyOriginBucket, OriginRollup, OriginSample
from common.rollup_failures import FIRST_BACKOFF
from tests.cdnorigin.test_rollups import at, domains, expected_rollups, stored_rollups, ts  # noqa: F401

HUGE = 2**62


def poison(domain) -> None:
    minutes = [at("2024-05-01T00:00:00Z"), at("2024-05-01T00:01:00Z")]
    OriginSample.objects.bulk_create(OriginSample(domain=domain, minute=minute, flux=HUGE, pv=1) for minute in minutes)
    mark_buckets_dirty(domain.id, minutes)


def healthy_samples():
    replace_origin_samples(
        [
            {"domain": "b.example.com", "timestamp": ts("2024-05-01T00:00:00Z") + 300 * i, "flux": 100 + i, "pv": 2}
            for i in range(3)
        ]
    )


def test_one_poisoned_bucket_does_not_keep_the_others_dirty(domains, settings):  # noqa: F811
    settings.INSIGHTS_TIME_ZONE = "UTC"
    poison(domains[0])
    healthy_samples()
    assert DirtyOriginBucket.objects.count() == 4

    assert rollups.recompute_dirty() == 4

    healthy = {row for row in expected_rollups("UTC") if row[0] == domains[1].id}
    assert {row for row in stored_rollups() if row[0] == domains[1].id} == healthy
    assert not OriginRollup.objects.filter(domain=domains[0]).exists()
    mark = DirtyOriginBucket.objects.get()
    assert mark.domain_pk == domains[0].id
    assert mark.attempts == 1
    assert "range" in mark.last_error or "overflow" in mark.last_error.lower()
    assert timezone.now() < mark.retry_at <= timezone.now() + FIRST_BACKOFF


def test_a_failed_bucket_waits_then_a_fix_clears_it(domains, settings):  # noqa: F811
    settings.INSIGHTS_TIME_ZONE = "UTC"
    poison(domains[0])
    rollups.recompute_dirty()
    assert rollups.recompute_dirty() == 0, "a mark waiting for its retry is not taken"

    DirtyOriginBucket.objects.update(retry_at=timezone.now() - timedelta(seconds=1))
    assert rollups.recompute_dirty() == 1
    assert DirtyOriginBucket.objects.get().attempts == 2

    replace_origin_samples([{"domain": "a.example.com", "timestamp": ts("2024-05-01T00:01:00Z"), "flux": 7, "pv": 1}])
    assert DirtyOriginBucket.objects.get().retry_at is None, "a new write makes the bucket due at once"
    OriginSample.objects.filter(flux=HUGE).update(flux=5)
    assert rollups.recompute_dirty() == 1
    assert not DirtyOriginBucket.objects.exists()
    assert stored_rollups() == expected_rollups("UTC")

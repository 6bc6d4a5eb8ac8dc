"""One-row edits (the admin, a shell) keep the origin rollups equal to the raw minute rows."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from cdnorigin.ingest import replace_origin_samples
from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample
from tests.cdnorigin.test_rollups import assert_rollups_match

pytestmark = pytest.mark.django_db
T0 = int(datetime(2024, 5, 1, 15, 58, tzinfo=UTC).timestamp())  # 23:58 in Shanghai: next to midnight
ZONE = "Asia/Shanghai"


@pytest.fixture
def data(db, settings, django_capture_on_commit_callbacks):
    settings.INSIGHTS_TIME_ZONE = ZONE
    domains = [Domain.objects.create(name=name) for name in ("a.example.com", "b.example.com")]
    with django_capture_on_commit_callbacks(execute=True):
        replace_origin_samples(
            [
                {
                    "domain": domain.name,
                    "timestamp": T0 + 60 * i,
                    "flux": 100 + i,
                    "pv": 1 + i,
                    "status": {"200": i + 1},
                }
                for domain in domains
                for i in range(4)
            ]
        )
    assert_rollups_match(ZONE)
    return domains


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the block's on-commit callbacks (the recompute task) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_editing_a_sample_updates_its_rollups(data, committed):
    sample = OriginSample.objects.filter(domain=data[0]).earliest("minute")
    with committed():
        sample.flux = 5
        sample.save()
    assert_rollups_match(ZONE)
    assert not DirtyOriginBucket.objects.exists()


def test_moving_a_sample_to_another_day_updates_both_days(data, committed):
    sample = OriginSample.objects.filter(domain=data[0]).earliest("minute")
    with committed():
        sample.minute += timedelta(hours=5, seconds=42)  # the edited time is floored to its minute
        sample.save()
    sample.refresh_from_db()
    assert sample.minute.second == 0
    assert OriginRollup.objects.filter(domain=data[0], interval="day").count() == 2
    assert_rollups_match(ZONE)


def test_moving_a_sample_to_another_domain_updates_both_domains(data, committed):
    sample = OriginSample.objects.filter(domain=data[0]).earliest("minute")
    with committed():
        sample.domain = Domain.objects.create(name="c.example.com")
        sample.save()
    assert_rollups_match(ZONE)


def test_adding_editing_and_deleting_status_counts_updates_rollups(data, committed):
    sample = OriginSample.objects.filter(domain=data[1]).latest("minute")
    with committed():
        sample.status = {**sample.status, "504": 3}
        sample.save()
    assert OriginRollup.objects.get(domain=data[1], interval="day", start__gt=sample.minute - timedelta(days=1))
    assert_rollups_match(ZONE)
    with committed():
        sample.status = {**sample.status, "200": 40}
        sample.save(update_fields=["status"])
    assert OriginSample.objects.filter(pk=sample.pk).values_list("status_2xx", "status_5xx").get() == (40, 3)
    assert_rollups_match(ZONE)
    with committed():
        sample.status = {code: count for code, count in sample.status.items() if code != "200"}
        sample.save()
    assert_rollups_match(ZONE)


def test_bulk_updating_status_keeps_the_class_sums(data, committed):
    samples = list(OriginSample.objects.filter(domain=data[0]).order_by("minute"))
    for sample in samples:
        sample.status = {"301": 2, "404": 5}
    with committed():
        OriginSample.objects.bulk_update(samples, ["status"])
        for sample in samples:
            sample.save(update_fields=["minute"])  # only the marks: bulk_update sends no signals
    sums = set(OriginSample.objects.filter(domain=data[0]).values_list("status_3xx", "status_4xx", "status_2xx"))
    assert sums == {(2, 5, 0)}
    assert_rollups_match(ZONE)


def test_deleting_samples_one_by_one_or_as_a_queryset_removes_their_rollups(data, committed):
    with committed():
        OriginSample.objects.filter(domain=data[0]).earliest("minute").delete()
    assert_rollups_match(ZONE)
    with committed():
        OriginSample.objects.filter(domain=data[0]).delete()
    assert not OriginRollup.objects.filter(domain=data[0]).exists()
    assert_rollups_match(ZONE)


def test_deleting_a_domain_cascades_its_rollups_and_drops_its_marks(data, committed):
    with committed():
        DirtyOriginBucket.objects.create(domain_pk=data[1].id, start=datetime.fromtimestamp(T0 - T0 % 300, UTC))
        data[1].delete()
    assert not OriginRollup.objects.filter(domain_id=data[1].id).exists()
    assert not DirtyOriginBucket.objects.exists()
    assert OriginRollup.objects.filter(domain=data[0]).count() == 6  # 2 five-minute buckets, 2 hours, 2 days
    assert_rollups_match(ZONE)


def test_an_edit_rolled_back_leaves_no_mark(data):
    sample = OriginSample.objects.filter(domain=data[0]).earliest("minute")
    with pytest.raises(RuntimeError), transaction.atomic():
        sample.flux = 1
        sample.save()
        raise RuntimeError
    assert not DirtyOriginBucket.objects.exists()

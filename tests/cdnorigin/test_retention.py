"""Origin data older than the retention disappears with its rollups; younger data stays."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample
from cdnorigin.retention import purge_expired, retention_cutoff

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 10, 30, tzinfo=SHANGHAI)


def test_cutoff_is_the_local_midnight_retention_days_back():
    with override_settings(CDN_RETENTION_DAYS=92, INSIGHTS_TIME_ZONE="Asia/Shanghai"):
        assert retention_cutoff(NOW) == datetime(2026, 8, 22, tzinfo=SHANGHAI)


def _sample(domain, minute, flux=100):
    sample = OriginSample.objects.create(domain=domain, minute=minute, flux=flux, pv=1, status={"200": 1})
    OriginRollup.objects.create(domain=domain, interval="5min", start=minute, flux=flux, pv=1, status={"200": 1})
    DirtyOriginBucket.objects.update_or_create(domain_pk=domain.pk, start=minute)
    return sample


@pytest.mark.django_db
@override_settings(CDN_RETENTION_DAYS=92, INSIGHTS_TIME_ZONE="Asia/Shanghai")
def test_purge_drops_only_rows_before_the_cutoff():
    domain = Domain.objects.create(name="a.example.com")
    cutoff = retention_cutoff(NOW)
    expired = _sample(domain, cutoff - timedelta(minutes=5))
    kept = _sample(domain, cutoff)

    summary = purge_expired(NOW)

    assert summary["samples"] == 1 and summary["rollups"] >= 1
    assert list(OriginSample.objects.values_list("pk", "status")) == [(kept.pk, {"200": 1})]
    assert not OriginSample.objects.filter(pk=expired.pk).exists()
    assert not OriginRollup.objects.filter(start__lt=cutoff).exists()
    assert OriginRollup.objects.filter(interval="5min", start=cutoff).exists()
    assert list(DirtyOriginBucket.objects.values_list("start", flat=True)) == [cutoff]

    assert purge_expired(NOW)["samples"] == 0  # a second run finds nothing more

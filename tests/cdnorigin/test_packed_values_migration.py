"""Migration 0007 leaves no rollup row without its packed values: such rows (rolled before 0002/0004) are
deleted and their buckets marked dirty, and the recompute writes them again, complete."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cdnorigin import rollups
from cdnorigin.models import DirtyOriginBucket, OriginRollup

BEFORE = [("cdnorigin", "0006_rollup_failures")]
AFTER = [("cdnorigin", "0007_every_rollup_row_carries_its_packed_values")]
HOUR = datetime(2024, 5, 1, 10, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_rows_without_packed_values_are_replaced_through_dirty_marks(settings):
    settings.INSIGHTS_TIME_ZONE = "UTC"
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    domain = old.get_model("cdnorigin", "Domain").objects.create(name="legacy.example.com")
    sample = old.get_model("cdnorigin", "OriginSample")
    for minute in range(0, 60, 7):
        sample.objects.create(domain=domain, minute=HOUR + timedelta(minutes=minute), flux=minute + 1, pv=1)
    rollup = old.get_model("cdnorigin", "OriginRollup")
    rollup.objects.create(domain=domain, interval="hour", start=HOUR, flux=1, pv=1)  # no slots: rolled before 0002
    rollup.objects.create(domain=domain, interval="5min", start=HOUR, flux=1, pv=1)  # no minutes: before 0004
    rollup.objects.create(domain=domain, interval="day", start=HOUR.replace(hour=0), flux=1, pv=1)  # has none to carry

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    assert set(OriginRollup.objects.values_list("interval", flat=True)) == {"day"}
    marked = set(DirtyOriginBucket.objects.values_list("start", flat=True))
    assert marked == {HOUR + timedelta(minutes=5 * n) for n in range(12)}

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    rollups.recompute_dirty()
    hour = OriginRollup.objects.get(interval="hour")
    assert (len(bytes(hour.five_minute_flux)), hour.flux) == (96, sum(minute + 1 for minute in range(0, 60, 7)))
    assert all(len(bytes(row.minutes)) == 280 for row in OriginRollup.objects.filter(interval="5min"))
    assert not DirtyOriginBucket.objects.exists()

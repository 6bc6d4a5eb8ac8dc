"""Every hour row carries its twelve 5-minute values and every 5-minute row its minutes, so readers keep no
fallback for rows without them (rows rolled before 0002 and 0004). Such a row is deleted and the 5-minute
buckets it covers are marked dirty: answers read those buckets from the minute rows until the recompute
writes the rows again, complete. Portable (ORM on historical models); a database without such rows is
left as it is."""

from datetime import UTC, timedelta

from django.db import migrations
from django.db.models.functions import Length
from django.utils import timezone

SLOT_BYTES = 96  # 12 x int8
BLOCK_BYTES = 280  # 5 minutes x 7 x int8
FIVE_MINUTES = timedelta(minutes=5)


def mark_and_delete(apps, schema_editor):
    rollup = apps.get_model("cdnorigin", "OriginRollup")
    dirty = apps.get_model("cdnorigin", "DirtyOriginBucket")
    rows = rollup.objects.annotate(
        flux_bytes=Length("five_minute_flux"), pv_bytes=Length("five_minute_pv"), minute_bytes=Length("minutes")
    )
    short_hours = rows.filter(interval="hour").exclude(flux_bytes=SLOT_BYTES, pv_bytes=SLOT_BYTES)
    short_fives = rows.filter(interval="5min").exclude(minute_bytes=BLOCK_BYTES)
    buckets = set()
    for domain_id, start in short_hours.values_list("domain_id", "start").iterator():
        buckets.update((domain_id, start.astimezone(UTC) + n * FIVE_MINUTES) for n in range(12))
    for domain_id, start in short_fives.values_list("domain_id", "start").iterator():
        buckets.add((domain_id, start.astimezone(UTC)))
    if not buckets:
        return
    now = timezone.now()
    dirty.objects.bulk_create(
        [dirty(domain_pk=d, start=s, marked_at=now) for d, s in sorted(buckets)], batch_size=1000, ignore_conflicts=True
    )
    rollup.objects.filter(pk__in=short_hours.values("pk")).delete()
    rollup.objects.filter(pk__in=short_fives.values("pk")).delete()


class Migration(migrations.Migration):
    dependencies = [("cdnorigin", "0006_rollup_failures")]

    operations = [migrations.RunPython(mark_and_delete, migrations.RunPython.noop)]



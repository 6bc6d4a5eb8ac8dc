"""How long raw deliveries are kept: INSIGHTS_DELIVERY_RETENTION_DAYS after a run's last delivery.

A run's deliveries go together, once its newest is past the cutoff: deleting only the old ones would
make a later fold forget the jobs they carried. Pushes, pings and ignored events go by their own age, so
a run first built more than that many days after its push no longer gets the push's commits. The runs
already stored are not touched: only what a replay could rebuild is lost.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from insights.sources.models import Delivery


def purge_deliveries(now=None, batch: int = 5000) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.INSIGHTS_DELIVERY_RETENTION_DAYS)
    deleted = 0
    stale_runs = (
        Delivery.objects.filter(subject=Delivery.Subject.RUN)
        .values("source_id", "run_key")
        .annotate(newest=Max("received_at"))
        .filter(newest__lt=cutoff)
    )
    for group in stale_runs.iterator():
        deleted += Delivery.objects.filter(source_id=group["source_id"], run_key=group["run_key"]).delete()[0]
    others = Delivery.objects.exclude(subject=Delivery.Subject.RUN).filter(received_at__lt=cutoff)
    while ids := list(others.values_list("pk", flat=True)[:batch]):
        deleted += Delivery.objects.filter(pk__in=ids).delete()[0]
    return deleted

"""What the admin index shows of the sources: each one's last delivery, counts and last error."""

from django.urls import reverse

from insights.sources.models import Delivery, Source


def source_panel() -> list[dict]:
    rows = []
    for source in Source.objects.order_by("name"):
        rows.append(
            {
                "name": source.name,
                "kind": source.kind,
                "enabled": source.enabled,
                "url": reverse("admin:insights_source_change", args=[source.pk]),
                "last_delivery_at": source.last_delivery_at,
                "accepted": source.accepted_count,
                "refused": source.refused_count,
                "failed": Delivery.objects.filter(source=source, state=Delivery.State.FAILED).count(),
                "last_error": source.last_error,
                "last_error_at": source.last_error_at,
            }
        )
    return rows

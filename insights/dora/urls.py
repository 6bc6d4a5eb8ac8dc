"""`/api/v1/dora/` routes (included by insights/api/urls.py)."""

from django.urls import path

from insights.dora import schema  # noqa: F401 (registers the views' documentation)
from insights.dora.views import DoraMetricsView, DoraSummaryView

urlpatterns = [
    path("dora/metrics", DoraMetricsView.as_view(), name="dora-metrics"),
    path("dora/summary", DoraSummaryView.as_view(), name="dora-summary"),
]

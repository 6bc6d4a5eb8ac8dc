"""`/api/v1/dora/` routes (included by insights/api/urls.py)."""

from django.urls import path

from insights.dora import schema  # noqa: F401 (registers the views' documentation)
from insights.dora.views import DoraChangesView, DoraDeploymentsView, DoraMetricsView, DoraSummaryView

urlpatterns = [
    path("dora/metrics", DoraMetricsView.as_view(), name="dora-metrics"),
    path("dora/summary", DoraSummaryView.as_view(), name="dora-summary"),
    path("dora/deployments", DoraDeploymentsView.as_view(), name="dora-deployments"),
    path("dora/changes", DoraChangesView.as_view(), name="dora-changes"),
]

"""`/openapi/statistics/...`: the Zadig-compatible statistics (a trailing slash is accepted too)."""

from django.urls import re_path

from insights.api import statistics

urlpatterns = [
    re_path(r"^overview/?$", statistics.OverviewView.as_view(), name="zadig-overview"),
    re_path(r"^build/?$", statistics.BuildStatsView.as_view(), name="zadig-build"),
    re_path(r"^deploy/?$", statistics.DeployStatsView.as_view(), name="zadig-deploy"),
    re_path(r"^test/?$", statistics.TestStatsView.as_view(), name="zadig-test"),
    re_path(r"^v2/release/?$", statistics.ReleaseStatsView.as_view(), name="zadig-release"),
    re_path(r"^v2/rollback/detail/?$", statistics.RollbackDetailView.as_view(), name="zadig-rollback-detail"),
]

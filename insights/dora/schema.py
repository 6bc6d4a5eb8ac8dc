"""The OpenAPI description of `/api/v1/dora/` (drf-spectacular), attached with `document_viewset` so the
views stay code only. Imported by `insights.dora.urls`, before any schema is generated."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from common.api.schema import FILTER_ERRORS, TOKEN_NOTE, DetailErrorSerializer, document_viewset
from insights.dora.buckets import INTERVALS
from insights.dora.params import MAX_RANGE_DAYS
from insights.dora.selectors import METRICS
from insights.dora.serializers import DoraChangeSerializer, DoraDeploymentSerializer


class DoraPointSerializer(serializers.Serializer):
    """One bucket of a DORA metric, as GitLab's DORA metrics API answers it."""

    date = serializers.DateField(help_text="The bucket's first local day (the range's start for the first bucket).")
    value = serializers.FloatField(
        allow_null=True,
        help_text="Deployment frequency: deployments (0 when none). Lead time and time to restore: median "
        "seconds. Change failure and rework rate: a ratio from 0 to 1. Null: no data in the bucket.",
    )


class DoraFigureSerializer(serializers.Serializer):
    """One metric over the range, beside its value over the same-length range just before."""

    value = serializers.FloatField(
        allow_null=True,
        help_text="Deployment frequency: deployments per day; durations: median seconds; rates: 0 to 1. Null: no data.",
    )
    previous = serializers.FloatField(allow_null=True, help_text="The value over the previous range.")
    change_percent = serializers.FloatField(
        allow_null=True, help_text="(value - previous) / previous * 100; null when either is null or previous is 0."
    )
    level = serializers.ChoiceField(
        choices=["elite", "high", "medium", "low"],
        allow_null=True,
        help_text="The 2024 Accelerate State of DevOps performance level; null without a value, always for rework.",
    )
    unit = serializers.ChoiceField(choices=["per_day", "seconds", "ratio"])
    deployments = serializers.IntegerField(required=False, help_text="Production deployments in the range.")
    days_with_deployment = serializers.IntegerField(required=False, help_text="Local days with one or more.")
    p90 = serializers.FloatField(required=False, allow_null=True, help_text="Nearest-rank 90th percentile, seconds.")
    commits = serializers.IntegerField(required=False, help_text="Commits first deployed in the range.")
    failed_deployments = serializers.IntegerField(required=False, help_text="Deployments that failed.")
    restored_failures = serializers.IntegerField(required=False, help_text="Failed deployments restored since.")
    open_failures = serializers.IntegerField(required=False, help_text="Failed deployments not restored yet.")
    rework_deployments = serializers.IntegerField(required=False, help_text="Deployments that were unplanned fixes.")


class DoraMetricsSummarySerializer(serializers.Serializer):
    """The five metrics by name."""

    deployment_frequency = DoraFigureSerializer()
    lead_time_for_changes = DoraFigureSerializer()
    change_failure_rate = DoraFigureSerializer()
    time_to_restore_service = DoraFigureSerializer()
    rework_rate = DoraFigureSerializer()


class DoraSummarySerializer(serializers.Serializer):
    """Every DORA metric over a range of local days and over the same-length range just before it."""

    start_date = serializers.DateField()
    end_date = serializers.DateField()
    previous_start_date = serializers.DateField()
    previous_end_date = serializers.DateField()
    metrics = DoraMetricsSummarySerializer()


def _query(name: str, schema, description: str, **extra) -> OpenApiParameter:
    return OpenApiParameter(name, schema, OpenApiParameter.QUERY, description=description, **extra)


def _names(name: str, what: str) -> OpenApiParameter:
    return _query(
        name,
        {"type": "array", "items": {"type": "string"}},
        f"{what}, repeated for several (`{name}=a&{name}=b`). Absent: all. Unknown names match nothing.",
        explode=True,
        style="form",
    )


RANGE = [
    _query(
        "start_date",
        OpenApiTypes.DATE,
        "First local day, inclusive (YYYY-MM-DD, 2000 to 2099). Default: three calendar months before `end_date`.",
    ),
    _query(
        "end_date",
        OpenApiTypes.DATE,
        f"Last local day, inclusive. Default: today. Not before `start_date`; at most {MAX_RANGE_DAYS} days in all.",
    ),
    _names("project", "Project keys"),
    _names("service", "Service names"),
    _names("environment", "Environment names (only production environments ever count)"),
]
ERRORS = {
    400: FILTER_ERRORS,
    401: OpenApiResponse(DetailErrorSerializer, description="Missing, unknown or revoked token."),
}
LIST_ERRORS = {**ERRORS, 404: OpenApiResponse(DetailErrorSerializer, description="`page` is past the last page.")}
PAGED = "Paged with `?page=` and `?page_size=` (at most 1000)."
RULES = "The rules of each metric are in the DORA metrics section of the README and in the API guide."

document_viewset(
    "insights.dora.views.DoraMetricsView",
    extend_schema(
        tags=["dora"],
        summary="One DORA metric, bucketed",
        description="GitLab's DORA metrics shape: one `{date, value}` per bucket of the range, ascending. "
        f"Days are local days of the service's time zone. {RULES} {TOKEN_NOTE}",
        parameters=[
            _query("metric", {"type": "string", "enum": list(METRICS)}, "The metric.", required=True),
            _query(
                "interval",
                {"type": "string", "enum": list(INTERVALS), "default": "daily"},
                "Buckets: days, ISO weeks from Monday, calendar months (the first and last clipped to the range), "
                "or one bucket for the whole range.",
            ),
            *RANGE,
        ],
        request=None,
        responses={200: DoraPointSerializer(many=True), **ERRORS},
    ),
)
document_viewset(
    "insights.dora.views.DoraSummaryView",
    extend_schema(
        tags=["dora"],
        summary="All DORA metrics with their change and level",
        description="Each metric over the range, its value over the same-length range just before, the change "
        f"in percent, and its performance level. {RULES} {TOKEN_NOTE}",
        parameters=RANGE,
        request=None,
        responses={200: DoraSummarySerializer, **ERRORS},
    ),
)
document_viewset(
    "insights.dora.views.DoraDeploymentsView",
    extend_schema(
        tags=["dora"],
        summary="The production deployments behind the figures",
        description="Every production deployment of the range, oldest first, with whether it failed, when it was "
        "restored and whether it was rework: the rows behind deployment frequency, change failure rate, time to "
        f"restore and rework rate (the count is the summary's deployments). {PAGED} {RULES} {TOKEN_NOTE}",
        parameters=RANGE,
        request=None,
        responses={200: DoraDeploymentSerializer(many=True), **LIST_ERRORS},
    ),
)
document_viewset(
    "insights.dora.views.DoraChangesView",
    extend_schema(
        tags=["dora"],
        summary="The commits behind lead time for changes",
        description="Every commit (repo and sha) first deployed to production in the range, with its earliest "
        "commit time, its first deployment and its lead time, ordered by first deployment, repo, sha: the rows "
        f"behind lead time for changes (the count is the summary's commits). {PAGED} {RULES} {TOKEN_NOTE}",
        parameters=RANGE,
        request=None,
        responses={200: DoraChangeSerializer(many=True), **LIST_ERRORS},
    ),
)

"""The OpenAPI description of the Zadig-compatible statistics under `/openapi/statistics/`: their query
parameters with their aliases, their response shapes, and Zadig's error envelope for every error.
"""

from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from common.api.schema import TOKEN_NOTE, document_viewset
from insights.api.zadig_params import MAX_PAGE_SIZE, MAX_RANGE_DAYS, MAX_RELEASE_SPAN_SECONDS, MAX_TIMESTAMP


class ZadigErrorSerializer(serializers.Serializer):
    """Zadig's error envelope, for every error of `/openapi/`."""

    type = serializers.CharField(help_text='Always "error".')
    message = serializers.CharField(help_text="The HTTP status phrase, e.g. `Bad Request`.")
    code = serializers.IntegerField(help_text="The HTTP status, e.g. 400.")
    description = serializers.CharField(help_text="What is wrong, naming the parameter.")
    extra = serializers.DictField(help_text="Always `{}`.")


ZADIG_ERRORS = {
    400: OpenApiResponse(ZadigErrorSerializer, description="A bad parameter (named in `description`)."),
    401: OpenApiResponse(ZadigErrorSerializer, description="Missing, unknown or revoked token (checked first)."),
}


class ZadigOverviewSerializer(serializers.Serializer):
    """How many rows of each kind are stored, over every project."""

    project_count = serializers.IntegerField(min_value=0)
    cluster_count = serializers.IntegerField(min_value=0)
    service_count = serializers.IntegerField(min_value=0)
    workflow_count = serializers.IntegerField(min_value=0)
    env_count = serializers.IntegerField(min_value=0)
    artifact_count = serializers.IntegerField(min_value=0)


class ZadigDailySuccessSerializer(serializers.Serializer):
    """One local day: counted jobs that passed (`success`), failed or timed out (`failure`), and both (`total`)."""

    date = serializers.DateField()
    success = serializers.IntegerField(min_value=0)
    failure = serializers.IntegerField(min_value=0, help_text="failed + timeout")
    total = serializers.IntegerField(min_value=0)


class ZadigSuccessStatsSerializer(serializers.Serializer):
    """Counted jobs of the range: `total`, those that passed (`success`), and one row per day."""

    total = serializers.IntegerField(min_value=0)
    success = serializers.IntegerField(min_value=0)
    data = ZadigDailySuccessSerializer(many=True, help_text="One row per day of the range, ascending, zero-filled.")


class ZadigTestWeekSerializer(serializers.Serializer):
    """Test jobs of one 7-day bucket, labelled with its last day."""

    date = serializers.DateField(help_text="The week's last day.")
    success_count = serializers.IntegerField(min_value=0)
    timeout_count = serializers.IntegerField(min_value=0)
    failed_count = serializers.IntegerField(min_value=0, help_text="Excludes timeouts.")


class ZadigTestStatsSerializer(serializers.Serializer):
    """Test jobs of the range, and weekly buckets anchored on its last day."""

    case_count = serializers.IntegerField(min_value=0, help_text="Latest case count of each selected test module.")
    exec_count = serializers.IntegerField(min_value=0)
    success_count = serializers.IntegerField(min_value=0)
    average_runtime = serializers.IntegerField(min_value=0, help_text="Whole seconds, rounded half up.")
    data = ZadigTestWeekSerializer(many=True, help_text="7-day buckets anchored on the last day, newest first.")


class ZadigReleaseDaySerializer(serializers.Serializer):
    """Production releases of one local day."""

    date = serializers.DateField()
    total = serializers.IntegerField(min_value=0)
    success_count = serializers.IntegerField(min_value=0)
    fail_count = serializers.IntegerField(min_value=0, help_text="failed + timeout")


class ZadigReleaseStatsSerializer(serializers.Serializer):
    """Production releases (deploy jobs to an environment with `production: true`) of the range."""

    total = serializers.IntegerField(min_value=0)
    success_count = serializers.IntegerField(min_value=0)
    daily_stat = ZadigReleaseDaySerializer(many=True, help_text="Every day the range touches, ascending.")


class ZadigContainerSerializer(serializers.Serializer):
    """A container of the service and its image."""

    name = serializers.CharField(allow_blank=True)
    type = serializers.CharField(allow_blank=True, help_text='"" or "init".')
    image = serializers.CharField(allow_blank=True)
    image_name = serializers.CharField(allow_blank=True)


class ZadigServiceSnapshotSerializer(serializers.Serializer):
    """The service before (`origin_service`) or after (`update_service`) the rollback."""

    service_name = serializers.CharField(allow_blank=True)
    release_name = serializers.CharField(allow_blank=True)
    containers = ZadigContainerSerializer(many=True)
    rendered_yaml = serializers.CharField(allow_blank=True)
    values_yaml = serializers.CharField(allow_blank=True)
    override_values = serializers.CharField(allow_blank=True)
    update_time = serializers.IntegerField(min_value=0, help_text="Unix seconds; 0 when unknown.")


class ZadigCreateBySerializer(serializers.Serializer):
    """Who ran the rollback."""

    uid = serializers.CharField(allow_blank=True)
    account = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    identity_type = serializers.CharField(allow_blank=True)


class ZadigRollbackRecordSerializer(serializers.Serializer):
    """One rollback, with exactly these fields."""

    project_key = serializers.CharField()
    env_name = serializers.CharField()
    env_type = serializers.CharField(allow_blank=True)
    production = serializers.BooleanField()
    operation_type = serializers.CharField(allow_blank=True)
    service_name = serializers.CharField()
    service_type = serializers.CharField(allow_blank=True)
    origin_service = ZadigServiceSnapshotSerializer()
    update_service = ZadigServiceSnapshotSerializer()
    create_by = ZadigCreateBySerializer()
    create_time = serializers.IntegerField(min_value=0, help_text="Unix seconds.")


class ZadigRollbackDetailSerializer(serializers.Serializer):
    """One page of rollback records, and how many match in all."""

    total = serializers.IntegerField(min_value=0, help_text="All matches, not only this page.")
    data = ZadigRollbackRecordSerializer(many=True, help_text="Newest `create_time` first; [] past the end.")


def _unix(name: str, description: str, *, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        {**build_basic_type(OpenApiTypes.INT64), "minimum": 0, "maximum": MAX_TIMESTAMP},
        OpenApiParameter.QUERY,
        required=required,
        description=description,
    )


def _keys(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        {"type": "array", "items": {"type": "string"}},
        OpenApiParameter.QUERY,
        explode=True,
        style="form",
        description=description,
    )


def _text(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY, description=description)


DAILY_PARAMETERS = [
    _keys(
        "productNames",
        "Project keys, repeated (`productNames=a&productNames=b`) or comma-separated (`a,b`). "
        "Absent or empty: every project. Unknown keys match nothing.",
    ),
    _keys("projectKey", "Alias of `productNames` (with both, their union)."),
    _unix(
        "startDate",
        f"Unix seconds; the whole local day containing it is the first day. Both or neither of "
        f"`startDate`/`endDate`; neither: first day with data through today. At most {MAX_RANGE_DAYS} days.",
    ),
    _unix("endDate", "Unix seconds; the whole local day containing it is the last day (not before `startDate`)."),
]

RELEASE_PARAMETERS = [
    _unix("start_time", "Unix seconds, inclusive (or its alias `startTime`).", required=True),
    _unix(
        "end_time",
        f"Unix seconds, inclusive for its whole second (or its alias `endTime`); "
        f"not before `start_time`, at most {MAX_RELEASE_SPAN_SECONDS} s after it.",
        required=True,
    ),
    _keys("project_name", "Project keys, in the forms `productNames` takes. Absent: every project."),
    _unix("startTime", "Alias of `start_time` (both given: they must agree)."),
    _unix("endTime", "Alias of `end_time` (both given: they must agree)."),
    _keys("projectKey", "Alias of `project_name` (with both, their union)."),
]

ROLLBACK_PARAMETERS = [
    _unix("startTime", "Unix seconds, inclusive, on `create_time`.", required=True),
    _unix("endTime", "Unix seconds, inclusive for its whole second; not before `startTime`.", required=True),
    OpenApiParameter(
        "pageSize",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        OpenApiParameter.QUERY,
        required=True,
        description=f"Records per page, 1..{MAX_PAGE_SIZE}.",
    ),
    OpenApiParameter(
        "pageNum",
        {**build_basic_type(OpenApiTypes.INT64), "minimum": 1, "maximum": 10**12, "default": 1},
        OpenApiParameter.QUERY,
        description="1-based page number.",
    ),
    _text("projectKey", "Exact project key (empty: any)."),
    _text("envName", "Exact environment name (empty: any)."),
    _text("serviceName", "Exact service name (empty: any)."),
]

COUNTING_NOTE = (
    "A job counts once it has a final status (`passed` = success; `failed`, `timeout` = failure) on the "
    "local day of its `started_at`."
)


def zadig_schema(summary: str, description: str, response, parameters=(), errors=ZADIG_ERRORS):
    return extend_schema(
        tags=["zadig statistics"],
        summary=summary,
        description=f"{description} {TOKEN_NOTE}",
        parameters=list(parameters),
        request=None,
        responses={200: response, **errors},
    )


ZADIG_VIEWS = {
    "OverviewView": zadig_schema(
        "Row counts of the catalogue",
        "How many projects, clusters, services, workflows, environments and artifacts are stored.",
        ZadigOverviewSerializer,
        errors={401: ZADIG_ERRORS[401]},
    ),
    "BuildStatsView": zadig_schema(
        "Daily build results",
        f"Jobs of type `build`. {COUNTING_NOTE}",
        ZadigSuccessStatsSerializer,
        DAILY_PARAMETERS,
    ),
    "DeployStatsView": zadig_schema(
        "Daily deploy results",
        f"Jobs of type `deploy`, all environments. {COUNTING_NOTE}",
        ZadigSuccessStatsSerializer,
        DAILY_PARAMETERS,
    ),
    "TestStatsView": zadig_schema(
        "Test results, weekly",
        f"Jobs of type `test`. {COUNTING_NOTE}",
        ZadigTestStatsSerializer,
        DAILY_PARAMETERS,
    ),
    "ReleaseStatsView": zadig_schema(
        "Daily production releases",
        "Deploy jobs to an environment with `production: true` whose `started_at` lies in [`start_time`, `end_time`].",
        ZadigReleaseStatsSerializer,
        RELEASE_PARAMETERS,
    ),
    "RollbackDetailView": zadig_schema(
        "Rollback records, one page",
        "Rollbacks whose `create_time` lies in [`startTime`, `endTime`], newest first.",
        ZadigRollbackDetailSerializer,
        ROLLBACK_PARAMETERS,
    ),
}


def register_zadig_views() -> None:
    for view, decorator in ZADIG_VIEWS.items():
        document_viewset(f"insights.api.statistics.{view}", decorator)


# --- hooks (SPECTACULAR_SETTINGS) ------------------------------------------------------------


def zadig_paths_without_slash(endpoints):
    """The Zadig routes accept an optional trailing slash (`^build/?$`); document the seed's form, without it."""
    fixed = []
    for path, path_regex, method, callback in endpoints:
        if path.startswith("/openapi/") and path.endswith("/"):
            path = path.rstrip("/")
        fixed.append((path, path_regex, method, callback))
    return fixed


register_zadig_views()

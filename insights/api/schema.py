"""The OpenAPI 3 description of the REST API (drf-spectacular): served at `/api/schema/`, shown at `/api/docs/`.

All API documentation lives in the schema modules (this one and `cdnorigin/api/schema.py`) and is
attached to the views with `OpenApiViewExtension`s, so the views stay code only. The modules are
imported by their app's `ready()`, which is when drf-spectacular must know its extensions.

What is described here that DRF cannot infer:
- token auth: `Authorization: Bearer <token>` or `?token=<token>` (either one suffices);
- every POST under `/api/v1/` takes one object or a JSON list (`oneOf`), and answers in kind;
- the error bodies: DRF's field -> messages under `/api/v1/`, Zadig's envelope under `/openapi/`;
- the Zadig endpoints' query parameters with their aliases, and their response shapes.
"""

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
    OpenApiViewExtension,
)
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from insights.api import serializers as api_serializers
from insights.api.filters import MAX_UNIX_SECONDS
from insights.api.runs import WorkflowRunInputSerializer, WorkflowRunSerializer
from insights.api.zadig_params import MAX_PAGE_SIZE, MAX_RANGE_DAYS, MAX_RELEASE_SPAN_SECONDS, MAX_TIMESTAMP

API_DESCRIPTION = """\
The insights service's REST API: the ingest and management resources under `/api/v1/` and the
Zadig-compatible statistics under `/openapi/statistics/`.

**Authentication**: a token from `python manage.py create_api_token USER [--read-only]`, sent as
`Authorization: Bearer <token>` or as the query parameter `?token=<token>`. A read-only token may
only GET (a POST answers 403). This schema and the page showing it are public: they describe the
API and reveal no data.

**Ingest**: every POST takes one object or a JSON list of at most 10,000 objects, all-or-nothing.
The answer mirrors the input (an object or a list in input order): 201 when anything was created,
200 when every item updated or replaced a stored row (keyed resources are idempotent).
Errors under `/api/v1/` are DRF's usual shape: field -> list of messages; for a list, one entry
per item (`{}` for a valid one).

**Zadig statistics**: every error, 400/401/404 alike, is Zadig's envelope
`{"type": "error", "message", "code", "description", "extra"}`; unknown paths under `/openapi/`
answer 404 in it too.

The Volcengine-compatible `DescribeCdnOriginData` action at `/?Action=...` is signed with an AK/SK
and is not part of this schema; see the README.
"""

TOKEN_NOTE = "Authenticate with `Authorization: Bearer <token>` or `?token=<token>`."


# --- authentication and custom fields --------------------------------------------------------


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Two ways to send the same token, either of which is enough (an OR of two schemes)."""

    target_class = "insights.api.authentication.BearerTokenAuthentication"
    name = ["bearerAuth", "tokenQuery"]

    def get_security_requirement(self, auto_schema):
        return [{"bearerAuth": []}, {"tokenQuery": []}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "A token from `manage.py create_api_token`."},
            {"type": "apiKey", "in": "query", "name": "token", "description": "The same token as a query parameter."},
        ]


class UnixSecondsFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "insights.api.serializers.UnixSecondsField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            **build_basic_type(OpenApiTypes.INT64),
            "minimum": 0,
            "maximum": MAX_UNIX_SECONDS,
            "description": "Unix seconds.",
        }


def one_or_list(serializer, name: str) -> PolymorphicProxySerializer:
    """A body that is one `serializer` object or a JSON list of them."""
    return PolymorphicProxySerializer(
        component_name=name,
        serializers=[serializer, serializer(many=True)],
        resource_type_field_name=None,
        many=False,
    )


# --- error bodies ----------------------------------------------------------------------------


class DetailErrorSerializer(serializers.Serializer):
    """DRF's error for authentication, permission and lookup failures under `/api/v1/`."""

    detail = serializers.CharField()


VALIDATION_ERRORS = OpenApiResponse(
    response={
        "oneOf": [
            {"type": "object", "additionalProperties": True, "description": "field -> list of messages"},
            {
                "type": "array",
                "items": {"type": "object", "additionalProperties": True},
                "description": "for a list body: one entry per item, `{}` for a valid one",
            },
        ]
    },
    description="Bad input: nothing was written. DRF's shape: field -> messages; a list body gets one entry per item.",
)


def ingest_errors(*, write: bool = False, lookup: bool = False, filtered: bool = False) -> dict:
    """DRF's errors of an operation: 401 always; 400 for bad input; 403/409 on writes; 404 for an unknown
    row or, on a list, a page past the end ("Invalid page.")."""
    errors = {401: OpenApiResponse(DetailErrorSerializer, description="Missing, unknown or revoked token.")}
    if write or filtered:
        errors[400] = VALIDATION_ERRORS
    if write:
        errors[403] = OpenApiResponse(DetailErrorSerializer, description="The token is read-only.")
        errors[409] = OpenApiResponse(DetailErrorSerializer, description="A concurrent write of the same key; retry.")
    if lookup:
        errors[404] = OpenApiResponse(DetailErrorSerializer, description="No such row.")
    elif filtered:
        errors[404] = OpenApiResponse(DetailErrorSerializer, description="`page` is past the last page.")
    return errors


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


# --- ingest resources ------------------------------------------------------------------------


def ingest_viewset_schema(*, tag: str, plural: str, singular: str, lookup: str, key_note: str, request, response):
    """The three actions of an ingest viewset: list, retrieve, create (one object or a list)."""
    body = one_or_list(request, f"{request.__name__.removesuffix('Serializer')}OneOrList")
    answer = one_or_list(response, f"{response.__name__.removesuffix('Serializer')}OneOrList")
    return extend_schema_view(
        list=extend_schema(
            tags=[tag],
            summary=f"List {plural}",
            description=f"Filtered with the query parameters below, paged with `?page=` and `?page_size=` "
            f"(at most 1000). {TOKEN_NOTE}",
            responses={200: response, **ingest_errors(filtered=True)},
        ),
        retrieve=extend_schema(
            tags=[tag],
            summary=f"One {singular} by {lookup}",
            responses={200: response, **ingest_errors(lookup=True)},
        ),
        create=extend_schema(
            tags=[tag],
            summary=f"Create or update {plural}",
            description=f"One object or a JSON list of at most {settings.INGEST_MAX_BATCH}, all-or-nothing. "
            f"{key_note} Needs a token that is not read-only.",
            request=body,
            responses={
                201: OpenApiResponse(answer, description="At least one row was created."),
                200: OpenApiResponse(answer, description="Every item updated or replaced a stored row."),
                **ingest_errors(write=True),
            },
        ),
    )


def document_viewset(target: str, decorator) -> type[OpenApiViewExtension]:
    """Register an extension that swaps `target` for a documented subclass while the schema is generated."""

    class Documented(OpenApiViewExtension):
        target_class = target

        def view_replacement(self):
            view = type(self.target_class.__name__, (self.target_class,), {"__doc__": None})
            return decorator(view)

    Documented.__name__ = Documented.__qualname__ = f"Documented{target.rsplit('.', 1)[-1]}"
    return Documented


def _catalogue(view: str, plural: str, singular: str, key: str, serializer: str, lookup: str = "id"):
    klass = getattr(api_serializers, serializer)
    if key:
        key_note = f"Keyed by {key}: posting an existing key updates the other fields."
    else:
        key_note = "Every item is a new row."
    document_viewset(
        f"insights.api.views.{view}",
        ingest_viewset_schema(
            tag="catalogue" if view != "RollbackViewSet" else "rollbacks",
            plural=plural,
            singular=singular,
            lookup=lookup,
            key_note=key_note,
            request=klass,
            response=klass,
        ),
    )


def register_ingest_views() -> None:
    _catalogue("ProjectViewSet", "projects", "project", "`key`", "ProjectSerializer", lookup="key")
    _catalogue("ClusterViewSet", "clusters", "cluster", "`name`", "ClusterSerializer", lookup="name")
    _catalogue("EnvironmentViewSet", "environments", "environment", "`project` + `name`", "EnvironmentSerializer")
    _catalogue("ServiceViewSet", "services", "service", "`project` + `name`", "ServiceSerializer")
    _catalogue("WorkflowViewSet", "workflows", "workflow", "`project` + `name`", "WorkflowSerializer")
    _catalogue("ArtifactViewSet", "artifacts", "artifact", "", "ArtifactSerializer")
    _catalogue("RollbackViewSet", "rollback records", "rollback record", "", "RollbackSerializer")
    document_viewset(
        "insights.api.runs.WorkflowRunViewSet",
        ingest_viewset_schema(
            tag="workflow runs",
            plural="workflow runs",
            singular="workflow run",
            lookup="id",
            key_note="Keyed by `id`: re-posting an id replaces that run and all its jobs (post at start, again "
            "at the end). Times are ISO 8601 with an offset; an unknown workflow name is created.",
            request=WorkflowRunInputSerializer,
            response=WorkflowRunSerializer,
        ),
    )


# --- Zadig statistics ------------------------------------------------------------------------


class ZadigOverviewSerializer(serializers.Serializer):
    project_count = serializers.IntegerField(min_value=0)
    cluster_count = serializers.IntegerField(min_value=0)
    service_count = serializers.IntegerField(min_value=0)
    workflow_count = serializers.IntegerField(min_value=0)
    env_count = serializers.IntegerField(min_value=0)
    artifact_count = serializers.IntegerField(min_value=0)


class ZadigDailySuccessSerializer(serializers.Serializer):
    date = serializers.DateField()
    success = serializers.IntegerField(min_value=0)
    failure = serializers.IntegerField(min_value=0, help_text="failed + timeout")
    total = serializers.IntegerField(min_value=0)


class ZadigSuccessStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField(min_value=0)
    success = serializers.IntegerField(min_value=0)
    data = ZadigDailySuccessSerializer(many=True, help_text="One row per day of the range, ascending, zero-filled.")


class ZadigTestWeekSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The week's last day.")
    success_count = serializers.IntegerField(min_value=0)
    timeout_count = serializers.IntegerField(min_value=0)
    failed_count = serializers.IntegerField(min_value=0, help_text="Excludes timeouts.")


class ZadigTestStatsSerializer(serializers.Serializer):
    case_count = serializers.IntegerField(min_value=0, help_text="Latest case count of each selected test module.")
    exec_count = serializers.IntegerField(min_value=0)
    success_count = serializers.IntegerField(min_value=0)
    average_runtime = serializers.IntegerField(min_value=0, help_text="Whole seconds, rounded half up.")
    data = ZadigTestWeekSerializer(many=True, help_text="7-day buckets anchored on the last day, newest first.")


class ZadigReleaseDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    total = serializers.IntegerField(min_value=0)
    success_count = serializers.IntegerField(min_value=0)
    fail_count = serializers.IntegerField(min_value=0, help_text="failed + timeout")


class ZadigReleaseStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField(min_value=0)
    success_count = serializers.IntegerField(min_value=0)
    daily_stat = ZadigReleaseDaySerializer(many=True, help_text="Every day the range touches, ascending.")


class ZadigContainerSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    type = serializers.CharField(allow_blank=True, help_text='"" or "init".')
    image = serializers.CharField(allow_blank=True)
    image_name = serializers.CharField(allow_blank=True)


class ZadigServiceSnapshotSerializer(serializers.Serializer):
    service_name = serializers.CharField(allow_blank=True)
    release_name = serializers.CharField(allow_blank=True)
    containers = ZadigContainerSerializer(many=True)
    rendered_yaml = serializers.CharField(allow_blank=True)
    values_yaml = serializers.CharField(allow_blank=True)
    override_values = serializers.CharField(allow_blank=True)
    update_time = serializers.IntegerField(min_value=0, help_text="Unix seconds; 0 when unknown.")


class ZadigCreateBySerializer(serializers.Serializer):
    uid = serializers.CharField(allow_blank=True)
    account = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    identity_type = serializers.CharField(allow_blank=True)


class ZadigRollbackRecordSerializer(serializers.Serializer):
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


def describe_api(result, generator, request, public):
    """The long description lives here rather than in settings."""
    result["info"]["description"] = API_DESCRIPTION
    return result


register_ingest_views()
register_zadig_views()

"""`/api/v1/workflow-runs/`: POST one run or a list (each replaces any run with its id), GET list/retrieve.

A POST body is shape-checked by `insights.api.run_items` (types, choices, times with offsets, which
fields a status requires), by hand for speed; the input serializers below state the same rules, for
the OpenAPI schema and as the reference tests/insights/test_run_items.py holds the hand path to.
`insights.ingest` checks what needs the database and writes the batch.
"""

import django_filters as filters
from django.db.models import Prefetch
from django.utils import timezone
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from common.api.filters import AwareDateTimeFilter
from insights.api.filters import MultiValueCharFilter, MultiValueChoiceFilter
from insights.api.run_items import (
    DATETIME_MESSAGES,
    JOB_FIELDS,
    MAX_POSITIVE_INT,
    BadDateTime,
    parse_aware_datetime,
    validate_runs,
)
from insights.api.serializers import (
    BatchListSerializer,
    PositionalListSerializer,
    RejectUnknownFieldsMixin,
    StrictCharField,
    StrictChoiceField,
)
from insights.ingest import StoredRun, ingest_workflow_runs
from insights.models import FINAL_STATUSES, Job, Status, WorkflowRun, job_times_error


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit offset (or Z); a naive time is ambiguous, so it is refused (team rule)."""

    default_error_messages = DATETIME_MESSAGES

    def to_internal_value(self, value):
        try:
            return parse_aware_datetime(value)
        except BadDateTime as exc:
            self.fail(exc.key)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: no numeric string, no 2.0, no boolean (a count written as text is a client bug)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class JobInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """One job of a run. A job with a final status (`passed`, `failed`, `timeout`) needs `started_at`
    and `finished_at`, at most 31 days apart; a `test` job needs `test_module`. `environment` and
    `service` must name ones of the run's project."""

    name = StrictCharField(max_length=200)
    type = StrictChoiceField(choices=Job.Type.choices)
    status = StrictChoiceField(choices=Status.choices)
    started_at = AwareDateTimeField(required=False, allow_null=True)
    finished_at = AwareDateTimeField(required=False, allow_null=True)
    environment = StrictCharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    service = StrictCharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    test_module = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    case_count = StrictIntegerField(min_value=0, max_value=MAX_POSITIVE_INT, required=False, allow_null=True)

    class Meta:
        list_serializer_class = PositionalListSerializer

    def validate(self, attrs):
        """A counted job needs both times (its day and duration come from them); a test job its module."""
        errors = {}
        if attrs["status"] in FINAL_STATUSES:
            for field in ("started_at", "finished_at"):
                if attrs.get(field) is None:
                    errors[field] = [f"Required when status is {attrs['status']!r}."]
        started, finished = attrs.get("started_at"), attrs.get("finished_at")
        if message := job_times_error(started, finished):
            errors["finished_at"] = [message]
        if attrs["type"] == Job.Type.TEST and not attrs.get("test_module"):
            errors["test_module"] = ["Required for a job of type 'test'."]
        if errors:
            raise ValidationError(errors)
        return attrs


# A list goes through BatchListSerializer: at most INGEST_MAX_BATCH items, one error entry per item,
# an id only once.
class WorkflowRunInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A workflow run as a CI system posts it, with its jobs. Posting a known `id` replaces that run and
    all its jobs. Times are ISO 8601 with an offset, between 2000-01-01 and 2100-01-01 UTC."""

    batch_key = ("id",)
    id = StrictCharField(max_length=200)
    project = StrictCharField(max_length=64, help_text="project key")
    workflow = StrictCharField(max_length=200, help_text="workflow name; created when unknown")
    status = StrictChoiceField(choices=Status.choices)
    created_at = AwareDateTimeField()
    jobs = JobInputSerializer(many=True, required=False)

    class Meta:
        list_serializer_class = BatchListSerializer

    def validate(self, attrs):
        attrs.setdefault("jobs", [])
        return attrs


class JobSerializer(serializers.ModelSerializer):
    """One job of a stored run, in the order posted."""

    environment = serializers.SlugRelatedField(slug_field="name", read_only=True)
    service = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Job
        fields = list(JOB_FIELDS)  # the fields a posted job may carry, echoed in the same order
        read_only_fields = fields


class WorkflowRunSerializer(serializers.ModelSerializer):
    """A stored workflow run with its jobs; `received_at` is when it was last posted."""

    project = serializers.SlugRelatedField(slug_field="key", read_only=True)
    workflow = serializers.SlugRelatedField(slug_field="name", read_only=True)
    jobs = JobSerializer(many=True, read_only=True)

    class Meta:
        model = WorkflowRun
        fields = ["id", "project", "workflow", "status", "created_at", "received_at", "jobs"]
        read_only_fields = fields


class WorkflowRunFilterSet(filters.FilterSet):
    """`?project=<key>&workflow=<name>&status=&created_at__gte=...` (repeatable; times with offset)."""

    id = MultiValueCharFilter()
    project = MultiValueCharFilter(field_name="project__key", label="project key")
    workflow = MultiValueCharFilter(field_name="workflow__name", label="workflow name")
    status = MultiValueChoiceFilter(choices=Status.choices)
    created_at__gte = AwareDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at__gt = AwareDateTimeFilter(field_name="created_at", lookup_expr="gt")
    created_at__lte = AwareDateTimeFilter(field_name="created_at", lookup_expr="lte")
    created_at__lt = AwareDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = WorkflowRun
        fields = []


class WorkflowRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """POST one run or a list of at most INGEST_MAX_BATCH (201 when any run is new, 200 when all
    replaced stored runs); GET lists runs newest first, GET `<id>/` one run with its jobs."""

    queryset = (
        WorkflowRun.objects.select_related("project", "workflow")
        .prefetch_related(
            Prefetch("jobs", queryset=Job.objects.select_related("environment", "service").order_by("position", "id"))
        )
        .order_by("-created_at", "id")
    )
    serializer_class = WorkflowRunSerializer
    filterset_class = WorkflowRunFilterSet
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "id"]
    lookup_value_regex = r"[^/]+"

    def get_object(self):
        # A NUL (%00) can be in no stored id, and PostgreSQL refuses it in a query.
        if "\x00" in self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""):
            raise NotFound()
        return super().get_object()

    def create(self, request, *args, **kwargs):
        many = isinstance(request.data, list)
        items = validate_runs(request.data)
        try:
            stored = ingest_workflow_runs(items)
        except ValidationError as exc:
            raise exc if many else ValidationError(exc.detail[0]) from None
        body = echo(items, stored)
        answer = status.HTTP_201_CREATED if any(run.created for run in stored) else status.HTTP_200_OK
        return Response(body if many else body[0], status=answer)


def echo(items: list[dict], stored: list[StoredRun]) -> list[dict]:
    """The stored runs as `WorkflowRunSerializer` renders them, built from the validated items
    (what was written) without model instances: a serializer pass cost ~0.3 s per 1,000 runs.
    Names stand for the rows they were resolved to (an empty environment or service is none)."""
    zone = timezone.get_current_timezone()

    def when(value):
        # DRF's DateTimeField: the current zone, ISO 8601, UTC as Z.
        if value is None:
            return None
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return [
        {
            "id": item["id"],
            "project": item["project"],
            "workflow": item["workflow"],
            "status": item["status"],
            "created_at": when(item["created_at"]),
            "received_at": when(run.received_at),
            "jobs": [
                {
                    "name": job["name"],
                    "type": job["type"],
                    "status": job["status"],
                    "started_at": when(job.get("started_at")),
                    "finished_at": when(job.get("finished_at")),
                    "environment": job.get("environment") or None,
                    "service": job.get("service") or None,
                    "test_module": job.get("test_module") or "",
                    "case_count": job.get("case_count"),
                }
                for job in item["jobs"]
            ],
        }
        for item, run in zip(items, stored, strict=True)
    ]

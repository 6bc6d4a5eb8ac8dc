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
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from common.api.filters import AwareDateTimeFilter
from common.api.views import IngestCountingMixin
from insights.api import run_edits
from insights.api.filters import MultiValueCharFilter, MultiValueChoiceFilter
from insights.api.run_items import (
    COMMIT_FIELDS,
    DATETIME_MESSAGES,
    JOB_FIELDS,
    MAX_POSITIVE_INT,
    RUN_FIELDS,
    BadDateTime,
    Invalid,
    commit_sha,
    parse_aware_datetime,
    parse_commit_time,
    repeated_commits,
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
from insights.models import (
    FINAL_STATUSES,
    MAX_BRANCH,
    MAX_COMMIT_MESSAGE,
    MAX_COMMITS,
    Commit,
    Job,
    Status,
    WorkflowRun,
    job_times_error,
)


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


class CommitTimeField(serializers.Field):
    """Unix seconds (a JSON integer) or ISO 8601 with an offset, as a commit's time is given."""

    default_error_messages = DATETIME_MESSAGES

    def to_internal_value(self, value):
        try:
            return parse_commit_time(value)
        except BadDateTime as exc:
            self.fail(exc.key)

    def to_representation(self, value):
        return serializers.DateTimeField().to_representation(value)


class CommitInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A commit the run built. `repo` + `sha` may appear once per run; a run carries at most 1,000."""

    sha = StrictCharField(max_length=64, help_text="The commit id: 40 (SHA-1) or 64 (SHA-256) hex characters.")
    repo = StrictCharField(max_length=200, help_text="The repository, e.g. owner/name; sha + repo once per run.")
    committed_at = CommitTimeField(help_text="When it was committed: ISO 8601 with an offset, or Unix seconds.")
    author = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    message = StrictCharField(max_length=MAX_COMMIT_MESSAGE, required=False, allow_blank=True, default="")

    class Meta:
        list_serializer_class = PositionalListSerializer

    def validate_sha(self, value):
        try:
            return commit_sha(value)
        except Invalid as exc:
            raise ValidationError(exc.detail) from None


# A list goes through BatchListSerializer: at most INGEST_MAX_BATCH items, one error entry per item,
# an id only once.
class WorkflowRunInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A workflow run as a CI system posts it, with its jobs and the commits it built. Posting a known `id`
    replaces that run with all its jobs and commits. Times are ISO 8601 with an offset, between 2000-01-01
    and 2100-01-01 UTC."""

    batch_key = ("id",)
    id = StrictCharField(max_length=200)
    project = StrictCharField(max_length=64, help_text="project key")
    workflow = StrictCharField(max_length=200, help_text="workflow name; created when unknown")
    status = StrictChoiceField(choices=Status.choices)
    created_at = AwareDateTimeField()
    branch = StrictCharField(
        max_length=MAX_BRANCH, required=False, allow_blank=True, default="", help_text="the branch or ref the run built"
    )
    jobs = JobInputSerializer(many=True, required=False)
    commits = CommitInputSerializer(many=True, required=False, max_length=MAX_COMMITS)

    class Meta:
        list_serializer_class = BatchListSerializer

    def validate(self, attrs):
        attrs.setdefault("jobs", [])
        attrs.setdefault("commits", [])
        if repeated := repeated_commits(attrs["commits"]):
            raise ValidationError({"commits": repeated})
        return {name: attrs[name] for name in RUN_FIELDS}  # one key order, as run_items gives it


class JobSerializer(serializers.ModelSerializer):
    """One job of a stored run, in the order posted."""

    environment = serializers.SlugRelatedField(slug_field="name", read_only=True)
    service = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Job
        fields = list(JOB_FIELDS)  # the fields a posted job may carry, echoed in the same order
        read_only_fields = fields


class CommitSerializer(serializers.ModelSerializer):
    """A commit the run built, as posted: lead time is measured from its `committed_at`."""

    class Meta:
        model = Commit
        fields = list(COMMIT_FIELDS)  # as posted, in the same order
        read_only_fields = fields


class WorkflowRunSerializer(serializers.ModelSerializer):
    """A stored workflow run with its jobs; `received_at` is when it was last posted."""

    project = serializers.SlugRelatedField(slug_field="key", read_only=True)
    workflow = serializers.SlugRelatedField(slug_field="name", read_only=True)
    jobs = JobSerializer(many=True, read_only=True)
    commits = CommitSerializer(many=True, read_only=True)

    class Meta:
        model = WorkflowRun
        fields = ["id", "project", "workflow", "status", "created_at", "branch", "received_at", "jobs", "commits"]
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


class WorkflowRunViewSet(
    IngestCountingMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """POST one run or a list of at most INGEST_MAX_BATCH (201 when any run is new, 200 when all
    replaced stored runs); GET lists runs newest first, GET `<id>/` one run with its jobs; PATCH and
    DELETE `<id>/` and `<id>/jobs/<position>/` edit what was posted (`insights.api.run_edits`)."""

    ingest_kind = "workflow_runs"

    queryset = (
        WorkflowRun.objects.select_related("project", "workflow")
        .prefetch_related(
            Prefetch("jobs", queryset=Job.objects.select_related("environment", "service").order_by("position", "id")),
            Prefetch("commits", queryset=Commit.objects.order_by("id")),
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

    def partial_update(self, request, *args, **kwargs):
        """PATCH `<id>/`: the fields given replace the stored ones (`jobs`, if given, whole); see run_edits."""
        run_edits.patch_run(self._current(), request.data)
        return Response(self._current())

    def destroy(self, request, *args, **kwargs):
        run_edits.delete_run(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["patch", "delete"], url_path=r"jobs/(?P<position>[0-9]{1,6})")
    def job(self, request, position: str, *args, **kwargs):
        """PATCH or DELETE `<id>/jobs/<position>/`: one job, by its place in the run's `jobs` (0 first)."""
        if request.method == "DELETE":
            run_edits.delete_job(self._current(), int(position))
            return Response(status=status.HTTP_204_NO_CONTENT)
        run_edits.patch_job(self._current(), int(position), request.data)
        return Response(self._current())

    def _current(self) -> dict:
        """The run as GET shows it, read afresh (after an edit: as stored)."""
        return WorkflowRunSerializer(self.get_object()).data

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
            "branch": item["branch"],
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
            "commits": [{**commit, "committed_at": when(commit["committed_at"])} for commit in item["commits"]],
        }
        for item, run in zip(items, stored, strict=True)
    ]

"""Tables of the Zadig-compatible insights: raw facts, their daily rollups, and API tokens.

Raw rows (runs, jobs, rollbacks) are the truth; `DailyJobStat` is derived from them and can be
rebuilt at any time; `DailyJobTotal` sums it over projects. `DirtyJobDay` lists the (project, day)
buckets whose rollup is out of date.
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

key_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    "Use letters, digits, '-', '_' and '.', starting with a letter or digit.",
)


class Project(models.Model):
    key = models.CharField(max_length=64, unique=True, validators=[key_validator])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.key


class Cluster(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Environment(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="environments")
    name = models.CharField(max_length=200)
    production = models.BooleanField(default=False)
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="environments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__key", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="environment_unique_per_project"),
        ]

    def __str__(self):
        return f"{self.project.key}/{self.name}"


class Service(models.Model):
    class Type(models.TextChoices):
        K8S = "k8s"
        HELM = "helm"
        HELM_CHART = "helm_chart"
        VM = "vm"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=200)
    service_type = models.CharField(max_length=16, choices=Type.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__key", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="service_unique_per_project"),
        ]

    def __str__(self):
        return f"{self.project.key}/{self.name}"


class Workflow(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__key", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="workflow_unique_per_project"),
        ]

    def __str__(self):
        return f"{self.project.key}/{self.name}"


class Artifact(models.Model):
    class Type(models.TextChoices):
        IMAGE = "image"
        FILE = "file"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=8, choices=Type.choices)
    uri = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "created_at"], name="artifact_project_created")]

    def __str__(self):
        return f"{self.project.key}/{self.name}"


class Status(models.TextChoices):
    """Shared by runs and jobs. Only final statuses are counted (passed, failed, timeout)."""

    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    RUNNING = "running"


FINAL_STATUSES = (Status.PASSED, Status.FAILED, Status.TIMEOUT)

# What the API and the admin accept as run and job times. The range keeps a no-date statistics
# answer (first day with data .. today, zero-filled) under 36,600 days; the duration bound keeps a
# day's sum of job durations in microseconds far inside the rollup's bigint (3 million jobs of the
# longest duration in one project and day would still fit), so every accepted row can be rolled up.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
MAX_JOB_DURATION = timedelta(days=31)
TIME_RANGE_MESSAGE = "The date-time must lie between 2000-01-01 and 2100-01-01 (UTC)."
DURATION_MESSAGE = "A job may last at most 31 days (finished_at - started_at)."


def time_in_range(moment: datetime) -> bool:
    try:
        return EARLIEST_TIME <= moment <= LATEST_TIME
    except OverflowError:
        return False


def job_times_error(started: datetime | None, finished: datetime | None) -> str | None:
    """What is wrong with a job's pair of times (order, then length), for both ingest validators."""
    if started is None or finished is None:
        return None
    if finished < started:
        return "Must not be earlier than started_at."
    if finished - started > MAX_JOB_DURATION:
        return DURATION_MESSAGE
    return None


def _check_times(**moments) -> None:
    errors = {name: TIME_RANGE_MESSAGE for name, moment in moments.items() if moment and not time_in_range(moment)}
    if errors:
        raise ValidationError(errors)


MAX_BRANCH = 255  # git refuses longer ref names on most file systems


class WorkflowRun(models.Model):
    """One execution of a workflow, keyed by the CI system's own id so re-posts replace it."""

    id = models.CharField(primary_key=True, max_length=200)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices)
    created_at = models.DateTimeField()
    # What DORA's rework rate reads (a hotfix branch pattern); blank when the CI system gave none.
    branch = models.CharField(max_length=MAX_BRANCH, blank=True, default="")
    received_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["project", "created_at"], name="run_project_created")]

    def __str__(self):
        return self.id

    def clean(self):
        """The API's time rules, for the admin's edits too."""
        _check_times(created_at=self.created_at)


class Job(models.Model):
    class Type(models.TextChoices):
        BUILD = "build"
        DEPLOY = "deploy"
        TEST = "test"
        OTHER = "other"

    # The run's index is declared in Meta: an FK's implicit one to a varchar key comes with a
    # varchar_pattern_ops copy on PostgreSQL that nothing reads and every insert pays for.
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="jobs", db_index=False)
    # Denormalised from the run so the daily statistics read one table by (project, type, time). No
    # index of its own: job_project_type_started leads with it.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs", db_index=False)
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=8, choices=Type.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # RESTRICT, not PROTECT: an environment or service that jobs name cannot be deleted alone (that
    # would rewrite history), but deleting the whole project still cascades through both.
    environment = models.ForeignKey(Environment, null=True, blank=True, on_delete=models.RESTRICT, related_name="jobs")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.RESTRICT, related_name="jobs")
    test_module = models.CharField(max_length=200, blank=True, default="")
    case_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "position", "id"]
        indexes = [
            models.Index(fields=["run"], name="job_run"),
            models.Index(fields=["project", "type", "started_at"], name="job_project_type_started"),
            models.Index(fields=["type", "started_at"], name="job_type_started"),
            # Only test jobs name a module and only they are looked up by it: a fifth of the rows.
            models.Index(
                fields=["project", "test_module", "started_at"],
                name="job_test_module_latest",
                condition=models.Q(type="test"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True)
                | models.Q(started_at__isnull=True)
                | models.Q(finished_at__gte=models.F("started_at")),
                name="job_finished_after_started",
            ),
        ]

    def __str__(self):
        return f"{self.run_id}/{self.name}"

    def clean(self):
        """The API's time and duration rules, for the admin's edits too."""
        _check_times(started_at=self.started_at, finished_at=self.finished_at)
        if self.started_at and self.finished_at and self.finished_at - self.started_at > MAX_JOB_DURATION:
            raise ValidationError({"finished_at": DURATION_MESSAGE})


class TestModule(models.Model):
    """A project's test module; `case_count` is the one its latest test job reported."""

    __test__ = False  # not a pytest test class

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="test_modules")
    name = models.CharField(max_length=200)
    case_count = models.PositiveIntegerField(default=0)
    reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project__key", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="test_module_unique_per_project"),
        ]

    def __str__(self):
        return f"{self.project.key}/{self.name}"


class Rollback(models.Model):
    """A rollback of a service, as Zadig reports it; environment and service may since be gone."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rollbacks")
    env_name = models.CharField(max_length=200)
    env_type = models.CharField(max_length=64, blank=True, default="")
    production = models.BooleanField(default=False)
    operation_type = models.CharField(max_length=64, blank=True, default="")
    service_name = models.CharField(max_length=200)
    service_type = models.CharField(max_length=16, blank=True, default="")
    create_by_uid = models.CharField(max_length=200, blank=True, default="")
    create_by_account = models.CharField(max_length=200, blank=True, default="")
    create_by_name = models.CharField(max_length=200, blank=True, default="")
    create_by_identity_type = models.CharField(max_length=64, blank=True, default="")
    create_time = models.DateTimeField()

    class Meta:
        ordering = ["-create_time", "-id"]
        indexes = [
            models.Index(fields=["create_time", "id"], name="rollback_time"),
            models.Index(fields=["project", "create_time", "id"], name="rollback_project_time"),
            models.Index(fields=["env_name", "create_time"], name="rollback_env_time"),
            models.Index(fields=["service_name", "create_time"], name="rollback_service_time"),
        ]

    def __str__(self):
        return f"{self.project.key}/{self.env_name}/{self.service_name} @ {self.create_time:%Y-%m-%d %H:%M}"


class ServiceSnapshot(models.Model):
    """The service as it was before (`origin`) or after (`update`) a rollback."""

    class Role(models.TextChoices):
        ORIGIN = "origin", "before (origin_service)"
        UPDATE = "update", "after (update_service)"

    rollback = models.ForeignKey(Rollback, on_delete=models.CASCADE, related_name="snapshots")
    role = models.CharField(max_length=8, choices=Role.choices)
    service_name = models.CharField(max_length=200, blank=True, default="")
    release_name = models.CharField(max_length=200, blank=True, default="")
    containers = models.JSONField(default=list, blank=True)
    rendered_yaml = models.TextField(blank=True, default="")
    values_yaml = models.TextField(blank=True, default="")
    override_values = models.TextField(blank=True, default="")
    update_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rollback_id", "role"]
        constraints = [
            models.UniqueConstraint(fields=["rollback", "role"], name="snapshot_one_per_role"),
        ]

    def __str__(self):
        return f"{self.get_role_display()} of rollback {self.rollback_id}"


class JobKind(models.TextChoices):
    """The rollup's job kinds: a production deploy is counted both as deploy and as release."""

    BUILD = "build"
    DEPLOY = "deploy"
    RELEASE = "release", "deploy to production"
    TEST = "test"


class JobCounts(models.Model):
    """The counted jobs of a bucket, shared by the per-project and the all-projects daily rows."""

    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    timeout = models.PositiveIntegerField(default=0)
    # Sum of finished_at - started_at over counted jobs, in microseconds (exact for the mean).
    duration_us = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DailyJobStat(JobCounts):
    """Counted jobs of one kind, per project and local day; recomputed whole, never incremented."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    kind = models.CharField(max_length=8, choices=JobKind.choices)

    class Meta:
        ordering = ["project_id", "day", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["project", "day", "kind"], name="daily_job_stat_bucket"),
        ]
        indexes = [
            models.Index(fields=["kind", "day"], name="daily_job_stat_kind_day"),
            # PostgreSQL only (Django skips it elsewhere): re-summing a day's DailyJobTotal rows, and the
            # all-projects series on days with a dirty mark, read these columns from the index alone.
            models.Index(
                fields=["kind", "day"],
                include=["passed", "failed", "timeout", "duration_us"],
                name="daily_job_stat_kind_day_sums",
            ),
        ]

    def __str__(self):
        return f"{self.project_id} {self.day} {self.kind}"


class DailyJobTotal(JobCounts):
    """`DailyJobStat` summed over all projects per (local day, kind), for the unfiltered series.

    Recomputed whole from the `DailyJobStat` rows of its day whenever any bucket of that day is
    recomputed (never incremented); readers use it only for days without any `DirtyJobDay` mark,
    when every row it sums is exact.
    """

    day = models.DateField()
    kind = models.CharField(max_length=8, choices=JobKind.choices)

    class Meta:
        ordering = ["day", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "day"], name="daily_job_total_bucket"),
        ]

    def __str__(self):
        return f"all projects {self.day} {self.kind}"


MAX_COMMITS = 1_000  # per run: a push of more is a merge of history, not what one run built
MAX_COMMIT_MESSAGE = 65_535


class Commit(models.Model):
    """A commit a workflow run built, with the time it was committed: what change lead time is measured
    from (the first successful production deployment that shipped it, minus `committed_at`)."""

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="commits", db_index=False)
    repo = models.CharField(max_length=200)
    sha = models.CharField(max_length=64, help_text="40 (SHA-1) or 64 (SHA-256) lowercase hex characters")
    committed_at = models.DateTimeField()
    author = models.CharField(max_length=200, blank=True, default="")
    message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "repo", "sha"], name="commit_once_per_run")]
        indexes = [models.Index(fields=["sha"], name="commit_sha")]

    def __str__(self):
        return f"{self.repo}@{self.sha[:12]}"


class DirtyJobDay(models.Model):
    """A (project, local day) whose rollup rows must be recomputed from raw jobs."""

    project_pk = models.BigIntegerField()  # no FK: the project may be deleted meanwhile
    day = models.DateField()
    marked_at = models.DateTimeField(auto_now=True)
    # Set when a recompute of this bucket failed (common.rollup_failures); cleared by a new write.
    attempts = models.PositiveIntegerField(db_default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, db_default="")

    class Meta:
        ordering = ["marked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project_pk", "day"], name="dirty_job_day_bucket"),
        ]

    def __str__(self):
        return f"project {self.project_pk} on {self.day}"


# The sources' models live beside their code; importing them here registers them with the app.
from insights.sources.models import Delivery, Source  # noqa: E402, F401

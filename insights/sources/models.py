"""A connected system (`Source`) and what it sent (`Delivery`)."""

import fnmatch

from django.db import models
from django.utils import timezone

from insights.models import Job, Project

DEFAULT_ENVIRONMENT_PATTERN = "prod*"
# (pattern, job type), first match wins, on the job's name and then its labels, case-insensitively.
DEFAULT_JOB_TYPES = [
    ["*deploy*", "deploy"],
    ["*release*", "deploy"],
    ["*test*", "test"],
    ["*lint*", "test"],
    ["*check*", "test"],
    ["*build*", "build"],
    ["*compile*", "build"],
    ["*package*", "build"],
]


def default_job_types() -> list:
    return [list(rule) for rule in DEFAULT_JOB_TYPES]


class Source(models.Model):
    """One connected system: where its webhooks post (`/hooks/<name>/`) or what `sync_zadig` pulls."""

    class Kind(models.TextChoices):
        GITHUB = "github"
        GITLAB = "gitlab"
        ZADIG = "zadig"

    name = models.SlugField(max_length=64, unique=True, help_text="the last part of the webhook URL")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    enabled = models.BooleanField(default=True, help_text="a disabled source's deliveries get 404 and are not stored")
    project = models.ForeignKey(
        Project,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sources",
        help_text="every run goes to this project; blank: a project per repository, named after it",
    )
    # GitHub's secret and Zadig's token are encrypted (they are needed in clear to sign and to call);
    # GitLab's token is only compared, so only its SHA-256 is kept. See insights.sources.secrets.
    secret = models.TextField(blank=True, default="", editable=False)
    url = models.URLField(blank=True, default="", help_text="Zadig: the server's address")
    environment_pattern = models.CharField(
        max_length=200,
        default=DEFAULT_ENVIRONMENT_PATTERN,
        help_text="environments whose name matches (shell pattern, case-insensitive) are created as production",
    )
    job_types = models.JSONField(
        default=default_job_types,
        blank=True,
        help_text='[pattern, type] pairs tried in order on a job\'s name, then its labels: e.g. [["*e2e*", "test"]]; '
        'no match: "other"',
    )
    workflows = models.JSONField(
        default=list, blank=True, help_text="Zadig: the workflow keys to sync; empty: every workflow of the project"
    )
    cursor = models.JSONField(
        default=dict, blank=True, editable=False, help_text="Zadig: per workflow, where sync stopped"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True, editable=False)
    accepted_count = models.PositiveBigIntegerField(default=0, editable=False)
    refused_count = models.PositiveBigIntegerField(default=0, editable=False)
    last_error = models.TextField(blank=True, default="", editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.kind})"

    def record_error(self, message: str, **counts) -> None:
        """Keep `message` (one line, at most 500 characters) as the source's last error, with `counts` (F()
        increments) in the same UPDATE: what the admin index shows for every kind of failure."""
        Source.objects.filter(pk=self.pk).update(last_error=message[:500], last_error_at=timezone.now(), **counts)

    def is_production(self, environment: str) -> bool:
        return fnmatch.fnmatch(environment.lower(), (self.environment_pattern or DEFAULT_ENVIRONMENT_PATTERN).lower())

    def job_type(self, name: str, labels=()) -> str:
        """The job type the source's mapping gives a job's name, else its labels; "other" when none does."""
        rules = [(str(pattern).lower(), kind) for pattern, kind in (self.job_types or []) if kind in Job.Type.values]
        for candidate in (name, *labels):
            candidate = str(candidate).lower()
            for pattern, kind in rules:
                if fnmatch.fnmatch(candidate, pattern):
                    return kind
        return Job.Type.OTHER


class Delivery(models.Model):
    """One payload a source sent (or sync fetched), stored raw before it is applied so it can be replayed."""

    class State(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        IGNORED = "ignored"  # an event no mapper reads: recorded, never applied
        FAILED = "failed"

    class Subject(models.TextChoices):
        RUN = "run"  # describes a run: folded into it
        PUSH = "push"  # commits for the runs that build its head
        NONE = "none"  # a ping

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=200, help_text="the sender's delivery id: a redelivery repeats it")
    event = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)
    body = models.TextField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True, default="")
    applied_at = models.DateTimeField(null=True, blank=True)
    # Read from the payload at receipt (mapper.read), so applying finds a run's deliveries by index.
    subject = models.CharField(max_length=4, choices=Subject.choices, default=Subject.NONE)
    run_key = models.CharField(max_length=300, blank=True, default="")
    head_sha = models.CharField(max_length=64, blank=True, default="")
    occurred_at = models.DateTimeField(
        null=True, blank=True, help_text="the event's own time: orders a run's deliveries"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["source", "delivery_id"], name="delivery_once_per_source")]
        indexes = [
            models.Index(fields=["source", "run_key"], name="delivery_run"),
            models.Index(fields=["source", "head_sha"], name="delivery_head"),
            models.Index(fields=["state", "received_at"], name="delivery_state"),
            models.Index(fields=["received_at"], name="delivery_received"),
        ]

    def __str__(self):
        return f"{self.source.name} {self.event} {self.delivery_id}"

"""Workflow runs and their jobs, the tables that grow without bound.

A job carries its run's project (denormalised), so the admins set it on save instead of offering it
in the form; recomputes are queued and exports streamed, so a large selection stays cheap.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models

from common.admin import BigTableAdmin
from common.admin_actions import EmptyTableHintMixin, export_csv_action, iso
from insights.admin_actions import recompute_jobs
from insights.models import Commit, Job, WorkflowRun


def format_duration(started_at, finished_at) -> str:
    if not started_at or not finished_at:
        return "-"
    seconds = int((finished_at - started_at).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class JobForm(forms.ModelForm):
    """A deploy job may only name an environment and a service of its run's project."""

    class Meta:
        model = Job
        fields = (
            "run",
            "position",
            "name",
            "type",
            "status",
            "started_at",
            "finished_at",
            "environment",
            "service",
            "test_module",
            "case_count",
        )

    def clean(self):
        cleaned = super().clean()
        run = cleaned.get("run") or getattr(self.instance, "run", None)
        if run is None:
            return cleaned
        for field in ("environment", "service"):
            value = cleaned.get(field)
            if value is not None and value.project_id != run.project_id:
                self.add_error(field, ValidationError(f"{value} does not belong to project {run.project}."))
        started, finished = cleaned.get("started_at"), cleaned.get("finished_at")
        if started and finished and finished < started:
            self.add_error("finished_at", ValidationError("Finished before it started."))
        return cleaned


class CommitInline(admin.TabularInline):
    """The commits the run built (posted with it); lead times are measured from their `committed_at`."""

    model = Commit
    extra = 0
    fields = ("repo", "sha", "committed_at", "author", "message")
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 1, "cols": 40})}}


class JobInline(admin.TabularInline):
    model = Job
    form = JobForm
    extra = 0
    fields = JobForm.Meta.fields[1:]  # the job's own fields: the run is the page's
    autocomplete_fields = ("environment", "service")
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("environment__project", "service__project")


class WorkflowRunForm(forms.ModelForm):
    class Meta:
        model = WorkflowRun
        fields = ("id", "project", "workflow", "status", "created_at")

    def clean(self):
        cleaned = super().clean()
        project, workflow = cleaned.get("project"), cleaned.get("workflow")
        if project and workflow and workflow.project_id != project.pk:
            self.add_error("workflow", ValidationError(f"{workflow} does not belong to project {project}."))
        return cleaned


def _name(attribute: str, field: str = "name"):
    """A CSV getter for a related row's natural key (empty when there is none)."""

    def value(row):
        target = getattr(row, attribute)
        return "" if target is None else getattr(target, field)

    return value


RUN_COLUMNS = [
    ("id", lambda run: run.id),
    ("project", _name("project", "key")),
    ("workflow", _name("workflow")),
    ("status", lambda run: run.status),
    ("created_at", lambda run: iso(run.created_at)),
    ("received_at", lambda run: iso(run.received_at)),
]
JOB_COLUMNS = [
    ("id", lambda job: job.id),
    ("run", lambda job: job.run_id),
    ("project", _name("project", "key")),
    ("position", lambda job: job.position),
    ("name", lambda job: job.name),
    ("type", lambda job: job.type),
    ("status", lambda job: job.status),
    ("started_at", lambda job: iso(job.started_at)),
    ("finished_at", lambda job: iso(job.finished_at)),
    (
        "duration_seconds",
        lambda job: (job.finished_at - job.started_at).total_seconds() if job.started_at and job.finished_at else "",
    ),
    ("environment", _name("environment")),
    ("service", _name("service")),
    ("test_module", lambda job: job.test_module),
    ("case_count", lambda job: "" if job.case_count is None else job.case_count),
]


@admin.action(description="Recompute the rollups of the selected runs", permissions=["change"])
def recompute_run_rollups(modeladmin, request, queryset):
    recompute_jobs(request, Job.objects.filter(run__in=queryset.values("pk")))


@admin.action(description="Recompute the rollups of the selected jobs", permissions=["change"])
def recompute_job_rollups(modeladmin, request, queryset):
    recompute_jobs(request, Job.objects.filter(pk__in=queryset.values("pk")))


@admin.register(WorkflowRun)
class WorkflowRunAdmin(EmptyTableHintMixin, BigTableAdmin):
    empty_hint = "No workflow runs yet."
    actions = (
        recompute_run_rollups,
        export_csv_action("workflow-runs.csv", RUN_COLUMNS, related=("project", "workflow")),
    )
    form = WorkflowRunForm
    list_display = ("id", "project", "workflow", "status", "created_at", "received_at")
    list_filter = ("status", "project")
    search_fields = ("=id", "workflow__name", "project__key")
    autocomplete_fields = ("project", "workflow")
    list_select_related = ("project", "workflow__project")
    readonly_fields = ("received_at",)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "id")
    inlines = (JobInline, CommitInline)

    class Media:
        css = {"all": ["pages/admin-forms.css"]}

    def get_readonly_fields(self, request, obj=None):
        # The id is the CI system's key: settable when adding, fixed afterwards.
        return (*self.readonly_fields, "id") if obj else self.readonly_fields

    def save_formset(self, request, form, formset, change):
        """Jobs carry their run's project (denormalised); set it, then save each job one by one."""
        for job in formset.save(commit=False):
            job.project_id = form.instance.project_id
            job.save()
        for job in formset.deleted_objects:
            job.delete()
        formset.save_m2m()


@admin.register(Job)
class JobAdmin(EmptyTableHintMixin, BigTableAdmin):
    empty_hint = "No jobs yet: they arrive inside workflow runs."
    actions = (
        recompute_job_rollups,
        export_csv_action("jobs.csv", JOB_COLUMNS, related=("project", "environment", "service")),
    )
    form = JobForm
    list_display = (
        "id",
        "name",
        "run",
        "project",
        "type",
        "status",
        "started_at",
        "duration",
        "environment",
        "service",
        "test_module",
        "case_count",
    )
    list_filter = ("type", "status", "project", "environment__production")
    search_fields = ("=run__id", "name", "test_module")
    autocomplete_fields = ("run", "environment", "service")
    list_select_related = ("project", "run", "environment__project", "service__project")
    readonly_fields = ("project",)
    date_hierarchy = "started_at"
    # The primary key is the only cheap order on a big table; sorting is limited to indexed columns.
    ordering = ("-id",)
    sortable_by = ("id",)

    @admin.display(description="duration")
    def duration(self, job):
        return format_duration(job.started_at, job.finished_at)

    def save_model(self, request, obj, form, change):
        obj.project_id = obj.run.project_id
        super().save_model(request, obj, form, change)


@admin.register(Commit)
class CommitAdmin(BigTableAdmin):
    """Every commit a run was posted with, findable by sha; edited with its run (the run page)."""

    list_display = ("repo", "sha", "committed_at", "author", "run")
    list_filter = ("repo",)
    search_fields = ("=sha", "repo", "run__id")
    list_select_related = ("run",)
    raw_id_fields = ("run",)
    date_hierarchy = "committed_at"

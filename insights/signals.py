"""Keep the daily job rollup and test modules current when rows change one by one (admin, shell).

Every save/delete of a job marks the buckets of its state before and after, and recomputes the
test modules it belonged to. Bulk ingest marks explicitly and runs inside `muted()`, so the
handlers stay out of its way (no second marking, no per-row queries).
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from insights.dirty import mark_job_days, zone
from insights.models import FINAL_STATUSES, DirtyJobDay, Environment, Job, Project, WorkflowRun
from insights.rollups import JOB_STATE, jobs_changed

_muted: ContextVar[bool] = ContextVar("insights_signals_muted", default=False)


@contextmanager
def muted():
    """Within this block the handlers do nothing: the caller marks what it touched itself."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def _state(job: Job) -> dict:
    state = {field: getattr(job, field) for field in JOB_STATE}
    if state["started_at"] is not None and timezone.is_naive(state["started_at"]):
        state["started_at"] = timezone.make_aware(state["started_at"], zone())
    return state


@receiver(pre_save, sender=Job, dispatch_uid="insights_job_pre_save")
def job_before_save(sender, instance: Job, raw=False, **kwargs):
    if not raw and instance.run_id is not None:
        # Job.project is denormalised from its run: keep it equal whatever the form said.
        instance.project_id = WorkflowRun.objects.values_list("project_id", flat=True).get(pk=instance.run_id)
    if _muted.get():
        return
    before = None
    if instance.pk is not None:
        before = Job.objects.filter(pk=instance.pk).values(*JOB_STATE).first()
    instance._insights_before = before


@receiver(post_save, sender=Job, dispatch_uid="insights_job_post_save")
def job_after_save(sender, instance: Job, **kwargs):
    if _muted.get():
        return
    jobs_changed([instance.__dict__.pop("_insights_before", None), _state(instance)])


def _deleting_project(origin) -> bool:
    """A project delete cascades to everything it owns, rollup rows included: nothing to mark."""
    if isinstance(origin, QuerySet):
        return origin.model is Project
    return isinstance(origin, Project)


@receiver(post_delete, sender=Job, dispatch_uid="insights_job_post_delete")
def job_after_delete(sender, instance: Job, origin=None, **kwargs):
    if _muted.get() or _deleting_project(origin):
        return
    jobs_changed([_state(instance)])


@receiver(pre_save, sender=WorkflowRun, dispatch_uid="insights_run_pre_save")
def run_before_save(sender, instance: WorkflowRun, **kwargs):
    if _muted.get():
        return
    instance._insights_project_before = (
        WorkflowRun.objects.filter(pk=instance.pk).values_list("project_id", flat=True).first()
    )


@receiver(post_save, sender=WorkflowRun, dispatch_uid="insights_run_post_save")
def run_after_save(sender, instance: WorkflowRun, **kwargs):
    """A run moved to another project takes its jobs along: both projects' buckets change."""
    before = instance.__dict__.pop("_insights_project_before", None)
    if _muted.get() or before is None or before == instance.project_id:
        return
    jobs = Job.objects.filter(run_id=instance.pk)
    old_states = list(jobs.order_by("id").values(*JOB_STATE))
    jobs.update(project_id=instance.project_id)
    jobs_changed(old_states + [{**state, "project_id": instance.project_id} for state in old_states])


@receiver(pre_save, sender=Environment, dispatch_uid="insights_environment_pre_save")
def environment_before_save(sender, instance: Environment, **kwargs):
    if _muted.get() or instance.pk is None:
        instance._insights_production_before = None
        return
    instance._insights_production_before = (
        Environment.objects.filter(pk=instance.pk).values_list("production", flat=True).first()
    )


@receiver(post_save, sender=Environment, dispatch_uid="insights_environment_post_save")
def environment_after_save(sender, instance: Environment, **kwargs):
    """Flipping `production` moves every counted deploy to this environment in or out of 'release'."""
    before = instance.__dict__.pop("_insights_production_before", None)
    if _muted.get() or before is None or before == instance.production:
        return
    days = (
        Job.objects.filter(
            environment_id=instance.pk, type=Job.Type.DEPLOY, status__in=FINAL_STATUSES, started_at__isnull=False
        )
        .annotate(day=TruncDate("started_at", tzinfo=zone()))
        .values_list("project_id", "day")
        .order_by()
        .distinct()
    )
    mark_job_days(days)


@receiver(post_delete, sender=Project, dispatch_uid="insights_project_post_delete")
def project_after_delete(sender, instance: Project, **kwargs):
    """Rollup rows and test modules cascade with the project; its dirty marks have no FK: drop them."""
    DirtyJobDay.objects.filter(project_pk=instance.pk).delete()

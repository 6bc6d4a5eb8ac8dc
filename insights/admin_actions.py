"""The admin's recompute action on runs and jobs.

It goes through the same dirty-bucket functions as every other write (`insights.dirty`): the buckets
are marked and the recompute task is scheduled after commit, inline without a broker, on a worker with
one. So a large selection never recomputes inside the request.
"""

from django.contrib import messages
from django.db.models.functions import TruncDate

from insights.dirty import mark_job_days, zone
from insights.models import FINAL_STATUSES, Job
from insights.module_cases import recompute_test_modules


def job_buckets(jobs) -> set[tuple[int, object]]:
    """(project, local day) of every counted job in `jobs`, computed by the database."""
    counted = jobs.filter(status__in=FINAL_STATUSES, started_at__isnull=False)
    days = counted.annotate(day=TruncDate("started_at", tzinfo=zone())).values_list("project_id", "day")
    return set(days.order_by().distinct())


def recompute_jobs(request, jobs) -> None:
    """Mark the daily buckets of `jobs` dirty (their recompute follows the commit) and refresh the test
    modules they name."""
    buckets = job_buckets(jobs)
    modules = set(
        jobs.filter(type=Job.Type.TEST).exclude(test_module="").values_list("project_id", "test_module").distinct()
    )
    mark_job_days(buckets)
    recompute_test_modules(modules)
    messages.success(
        request,
        f"{len(buckets)} project-day bucket(s) marked for recompute and {len(modules)} test module(s) refreshed; "
        "the daily rollups are recomputed now (inline) or by a worker when a broker is configured.",
    )

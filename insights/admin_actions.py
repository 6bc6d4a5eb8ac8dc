"""Admin helpers for the big raw tables: export the selection as CSV, recompute its rollups, and tell an
operator looking at an empty table where data comes from.

The recompute goes through the same dirty-bucket functions as every other write (`insights.dirty`,
`cdnorigin.dirty`): the buckets are marked and the recompute task is scheduled after commit, inline
without a broker, on a worker with one. So a large selection never recomputes inside the request.
"""

import csv
from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.db.models.functions import TruncDate
from django.http import StreamingHttpResponse
from django.utils import timezone

from insights.charts import safe_cell
from insights.dirty import mark_job_days, zone
from insights.models import FINAL_STATUSES, Job
from insights.rollups import recompute_test_modules

EXPORT_CHUNK = 2000
DATA_SOURCES = (
    "`make run` loads demo data into an empty database (manage.py seed_demo); CI systems post to the ingest "
    "API under /api/v1/ (described at /api/docs/); nginx access logs go in with manage.py import_origin_log."
)

Column = tuple[str, Callable]


class _Echo:
    """A file-like object whose write() returns the line, so csv.writer can feed a streaming response."""

    def write(self, value):
        return value


def iso(moment) -> str:
    return timezone.localtime(moment).isoformat() if moment else ""


def csv_response(filename: str, columns: list[Column], rows: Iterable) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    lines = (writer.writerow([safe_cell(value(row)) for _, value in columns]) for row in rows)
    header = writer.writerow([safe_cell(name) for name, _ in columns])
    response = StreamingHttpResponse(_prepend(header, lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _prepend(first, rest):
    yield first
    yield from rest


def export_csv_action(filename: str, columns: list[Column], related=(), prefetch=()):
    """An admin action streaming the selected rows (in primary-key order) as CSV, `columns` = (header, getter);
    `related`/`prefetch` are what the getters read, fetched in bulk."""

    @admin.action(description="Export selected %(verbose_name_plural)s as CSV", permissions=["view"])
    def export_csv(modeladmin, request, queryset):
        selected = queryset.select_related(*related).prefetch_related(*prefetch)
        rows = selected.order_by("pk").iterator(chunk_size=EXPORT_CHUNK)
        return csv_response(filename, columns, rows)

    return export_csv


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


class EmptyTableHintMixin:
    """An empty changelist says where rows come from instead of showing a bare "0 rows"."""

    empty_hint = ""

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET" and not self.model._default_manager.exists():
            messages.info(request, f"{self.empty_hint} {DATA_SOURCES}")
        return super().changelist_view(request, extra_context)

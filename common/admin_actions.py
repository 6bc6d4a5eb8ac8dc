"""Admin helpers for the big raw tables of both apps: export the selection as CSV, and tell an operator
looking at an empty table where data comes from."""

import csv
from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.http import StreamingHttpResponse
from django.utils import timezone

from common.charts import safe_cell

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


class EmptyTableHintMixin:
    """An empty changelist says where rows come from instead of showing a bare "0 rows"."""

    empty_hint = ""

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET" and not self.model._default_manager.exists():
            messages.info(request, f"{self.empty_hint} {DATA_SOURCES}")
        return super().changelist_view(request, extra_context)

"""Admin bases both apps' tables use, and the admin of the API tokens.

Secrets (token hashes) are never rendered: a token is shown by its prefix and owner only.
"""

from datetime import date, datetime, timedelta

from django.contrib import admin
from django.db import models
from django.utils import timezone

from common.models import ApiToken

admin.site.site_header = "Insights service administration"
admin.site.site_title = "Insights service admin"
admin.site.index_title = "Raw data, rollups and credentials"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Derived data: viewable, never added, changed or deleted by hand (rebuild_rollups owns it)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RangeDatesQuerySet(models.QuerySet):
    """The admin's date drill-down asks for the DISTINCT years/months/days of a column: a full scan
    of a table with millions of rows. This offers every period between the first and the last row
    instead (two index-friendly aggregates); a period without rows simply lists nothing."""

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        bounds = self.aggregate(first=models.Min(field_name), last=models.Max(field_name))
        if bounds["first"] is None:
            return []
        zone = tzinfo or timezone.get_current_timezone()
        first, last = bounds["first"].astimezone(zone).date(), bounds["last"].astimezone(zone).date()
        periods = [datetime.combine(day, datetime.min.time(), tzinfo=zone) for day in period_starts(first, last, kind)]
        return periods if order == "ASC" else periods[::-1]


def period_starts(first: date, last: date, kind: str) -> list[date]:
    """First days of the years, months or days from the one containing `first` to the one containing `last`."""
    if kind == "year":
        return [date(year, 1, 1) for year in range(first.year, last.year + 1)]
    if kind == "month":
        months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
        return [date(index // 12, index % 12 + 1, 1) for index in months]
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


class BigTableAdmin(admin.ModelAdmin):
    """A table that grows without bound: no full count, and a date drill-down without DISTINCT scans."""

    show_full_result_count = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request).all()
        queryset.__class__ = RangeDatesQuerySet  # same state, cheaper datetimes()
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by `create_api_token` (the raw token is shown once, there). Here they can
    be made read-only or revoked (deleted); the stored hash is never displayed."""

    list_display = ("prefix", "user", "read_only", "created_at", "last_used_at")
    list_filter = ("read_only",)
    search_fields = ("prefix", "user__username")
    list_select_related = ("user",)
    fields = ("user", "prefix", "read_only", "created_at", "last_used_at")
    readonly_fields = ("user", "prefix", "created_at", "last_used_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

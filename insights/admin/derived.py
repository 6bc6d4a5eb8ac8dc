"""Tables the rollups derive from raw rows: read-only, since the next recompute would overwrite an edit."""

from django.contrib import admin

from common.admin import ReadOnlyAdmin
from insights.models import DailyJobStat, DailyJobTotal, DirtyJobDay, TestModule


@admin.register(TestModule)
class TestModuleAdmin(ReadOnlyAdmin):
    """Recomputed from the latest test job of each module; correct the job instead."""

    list_display = ("name", "project", "case_count", "reported_at")
    list_filter = ("project",)
    search_fields = ("name", "project__key")
    list_select_related = ("project",)
    date_hierarchy = "reported_at"


@admin.register(DailyJobStat)
class DailyJobStatAdmin(ReadOnlyAdmin):
    list_display = ("day", "project", "kind", "passed", "failed", "timeout", "mean_duration")
    list_filter = ("kind", "project")
    search_fields = ("project__key",)
    list_select_related = ("project",)
    date_hierarchy = "day"
    ordering = ("-day", "project_id", "kind")
    show_full_result_count = False

    @admin.display(description="mean duration (s)")
    def mean_duration(self, stat):
        counted = stat.passed + stat.failed + stat.timeout
        return round(stat.duration_us / counted / 1_000_000, 1) if counted else "-"


@admin.register(DailyJobTotal)
class DailyJobTotalAdmin(ReadOnlyAdmin):
    list_display = ("day", "kind", "passed", "failed", "timeout")
    list_filter = ("kind",)
    date_hierarchy = "day"
    ordering = ("-day", "kind")


@admin.register(DirtyJobDay)
class DirtyJobDayAdmin(ReadOnlyAdmin):
    list_display = ("project_pk", "day", "marked_at")
    search_fields = ("=project_pk",)
    date_hierarchy = "marked_at"

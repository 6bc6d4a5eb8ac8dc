"""The operator's view of the CDN origin tables.

Minute samples (with their status counts, edited as a JSON object and validated) are raw data and
may be corrected (each save goes through the model, so the class sums and the rollups follow).
Rollups, dirty buckets and the imported-log ledger are derived and read-only. An access key's secret
is never rendered, anywhere.
"""

import json

from django import forms
from django.contrib import admin, messages

from cdnorigin.dirty import mark_pairs_dirty
from cdnorigin.models import (
    AccessKey,
    CdnAccount,
    DirtyOriginBucket,
    Domain,
    DomainGrant,
    ImportedLog,
    OriginRollup,
    OriginSample,
)
from common.admin import BigTableAdmin, ReadOnlyAdmin
from common.admin_actions import EmptyTableHintMixin, export_csv_action


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    date_hierarchy = "created_at"


class StatusCountsField(forms.JSONField):
    """The sample's status counts as a JSON object, checked by the model's validator on save."""

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=1, sort_keys=True)
        return super().prepare_value(value)


class OriginSampleForm(forms.ModelForm):
    status = StatusCountsField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 40}),
        help_text='Requests per three-digit status code (100..599), e.g. {"200": 10, "404": 2}.',
    )

    class Meta:
        model = OriginSample
        fields = ("domain", "minute", "flux", "pv", "status")

    def clean_status(self):
        return self.cleaned_data.get("status") or {}


SAMPLE_COLUMNS = [
    ("domain", lambda sample: sample.domain.name),
    ("timestamp", lambda sample: int(sample.minute.timestamp())),
    ("flux", lambda sample: sample.flux),
    ("pv", lambda sample: sample.pv),
    ("status", lambda sample: json.dumps(sample.status, sort_keys=True)),
]


@admin.action(description="Recompute the rollups of the selected samples", permissions=["change"])
def recompute_sample_rollups(modeladmin, request, queryset):
    """Marks the samples' 5-minute buckets dirty; the recompute follows the commit (inline without a broker)."""
    marked = mark_pairs_dirty(queryset.order_by().values_list("domain_id", "minute").iterator(chunk_size=2000))
    messages.success(
        request,
        f"{marked} five-minute bucket(s) marked for recompute; their 5-minute, hour and day rollups are "
        "recomputed now (inline) or by a worker when a broker is configured.",
    )


@admin.register(OriginSample)
class OriginSampleAdmin(EmptyTableHintMixin, BigTableAdmin):
    empty_hint = "No origin samples yet."
    actions = (
        recompute_sample_rollups,
        export_csv_action("origin-samples.csv", SAMPLE_COLUMNS, related=("domain",)),
    )
    list_display = ("minute", "domain", "flux", "pv", "statuses")
    list_filter = ("domain",)
    search_fields = ("domain__name",)
    autocomplete_fields = ("domain",)
    list_select_related = ("domain",)
    date_hierarchy = "minute"
    # Both orders are served by the (minute) index and the (domain, minute) unique index.
    ordering = ("-minute", "-domain_id")
    sortable_by = ("minute",)
    form = OriginSampleForm
    fields = ("domain", "minute", "flux", "pv", "status")

    @admin.display(description="status counts")
    def statuses(self, sample):
        return ", ".join(f"{code}: {count}" for code, count in sorted(sample.status.items()))


@admin.register(OriginRollup)
class OriginRollupAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ("start", "domain", "interval", "flux", "pv", "peak_flux_5m", "peak_pv_5m", "status")
    list_filter = ("interval", "domain")
    search_fields = ("domain__name",)
    list_select_related = ("domain",)
    date_hierarchy = "start"
    ordering = ("-start", "domain_id", "interval")
    sortable_by = ("start",)


@admin.register(DirtyOriginBucket)
class DirtyOriginBucketAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ("domain_pk", "start", "marked_at")
    search_fields = ("=domain_pk",)
    date_hierarchy = "start"


@admin.register(ImportedLog)
class ImportedLogAdmin(ReadOnlyAdmin):
    """The ledger that stops a log from being counted twice; deleting a row would allow exactly that."""

    list_display = ("file_name", "domain", "sha256", "lines", "samples", "skipped", "imported_at")
    list_filter = ("domain",)
    search_fields = ("file_name", "=sha256", "domain__name")
    list_select_related = ("domain",)
    date_hierarchy = "imported_at"


class DomainGrantInline(admin.TabularInline):
    model = DomainGrant
    extra = 0
    autocomplete_fields = ("domain",)


class AccessKeyInline(admin.TabularInline):
    """The account's keys, to see and deactivate them; new keys come from `create_access_key`."""

    model = AccessKey
    extra = 0
    fields = ("access_key_id", "active", "created_at", "last_used_at")
    readonly_fields = ("access_key_id", "created_at", "last_used_at")
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CdnAccount)
class CdnAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "is_sub_account", "created_at")
    list_filter = ("is_sub_account",)
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    inlines = (DomainGrantInline, AccessKeyInline)


@admin.register(DomainGrant)
class DomainGrantAdmin(admin.ModelAdmin):
    list_display = ("account", "domain")
    list_filter = ("domain",)
    search_fields = ("account__user__username", "domain__name")
    autocomplete_fields = ("account", "domain")
    list_select_related = ("account__user", "domain")


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    """Keys are issued by `create_access_key`, which prints the secret once; here a key can be
    deactivated or deleted. The secret is excluded from every list, form and read-only field."""

    list_display = ("access_key_id", "account", "active", "created_at", "last_used_at")
    list_filter = ("active",)
    search_fields = ("access_key_id", "account__user__username")
    list_select_related = ("account__user",)
    fields = ("access_key_id", "account", "active", "created_at", "last_used_at")
    readonly_fields = ("access_key_id", "account", "created_at", "last_used_at")
    exclude = ("secret",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

"""Sources and their deliveries. A source's secret is never shown: the admin can only generate a new one,
shown once in the message after saving. Deliveries are read-only evidence; the action applies them again."""

from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html

from common.admin import ReadOnlyAdmin
from insights.sources import secrets
from insights.sources.apply import apply_again
from insights.sources.models import Delivery, Source
from insights.sources.services import hook_url


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "enabled", "project", "last_delivery_at", "accepted_count", "refused_count")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    list_select_related = ("project",)
    readonly_fields = (
        "endpoint",
        "created_at",
        "last_delivery_at",
        "accepted_count",
        "refused_count",
        "last_error",
        "last_error_at",
        "cursor",
    )
    actions = ["new_secret"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request, obj=None):
        # The kind decides how the secret is kept: it is set once.
        return ("kind", *self.readonly_fields) if obj else self.readonly_fields

    @admin.display(description="webhook URL")
    def endpoint(self, source):
        if source.pk is None or source.kind == Source.Kind.ZADIG:
            return "-"
        return hook_url(source)

    def save_model(self, request, obj, form, change):
        fresh = not change and not obj.secret and obj.kind != Source.Kind.ZADIG
        clear = secrets.new_secret() if fresh else None
        if clear:
            obj.secret = secrets.keep(obj.kind, clear)
        super().save_model(request, obj, form, change)
        if clear:
            self._show_secret(request, obj, clear)
        if not change and obj.kind == Source.Kind.ZADIG:
            messages.warning(request, "Set the Zadig token with: python manage.py add_source zadig --rotate ...")

    def _show_secret(self, request, source, clear):
        messages.success(
            request,
            format_html(
                "Webhook URL <code>{}</code>, secret <code>{}</code> (shown this once).", hook_url(source), clear
            ),
        )

    @admin.action(description="Generate a new secret (the old one stops working)")
    def new_secret(self, request, queryset):
        for source in queryset.exclude(kind=Source.Kind.ZADIG):
            clear = secrets.new_secret()
            Source.objects.filter(pk=source.pk).update(secret=secrets.keep(source.kind, clear))
            self._show_secret(request, source, clear)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "source", "event", "delivery_id", "state", "run_key", "error")
    list_filter = ("state", "event", "source")
    search_fields = ("=delivery_id", "run_key", "=head_sha")
    list_select_related = ("source",)
    date_hierarchy = "received_at"
    show_full_result_count = False
    actions = ["apply_again"]

    @admin.action(description="Apply again (failed ones included)")
    def apply_again(self, request, queryset):
        states = apply_again(queryset)
        summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items())) or "nothing applied"
        messages.info(request, f"Applied again: {summary}.")

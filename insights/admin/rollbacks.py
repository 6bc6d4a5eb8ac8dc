"""Rollback records and the two service snapshots (before and after) each one keeps.

Snapshots hold YAML and JSON an operator reads rather than types, so they are shown monospaced and indented.
"""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from insights.models import Rollback, ServiceSnapshot


class PrettyJSONField(forms.JSONField):
    """Indented JSON, so a snapshot's containers read as a list rather than one long line."""

    def prepare_value(self, value):
        if isinstance(value, str):  # invalid input shown back as typed
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)


def monospace(rows: int) -> forms.Textarea:
    # A class, not style="...": the Content-Security-Policy's style-src 'self' refuses style attributes.
    return forms.Textarea(attrs={"rows": rows, "class": "monospace", "spellcheck": "false"})


class ServiceSnapshotForm(forms.ModelForm):
    containers = PrettyJSONField(required=False, widget=monospace(8))

    class Media:
        css = {"all": ["pages/admin-forms.css"]}

    class Meta:
        model = ServiceSnapshot
        fields = (
            "rollback",
            "role",
            "service_name",
            "release_name",
            "containers",
            "rendered_yaml",
            "values_yaml",
            "override_values",
            "update_time",
        )
        widgets = {
            "rendered_yaml": monospace(20),
            "values_yaml": monospace(10),
            "override_values": monospace(4),
        }

    def clean_containers(self):
        containers = self.cleaned_data.get("containers")
        if containers in (None, ""):
            return []
        if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
            raise ValidationError('A JSON list of objects, e.g. [{"name": "app", "type": "", "image": "..."}].')
        return containers


class ServiceSnapshotInline(admin.StackedInline):
    model = ServiceSnapshot
    form = ServiceSnapshotForm
    extra = 0
    max_num = 2
    fields = (
        ("role", "service_name", "release_name", "update_time"),
        "containers",
        "rendered_yaml",
        "values_yaml",
        "override_values",
    )


@admin.register(Rollback)
class RollbackAdmin(admin.ModelAdmin):
    list_display = (
        "create_time",
        "project",
        "env_name",
        "production",
        "service_name",
        "service_type",
        "create_by_account",
    )
    list_filter = ("production", "service_type", "env_type", "project")
    search_fields = ("service_name", "env_name", "project__key", "create_by_account", "create_by_name")
    autocomplete_fields = ("project",)
    list_select_related = ("project",)
    date_hierarchy = "create_time"
    fieldsets = (
        (None, {"fields": ("project", "create_time", ("env_name", "env_type", "production"))}),
        (None, {"fields": (("service_name", "service_type"), "operation_type")}),
        (
            "Created by",
            {
                "fields": (
                    ("create_by_account", "create_by_name"),
                    ("create_by_uid", "create_by_identity_type"),
                )
            },
        ),
    )
    inlines = (ServiceSnapshotInline,)


@admin.register(ServiceSnapshot)
class ServiceSnapshotAdmin(admin.ModelAdmin):
    form = ServiceSnapshotForm
    list_display = ("id", "rollback", "role", "service_name", "release_name", "update_time")
    list_filter = ("role",)
    search_fields = ("service_name", "release_name", "rollback__service_name")
    autocomplete_fields = ("rollback",)
    list_select_related = ("rollback__project",)
    date_hierarchy = "update_time"

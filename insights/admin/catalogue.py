"""The catalogue every run refers to: projects, clusters, environments, services, workflows, artifacts."""

from django.contrib import admin

from insights.models import Artifact, Cluster, Environment, Project, Service, Workflow


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "created_at")
    search_fields = ("key", "name")
    date_hierarchy = "created_at"


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    date_hierarchy = "created_at"


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "production", "cluster", "created_at")
    list_filter = ("production", "project", "cluster")
    search_fields = ("name", "project__key", "cluster__name")
    autocomplete_fields = ("project", "cluster")
    list_select_related = ("project", "cluster")
    date_hierarchy = "created_at"


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "service_type", "created_at")
    list_filter = ("service_type", "project")
    search_fields = ("name", "project__key")
    autocomplete_fields = ("project",)
    list_select_related = ("project",)
    date_hierarchy = "created_at"


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "created_at")
    list_filter = ("project",)
    search_fields = ("name", "project__key")
    autocomplete_fields = ("project",)
    list_select_related = ("project",)
    date_hierarchy = "created_at"


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "type", "uri", "created_at")
    list_filter = ("type", "project")
    search_fields = ("name", "uri", "project__key")
    autocomplete_fields = ("project",)
    list_select_related = ("project",)
    date_hierarchy = "created_at"

"""The OpenAPI description of this app's `/api/v1/` ingest resources (drf-spectacular), attached to the
views with `OpenApiViewExtension`s so the views stay code only. Imported by `InsightsConfig.ready`,
which is when drf-spectacular must know its extensions; the Zadig statistics are in `zadig_schema`.
"""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes

from common.api.filters import MAX_UNIX_SECONDS
from common.api.schema import document_viewset, ingest_viewset_schema
from insights.api import serializers as api_serializers
from insights.api import zadig_schema  # noqa: F401 (registers the Zadig views' documentation)
from insights.api.runs import WorkflowRunInputSerializer, WorkflowRunSerializer


class UnixSecondsFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "insights.api.serializers.UnixSecondsField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            **build_basic_type(OpenApiTypes.INT64),
            "minimum": 0,
            "maximum": MAX_UNIX_SECONDS,
            "description": "Unix seconds.",
        }


def _catalogue(view: str, plural: str, singular: str, key: str, serializer: str, lookup: str = "id"):
    klass = getattr(api_serializers, serializer)
    if key:
        key_note = f"Keyed by {key}: posting an existing key updates the other fields."
    else:
        key_note = "Every item is a new row."
    document_viewset(
        f"insights.api.views.{view}",
        ingest_viewset_schema(
            tag="catalogue" if view != "RollbackViewSet" else "rollbacks",
            plural=plural,
            singular=singular,
            lookup=lookup,
            key_note=key_note,
            request=klass,
            response=klass,
            conflict=True,
        ),
    )


def register_ingest_views() -> None:
    _catalogue("ProjectViewSet", "projects", "project", "`key`", "ProjectSerializer", lookup="key")
    _catalogue("ClusterViewSet", "clusters", "cluster", "`name`", "ClusterSerializer", lookup="name")
    _catalogue("EnvironmentViewSet", "environments", "environment", "`project` + `name`", "EnvironmentSerializer")
    _catalogue("ServiceViewSet", "services", "service", "`project` + `name`", "ServiceSerializer")
    _catalogue("WorkflowViewSet", "workflows", "workflow", "`project` + `name`", "WorkflowSerializer")
    _catalogue("ArtifactViewSet", "artifacts", "artifact", "", "ArtifactSerializer")
    _catalogue("RollbackViewSet", "rollback records", "rollback record", "", "RollbackSerializer")
    document_viewset(
        "insights.api.runs.WorkflowRunViewSet",
        ingest_viewset_schema(
            tag="workflow runs",
            plural="workflow runs",
            singular="workflow run",
            lookup="id",
            key_note="Keyed by `id`: re-posting an id replaces that run and all its jobs (post at start, again "
            "at the end). Times are ISO 8601 with an offset; an unknown workflow name is created.",
            request=WorkflowRunInputSerializer,
            response=WorkflowRunSerializer,
        ),
    )


register_ingest_views()

"""The OpenAPI description of this app's `/api/v1/` ingest resources (drf-spectacular), attached to the
views with `OpenApiViewExtension`s so the views stay code only. Imported by `InsightsConfig.ready`,
which is when drf-spectacular must know its extensions; the Zadig statistics are in `zadig_schema`.
"""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from common.api.filters import MAX_UNIX_SECONDS
from common.api.schema import document_viewset, edit_schemas, ingest_errors, ingest_viewset_schema
from insights.api import serializers as api_serializers
from insights.api import zadig_schema  # noqa: F401 (registers the Zadig views' documentation)
from insights.api.runs import JobInputSerializer, WorkflowRunInputSerializer, WorkflowRunSerializer


class UnixSecondsFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "insights.api.serializers.UnixSecondsField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            **build_basic_type(OpenApiTypes.INT64),
            "minimum": 0,
            "maximum": MAX_UNIX_SECONDS,
            "description": "Unix seconds.",
        }


class CommitTimeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "insights.api.runs.CommitTimeField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "oneOf": [
                {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset."},
                {**build_basic_type(OpenApiTypes.INT64), "minimum": 946_684_800, "maximum": 4_102_444_800},
            ],
            "description": "When it was committed: ISO 8601 with an offset, or Unix seconds; 2000 to 2100.",
        }


def _catalogue(view: str, plural: str, singular: str, key: str, serializer: str, lookup: str = "id", edits=None):
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
            edits=edits,
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
    _catalogue(
        "RollbackViewSet",
        "rollback records",
        "rollback record",
        "",
        "RollbackSerializer",
        edits=edit_schemas(
            tag="rollbacks",
            singular="rollback record",
            patch_request=api_serializers.RollbackSerializer(partial=True),
            response=api_serializers.RollbackSerializer,
            patch_note="The fields given replace the stored ones; inside `origin_service`, `update_service` and "
            "`create_by` only the keys given. The result is checked as a POST is; `id` cannot change.",
            delete_note="The record and its two service snapshots.",
        ),
    )
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
            edits={
                **edit_schemas(
                    tag="workflow runs",
                    singular="workflow run",
                    patch_request=WorkflowRunInputSerializer(partial=True),
                    response=WorkflowRunSerializer,
                    patch_note="The fields given replace the stored ones (`jobs`, if given, the whole list); the "
                    "run is then re-posted, checked as a POST is, and its statistics follow. `id` cannot change.",
                    delete_note="The run and its jobs; their days' statistics follow.",
                ),
                "job": _job_action(),
            },
        ),
    )


def _job_action() -> list:
    position = OpenApiParameter("position", int, OpenApiParameter.PATH, description="The job's place, 0 first.")
    return [
        extend_schema(
            methods=["PATCH"],
            parameters=[position],
            tags=["workflow runs"],
            summary="Change one job of a run",
            description="`position` is the job's place in the run's `jobs` as GET shows them, 0 first. The fields "
            "given replace the job's; the run is re-posted, checked as a POST is, and the statistics follow.",
            request=JobInputSerializer(partial=True),
            responses={200: WorkflowRunSerializer, **ingest_errors(write=True, lookup=True)},
        ),
        extend_schema(
            methods=["DELETE"],
            parameters=[position],
            tags=["workflow runs"],
            summary="Delete one job of a run",
            description="The jobs after it move up one position; the statistics follow.",
            responses={204: OpenApiResponse(description="Deleted."), **ingest_errors(write=True, lookup=True)},
        ),
    ]


register_ingest_views()

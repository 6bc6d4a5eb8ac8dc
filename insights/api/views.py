"""Viewsets of the `/api/v1/` catalogue resources: list (ordered, filtered, paged), retrieve, create.

POST takes one object or a JSON list (all-or-nothing). The answer mirrors the input (an object or
a list in input order); its status is 201 when the request created at least one row and 200 when
every item named a row that already existed (keyed resources update it in place).
"""

from django.db import IntegrityError
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response

from common.api.serializers import merged_patch
from common.api.views import IngestCountingMixin, NulSafeLookupMixin
from insights import services
from insights.api import filters, serializers
from insights.models import Artifact, Cluster, Environment, Project, Rollback, Service, Workflow


class ConcurrentWrite(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Another request wrote the same key at the same moment; nothing was written, retry."
    default_code = "conflict"


class IngestViewSet(
    IngestCountingMixin, NulSafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Rows of one catalogue resource: listed (filtered, paged), retrieved one by one, created or updated
    by POST (one object or a list, all-or-nothing)."""

    write = None  # the services function that stores a list of validated items

    def create(self, request, *args, **kwargs):
        many = isinstance(request.data, list)
        serializer = self.get_serializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data if many else [serializer.validated_data]
        try:
            written = self.write(items)
        except IntegrityError as exc:
            raise ConcurrentWrite() from exc
        rows = [row for row, _ in written]
        body = self.get_serializer(rows, many=True).data if many else self.get_serializer(rows[0]).data
        created = any(was_created for _, was_created in written)
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ProjectViewSet(IngestViewSet):
    """Retrieve by key: `/api/v1/projects/<key>/`."""

    ingest_kind = "projects"
    queryset = Project.objects.all()
    serializer_class = serializers.ProjectSerializer
    filterset_class = filters.ProjectFilterSet
    ordering_fields = ["id", "key", "name", "created_at"]
    lookup_field = "key"
    lookup_value_regex = r"[^/]+"
    write = staticmethod(services.upsert_projects)


class ClusterViewSet(IngestViewSet):
    """Retrieve by name: `/api/v1/clusters/<name>/`."""

    ingest_kind = "clusters"
    queryset = Cluster.objects.all()
    serializer_class = serializers.ClusterSerializer
    filterset_class = filters.ClusterFilterSet
    ordering_fields = ["id", "name", "created_at"]
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"
    write = staticmethod(services.upsert_clusters)


class EnvironmentViewSet(IngestViewSet):
    ingest_kind = "environments"
    queryset = Environment.objects.select_related("project", "cluster")
    serializer_class = serializers.EnvironmentSerializer
    filterset_class = filters.EnvironmentFilterSet
    ordering_fields = ["id", "project__key", "name", "production", "created_at"]
    write = staticmethod(services.upsert_environments)


class ServiceViewSet(IngestViewSet):
    ingest_kind = "services"
    queryset = Service.objects.select_related("project")
    serializer_class = serializers.ServiceSerializer
    filterset_class = filters.ServiceFilterSet
    ordering_fields = ["id", "project__key", "name", "service_type", "created_at"]
    write = staticmethod(services.upsert_services)


class WorkflowViewSet(IngestViewSet):
    ingest_kind = "workflows"
    queryset = Workflow.objects.select_related("project")
    serializer_class = serializers.WorkflowSerializer
    filterset_class = filters.WorkflowFilterSet
    ordering_fields = ["id", "project__key", "name", "created_at"]
    write = staticmethod(services.upsert_workflows)


class ArtifactViewSet(IngestViewSet):
    ingest_kind = "artifacts"
    queryset = Artifact.objects.select_related("project")
    serializer_class = serializers.ArtifactSerializer
    filterset_class = filters.ArtifactFilterSet
    ordering_fields = ["id", "project__key", "name", "type", "created_at"]
    write = staticmethod(services.create_artifacts)


class RollbackViewSet(IngestViewSet):
    """Records in the seed's shape plus `id`; newest `create_time` first. PATCH `<id>/` replaces the
    fields given (in `origin_service`, `update_service` and `create_by`, the keys given) and checks the
    result as a POST is checked; DELETE `<id>/` removes the record with its snapshots."""

    ingest_kind = "rollbacks"
    queryset = Rollback.objects.select_related("project").prefetch_related("snapshots")
    serializer_class = serializers.RollbackSerializer
    filterset_class = filters.RollbackFilterSet
    ordering_fields = ["id", "create_time"]
    write = staticmethod(services.create_rollbacks)

    def partial_update(self, request, *args, **kwargs):
        rollback = self.get_object()
        current = self.get_serializer(rollback).data
        serializer = self.get_serializer(data=merged_patch(current, request.data, fixed=("id",)))
        serializer.is_valid(raise_exception=True)
        services.update_rollback(rollback, serializer.validated_data)
        return Response(self.get_serializer(self.get_object()).data)

    def destroy(self, request, *args, **kwargs):
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

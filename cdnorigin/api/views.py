"""Viewsets of the `/api/v1/cdn/` resources: list, retrieve and create (POST) only."""

from django.db import transaction
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from cdnorigin.api.filters import DomainFilter
from cdnorigin.api.serializers import DomainSerializer
from cdnorigin.models import Domain
from common.api.views import IngestCountingMixin, NulSafeLookupMixin


class DomainViewSet(
    IngestCountingMixin, NulSafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """`/api/v1/cdn/domains/`: POST one object or a list (keyed by `name`: 201 when anything was
    created, 200 when every name was already known); GET `/api/v1/cdn/domains/<name>/`."""

    ingest_kind = "cdn_domains"

    queryset = Domain.objects.order_by("name")
    serializer_class = DomainSerializer
    filterset_class = DomainFilter
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"

    def get_object(self):
        self.kwargs[self.lookup_field] = self.kwargs[self.lookup_field].lower()
        return super().get_object()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data, many=isinstance(request.data, list))
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            serializer.save()
        answer = status.HTTP_201_CREATED if serializer.created else status.HTTP_200_OK
        return Response(serializer.data, status=answer)

"""Viewsets of the `/api/v1/cdn/` resources: list, retrieve, create (POST); a domain can also be renamed
(PATCH) and deleted with all its data (DELETE)."""

from django.db import transaction
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cdnorigin import domain_edits
from cdnorigin.api.filters import DomainFilter
from cdnorigin.api.serializers import DomainSerializer
from cdnorigin.models import Domain
from common.api.views import IngestCountingMixin, NulSafeLookupMixin


class DomainViewSet(
    IngestCountingMixin, NulSafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """`/api/v1/cdn/domains/`: POST one object or a list (keyed by `name`: 201 when anything was
    created, 200 when every name was already known); GET, PATCH `{"name"}` (rename) and DELETE (the
    domain, its samples and rollups) `/api/v1/cdn/domains/<name>/`."""

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

    def partial_update(self, request, *args, **kwargs):
        domain = self.get_object()
        serializer = self.get_serializer(domain, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        name = serializer.validated_data.get("name", domain.name)
        if name != domain.name and Domain.objects.filter(name=name).exists():
            raise ValidationError({"name": [f"A domain named {name} exists already; delete one of the two first."]})
        return Response(self.get_serializer(domain_edits.rename_domain(domain, name)).data)

    def destroy(self, request, *args, **kwargs):
        domain_edits.delete_domain(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

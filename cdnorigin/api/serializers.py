"""Serializers of the `/api/v1/cdn/` resources."""

import re

from django.conf import settings
from django.db import transaction
from rest_framework import serializers

from cdnorigin.models import Domain
from common.api.serializers import PositionalListSerializer, RejectUnknownFieldsMixin

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalise_domain_name(value: str) -> str:
    """A CDN accelerated domain: a lowercase DNS hostname of two or more labels, optionally a
    wildcard (`*.example.com`, as Volcengine allows). Commas and spaces can never appear, so a
    name is always safe inside the comma-separated `Domain` parameter of DescribeCdnOriginData."""
    name = value.strip().lower()
    if len(name) > 253:
        raise serializers.ValidationError("A domain name has at most 253 characters.")
    labels = name.split(".")
    if labels[0] == "*":
        labels = labels[1:]
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise serializers.ValidationError(
            "Enter a hostname such as www.example.com or *.example.com: labels of letters, digits and "
            "inner hyphens (at most 63 characters each), separated by dots, at least two labels."
        )
    if labels[-1].isdigit():
        raise serializers.ValidationError("An IP address is not a domain name.")
    return name


class DomainListSerializer(PositionalListSerializer):
    """A batch of domains: existing names are kept, missing ones created, in a few queries."""

    def create(self, validated_data):
        names = [item["name"] for item in validated_data]
        with transaction.atomic():
            known = set(Domain.objects.filter(name__in=names).values_list("name", flat=True))
            missing = sorted(set(names) - known)
            Domain.objects.bulk_create([Domain(name=name) for name in missing], ignore_conflicts=True, batch_size=1000)
            by_name = {domain.name: domain for domain in Domain.objects.filter(name__in=names)}
        self.created = bool(missing)
        return [by_name[name] for name in names]


class DomainSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A CDN accelerated domain, e.g. `www.example.com` or `*.example.com`, stored in lower case.
    Posting a known name changes nothing."""

    # Declared by hand so DRF adds no UniqueValidator: a known name is an upsert, not an error.
    name = serializers.CharField(max_length=253)

    class Meta:
        model = Domain
        fields = ["name", "created_at"]
        read_only_fields = ["created_at"]
        list_serializer_class = DomainListSerializer

    @classmethod
    def many_init(cls, *args, **kwargs):
        kwargs.setdefault("max_length", settings.INGEST_MAX_BATCH)
        return super().many_init(*args, **kwargs)

    def validate_name(self, value: str) -> str:
        return normalise_domain_name(value)

    def create(self, validated_data):
        domain, self.created = Domain.objects.get_or_create(name=validated_data["name"])
        return domain

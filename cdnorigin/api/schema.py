"""OpenAPI documentation of `/api/v1/cdn/` (drf-spectacular), attached to the views from here so they stay
code only; imported by the app's `ready()`. Conventions are those of `insights/api/schema.py`."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers

from cdnorigin.api.samples import InstantFilter, OriginSampleSerializer
from cdnorigin.api.serializers import DomainSerializer
from cdnorigin.ingest import MAX_TIMESTAMP, MAX_VALUE
from common.api.schema import (
    TOKEN_NOTE,
    document_viewset,
    edit_schemas,
    ingest_errors,
    ingest_viewset_schema,
    one_or_list,
)


class OriginSampleInputSerializer(serializers.Serializer):
    # Validated by cdnorigin.api.samples; this serializer only describes the body.
    """One minute of origin traffic of one domain. It is the whole count of that domain and minute:
    posting it again replaces the stored sample."""

    domain = serializers.CharField(help_text="A domain created under /api/v1/cdn/domains/.")
    timestamp = serializers.IntegerField(
        min_value=0, max_value=MAX_TIMESTAMP - 1, help_text="Unix seconds, floored to the minute."
    )
    flux = serializers.IntegerField(min_value=0, max_value=MAX_VALUE, help_text="Bytes.")
    pv = serializers.IntegerField(min_value=0, max_value=MAX_VALUE, help_text="Requests.")
    status = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=MAX_VALUE),
        required=False,
        help_text='Counts per three-digit status code 100..599, e.g. {"200": 10, "404": 2}.',
    )


class OriginSampleCountSerializer(serializers.Serializer):
    """How many samples the request stored."""

    count = serializers.IntegerField(min_value=0, help_text="Samples stored (each replaced any earlier one).")


# Its values are Unix seconds or ISO 8601 text: a string as far as a schema can say.
extend_schema_field(OpenApiTypes.STR)(InstantFilter)


def _instant(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY, description=description)


SAMPLES = extend_schema_view(
    list=extend_schema(
        tags=["cdn"],
        summary="List origin samples",
        description="Minute samples ordered by domain and minute, paged with `?page=` and `?page_size=` "
        f"(at most 1000). {TOKEN_NOTE}",
        parameters=[
            OpenApiParameter(
                "domain", OpenApiTypes.STR, OpenApiParameter.QUERY, description="Domain names, comma-separated."
            ),
            _instant("start", "From the minute holding this instant: Unix seconds or ISO 8601 with an offset."),
            _instant("end", "Through the minute holding this instant: Unix seconds or ISO 8601 with an offset."),
        ],
        responses={200: OriginSampleSerializer, **ingest_errors(filtered=True)},
    ),
    retrieve=extend_schema(
        tags=["cdn"],
        summary="One origin sample by id",
        description=f"The sample with this id, as the list shows it. {TOKEN_NOTE}",
        responses={200: OriginSampleSerializer, **ingest_errors(lookup=True)},
    ),
    create=extend_schema(
        tags=["cdn"],
        summary="Store origin samples",
        description="One sample or a JSON list of at most 10,000, all-or-nothing. A sample is the whole count for "
        "its domain and minute: re-posting replaces it (idempotent). Unknown domains, or one domain and minute "
        "twice in a request, are a 400 and nothing is written. Needs a token that is not read-only.",
        request=one_or_list(OriginSampleInputSerializer, "OriginSampleInputOneOrList"),
        responses={201: OriginSampleCountSerializer, **ingest_errors(write=True)},
    ),
)


document_viewset(
    "cdnorigin.api.views.DomainViewSet",
    ingest_viewset_schema(
        tag="cdn",
        plural="CDN domains",
        singular="CDN domain",
        lookup="name",
        key_note="Keyed by `name` (stored lowercase): posting a known name changes nothing.",
        request=DomainSerializer,
        response=DomainSerializer,
        edits=edit_schemas(
            tag="cdn",
            singular="CDN domain",
            patch_request=DomainSerializer(partial=True),
            response=DomainSerializer,
            patch_note="Renames the domain (`name`, normalised as on POST); its samples and statistics keep "
            "following it. A name another domain has is refused.",
            delete_note="The domain with all its samples, rollups and sub-account grants.",
        ),
    ),
)
document_viewset("cdnorigin.api.samples.OriginSampleViewSet", SAMPLES)

"""OpenAPI building blocks both apps' schema modules use (drf-spectacular): the token schemes, a body of
one object or a list, DRF's error bodies, and the documented list/retrieve/create trio of an ingest
viewset. Imported by `CommonConfig.ready`, when drf-spectacular must know its extensions.
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import serializers

TOKEN_NOTE = "Authenticate with `Authorization: Bearer <token>` or `?token=<token>`."


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Two ways to send the same token, either of which is enough (an OR of two schemes)."""

    target_class = "common.api.authentication.BearerTokenAuthentication"
    name = ["bearerAuth", "tokenQuery"]

    def get_security_requirement(self, auto_schema):
        return [{"bearerAuth": []}, {"tokenQuery": []}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "A token from `manage.py create_api_token`."},
            {"type": "apiKey", "in": "query", "name": "token", "description": "The same token as a query parameter."},
        ]


def one_or_list(serializer, name: str) -> PolymorphicProxySerializer:
    """A body that is one `serializer` object or a JSON list of them."""
    return PolymorphicProxySerializer(
        component_name=name,
        serializers=[serializer, serializer(many=True)],
        resource_type_field_name=None,
        many=False,
    )


class DetailErrorSerializer(serializers.Serializer):
    """The error body under `/api/v1/` for a missing or bad token, a read-only token, an unknown row or
    page, a concurrent write, or a body that is not JSON."""

    detail = serializers.CharField(help_text="What is wrong.")


VALIDATION_ERRORS = OpenApiResponse(
    response={
        "oneOf": [
            {"type": "object", "additionalProperties": True, "description": "field -> list of messages"},
            {
                "type": "array",
                "items": {"type": "object", "additionalProperties": True},
                "description": "for a list body: one entry per item, `{}` for a valid one",
            },
        ]
    },
    description="Bad input, and nothing was written: field -> list of messages; a list body gets one entry per item.",
)

FILTER_ERRORS = OpenApiResponse(
    response={"type": "object", "additionalProperties": True, "description": "parameter -> list of messages"},
    description="A malformed filter value, e.g. a bad choice or a date-time without an offset.",
)


def ingest_errors(*, write: bool = False, lookup: bool = False, filtered: bool = False, conflict: bool = False) -> dict:
    """DRF's errors of an operation: 401 always; 400 for bad input; 403 on writes, 409 on writes that can
    meet a concurrent write of the same key; 404 for an unknown row or, on a list, a page past the end
    ("Invalid page.")."""
    errors = {401: OpenApiResponse(DetailErrorSerializer, description="Missing, unknown or revoked token.")}
    if write:
        errors[400] = VALIDATION_ERRORS
        errors[403] = OpenApiResponse(DetailErrorSerializer, description="The token is read-only.")
    elif filtered:
        errors[400] = FILTER_ERRORS
    if write and conflict:
        errors[409] = OpenApiResponse(
            DetailErrorSerializer,
            description="Another request wrote the same key at the same moment; nothing was written, retry.",
        )
    if lookup:
        errors[404] = OpenApiResponse(DetailErrorSerializer, description="No such row.")
    elif filtered:
        errors[404] = OpenApiResponse(DetailErrorSerializer, description="`page` is past the last page.")
    return errors


def ingest_viewset_schema(
    *,
    tag: str,
    plural: str,
    singular: str,
    lookup: str,
    key_note: str,
    request,
    response,
    conflict: bool = False,
    edits: dict | None = None,
):
    """The three actions of an ingest viewset: list, retrieve, create (one object or a list). `conflict`:
    the create action may answer 409 (a concurrent write of the same key); `edits` (from `edit_schemas`)
    adds PATCH and DELETE where the resource has them."""
    body = one_or_list(request, f"{request.__name__.removesuffix('Serializer')}OneOrList")
    answer = one_or_list(response, f"{response.__name__.removesuffix('Serializer')}OneOrList")
    return extend_schema_view(
        list=extend_schema(
            tags=[tag],
            summary=f"List {plural}",
            description=f"Filtered with the query parameters below, paged with `?page=` and `?page_size=` "
            f"(at most 1000). {TOKEN_NOTE}",
            responses={200: response, **ingest_errors(filtered=True)},
        ),
        retrieve=extend_schema(
            tags=[tag],
            summary=f"One {singular} by {lookup}",
            description=f"The {singular} with this {lookup}, as the list shows it. {TOKEN_NOTE}",
            responses={200: response, **ingest_errors(lookup=True)},
        ),
        create=extend_schema(
            tags=[tag],
            summary=f"Create or update {plural}",
            description=f"One object or a JSON list of at most {settings.INGEST_MAX_BATCH:,}, all-or-nothing. "
            f"{key_note} Needs a token that is not read-only.",
            request=body,
            responses={
                201: OpenApiResponse(answer, description="At least one row was created."),
                200: OpenApiResponse(
                    answer, description="Every item updated or replaced a stored row (or the list was empty)."
                ),
                **ingest_errors(write=True, conflict=conflict),
            },
        ),
        **(edits or {}),
    )


def edit_schemas(*, tag: str, singular: str, patch_request, response, patch_note: str, delete_note: str) -> dict:
    """PATCH (the fields given replace the stored ones; checked as a POST is) and DELETE of one row."""
    return {
        "partial_update": extend_schema(
            tags=[tag],
            summary=f"Change a {singular}",
            description=f"{patch_note} A refused change writes nothing. Needs a token that is not read-only.",
            request=patch_request,
            responses={200: response, **ingest_errors(write=True, lookup=True)},
        ),
        "destroy": extend_schema(
            tags=[tag],
            summary=f"Delete a {singular}",
            description=f"{delete_note} Needs a token that is not read-only.",
            responses={204: OpenApiResponse(description="Deleted."), **ingest_errors(write=True, lookup=True)},
        ),
    }


def document_viewset(target: str, decorator) -> type[OpenApiViewExtension]:
    """Register an extension that swaps `target` for a documented subclass while the schema is generated."""

    class Documented(OpenApiViewExtension):
        target_class = target

        def view_replacement(self):
            view = type(self.target_class.__name__, (self.target_class,), {"__doc__": None})
            return decorator(view)

    Documented.__name__ = Documented.__qualname__ = f"Documented{target.rsplit('.', 1)[-1]}"
    return Documented

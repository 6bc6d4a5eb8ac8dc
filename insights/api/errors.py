"""Errors of the two REST families, rendered by one handler.

Under `/openapi/` every error is Zadig's envelope
`{"type":"error","message":<reason>,"code":<status>,"description":<what>,"extra":{}}`;
under `/api/v1/` errors keep DRF's usual shape (field -> messages).
"""

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

OPENAPI_PREFIX = "/openapi/"


class ZadigError(exceptions.APIException):
    """A Zadig-endpoint error; `description` names the parameter that is wrong."""

    status_code = 400

    def __init__(self, description: str, status: int = 400):
        self.status_code = status
        super().__init__(detail=description)


def zadig_body(status: int, description: str) -> dict:
    return {
        "type": "error",
        "message": HTTPStatus(status).phrase,
        "code": status,
        "description": description,
        "extra": {},
    }


def _describe(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_describe(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_describe(item) for item in detail)
    return str(detail)


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"


def oversized_input_error(exc: Exception) -> exceptions.APIException | None:
    """Django's refusals of an oversized request, as API errors that name the limit."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return PayloadTooLarge(f"The body is larger than {limit} bytes; send smaller batches.")
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return exceptions.ParseError(f"The query string has more than {limit} parameters.")
    return None


def _authentication_first(refusal: exceptions.APIException, context) -> exceptions.APIException:
    """The documented order is authentication, then parameters: a request that could not be
    authenticated is a 401 even when its query string or body is also refused."""
    view, request = context.get("view"), context.get("request")
    if view is None or request is None:
        return refusal
    try:
        view.perform_authentication(request)
        view.check_permissions(request)
    except (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied) as exc:
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            header = view.get_authenticate_header(request)
            if header:
                exc.auth_header = header
            else:
                exc.status_code = 403
        return exc
    except (RequestDataTooBig, TooManyFieldsSent):  # met again while authenticating: refuse it as such
        return refusal
    return refusal


MAX_ECHO_CHARS = 500


def bounded(detail):
    """Error details with every text and field name cut to MAX_ECHO_CHARS: a message may quote the
    client's value ("... is not a valid choice"), and a 5 MB value must not come back 5 MB long."""
    if isinstance(detail, dict):
        return {_cut(str(key)): bounded(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [bounded(item) for item in detail]
    if isinstance(detail, str):
        return _cut(detail)
    return detail


def _cut(text: str) -> str:
    if len(text) <= MAX_ECHO_CHARS:
        return text
    return f"{text[:MAX_ECHO_CHARS]}... ({len(text)} characters in all)"


def exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        exc = exceptions.ParseError("The body must be JSON (Content-Type: application/json).")
    if (refusal := oversized_input_error(exc)) is not None:
        exc = _authentication_first(refusal, context)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: Django's 500 handler answers (and logs it)
    response.data = bounded(response.data)
    if request is None or not request.path.startswith(OPENAPI_PREFIX):
        return response
    body = zadig_body(response.status_code, _describe(response.data))
    headers = {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")}
    return Response(body, status=response.status_code, headers=headers)


def openapi_not_found(request, *args, **kwargs):
    """Unknown paths under /openapi/ answer in the envelope, not with an HTML page."""
    return JsonResponse(zadig_body(404, f"No endpoint at {request.path}."), status=404)

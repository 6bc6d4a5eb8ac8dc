"""What every API error shares: oversized requests refused after authentication, echoed input cut short,
and the envelope of the API family the path belongs to (registered by the app that owns the family).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from common import registry


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
    """DRF's handler for every API view: shared refusals and bounds, then the envelope of the path's family."""
    request = context.get("request")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        exc = exceptions.ParseError("The body must be JSON (Content-Type: application/json).")
    if (refusal := oversized_input_error(exc)) is not None:
        exc = _authentication_first(refusal, context)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: Django's 500 handler answers (and logs it)
    response.data = bounded(response.data)
    if request is not None:
        for prefix, render in registry.error_envelopes():
            if request.path.startswith(prefix):
                return render(response)
    return response

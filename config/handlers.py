"""Django's last-resort error pages, in each API family's envelope.

DRF's exception handler answers for everything raised inside an API view; these answer for what
happens outside one (a request Django refuses before routing, an unknown path, an unexpected
error), so an API client never gets an HTML page. Browsers keep Django's own pages.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from cdnorigin.api.volc import envelope_response, error_body, new_request_id
from cdnorigin.errors import VolcError
from insights.api.errors import zadig_body

MESSAGES = {
    400: "The request could not be read (malformed, or larger than the service accepts).",
    404: "Not found.",
    500: "The server failed to answer; the error is logged. Retry, or report it if it persists.",
}
VOLC_CODES = {400: "InvalidParameter", 404: "InvalidActionOrVersion", 500: "InternalError"}


def family(request: HttpRequest) -> str | None:
    if request.path.startswith("/openapi/"):
        return "zadig"
    if request.path.startswith("/api/v1/"):
        return "rest"
    if request.path == "/" and "Action=" in request.META.get("QUERY_STRING", ""):
        return "volc"
    return None


def api_error(request: HttpRequest, status: int) -> HttpResponse | None:
    kind = family(request)
    if kind == "zadig":
        return JsonResponse(zadig_body(status, MESSAGES[status]), status=status)
    if kind == "rest":
        return JsonResponse({"detail": MESSAGES[status]}, status=status)
    if kind == "volc":
        error = VolcError(status, VOLC_CODES[status], MESSAGES[status])
        return envelope_response(new_request_id(), "", "", status, error_body(error))
    return None


def bad_request(request, exception):
    return api_error(request, 400) or defaults.bad_request(request, exception)


def page_not_found(request, exception):
    return api_error(request, 404) or defaults.page_not_found(request, exception)


def server_error(request):
    return api_error(request, 500) or defaults.server_error(request)

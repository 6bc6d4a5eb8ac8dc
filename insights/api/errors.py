"""Zadig's error envelope: under `/openapi/` every error is
`{"type":"error","message":<reason>,"code":<status>,"description":<what>,"extra":{}}`.

`common.api.errors.exception_handler` renders DRF's errors in it for paths under OPENAPI_PREFIX
(registered in `InsightsConfig.ready`); under `/api/v1/` errors keep DRF's usual shape.
"""

from http import HTTPStatus

from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

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


def zadig_response(response: Response) -> Response:
    """A DRF error response as Zadig's envelope, keeping the headers a client acts on."""
    body = zadig_body(response.status_code, _describe(response.data))
    headers = {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")}
    return Response(body, status=response.status_code, headers=headers)


def openapi_not_found(request, *args, **kwargs):
    """Unknown paths under /openapi/ answer in the envelope, not with an HTML page."""
    return JsonResponse(zadig_body(404, f"No endpoint at {request.path}."), status=404)

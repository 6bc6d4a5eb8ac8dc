"""The Volcengine-compatible front door at `/`: dispatch on `Action`, authenticate, throttle, answer.

Every answer, success or error, is Volcengine's envelope (API.md section 4) rendered here and only
here; everything below raises `VolcError`. Without `Action`, `/` is the service's HTML page.
"""

import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

import orjson
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from cdnorigin import accounts, selectors, throttle
from cdnorigin.errors import VolcError, invalid_parameter
from cdnorigin.origin_data.render import to_json

logger = logging.getLogger(__name__)

SERVICE = "CDN"
REGION = "cn-north-1"
_PARAMETER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")


def new_request_id() -> str:
    """Volcengine style: the UTC time to the second, then random hex, so ids sort by time and never repeat."""
    return f"{timezone.now():%Y%m%d%H%M%S}{secrets.token_hex(10).upper()}"


def request_parameters(request: HttpRequest) -> dict[str, Any]:
    """The query string's parameters (except Action and Version), overridden by a JSON object body.

    The SDK's POST form sends everything in the body, its GET form everything in the query string
    (as strings) with a `{}` body; both end up as one dict.
    """
    params: dict[str, Any] = {}
    for name, values in request.GET.lists():
        if name in ("Action", "Version"):
            continue
        if len(values) > 1:
            shown = name if _PARAMETER_NAME.fullmatch(name) else "Query"
            raise invalid_parameter(shown, f"{name[:64]} is given more than once")
        params[name] = values[0]
    body = accounts.request_body(request)
    if body.strip():
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise invalid_parameter("Body", "the body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise invalid_parameter("Body", "the body must be a JSON object")
        params.update(data)
    return params


def describe_cdn_origin_data(request: HttpRequest) -> dict:
    key = accounts.authenticate(request)
    throttle.limiter.consume(key.account_id)
    params = request_parameters(request)
    return selectors.describe_origin_data(params, accounts.allowed_domains(key.account))


ACTIONS: dict[tuple[str, str], Callable[[HttpRequest], dict]] = {
    ("DescribeCdnOriginData", "2021-03-01"): describe_cdn_origin_data,
}


def envelope_response(request_id: str, action: str, version: str, status: int, body: dict) -> HttpResponse:
    """The envelope as JSON; an answer's `Values` (cdnorigin.origin_data.render.Points) go in pre-rendered."""
    metadata = {"RequestId": request_id, "Action": action, "Version": version, "Service": SERVICE, "Region": REGION}
    if status == 200:
        payload = {"ResponseMetadata": metadata, "Result": body}
    else:
        payload = {"ResponseMetadata": {**metadata, "Error": body}}
    rendered = orjson.dumps(payload, default=to_json, option=orjson.OPT_SERIALIZE_NUMPY)
    response = HttpResponse(rendered, status=status, content_type="application/json")
    response["X-Request-Id"] = request_id
    return response


def error_body(error: VolcError) -> dict:
    return {"CodeN": error.code_n, "Code": error.code, "Message": error.message}


@csrf_exempt
def root(request: HttpRequest) -> HttpResponse:
    """`/`: the HTML page for a browser, the named action for everyone else."""
    request_id = new_request_id()
    action = version = ""
    try:
        try:
            action = request.GET.get("Action")
            version = request.GET.get("Version") or ""
        except TooManyFieldsSent as exc:
            raise invalid_parameter("Query", "the query string has too many parameters") from exc
        if action is None and request.method in ("GET", "HEAD"):
            return render(request, "index.html")
        action = action or ""
        handler = ACTIONS.get((action, version))
        if handler is None:
            raise VolcError(
                404, "InvalidActionOrVersion", f"Could not find operation {action[:64]} for version {version[:64]}."
            )
        if request.method not in ("GET", "POST"):
            raise VolcError(405, "MethodNotAllowed", "HTTP Method Not Allowed: use POST or GET.")
        result = handler(request)
    except VolcError as error:
        return envelope_response(request_id, action[:64], version[:64], error.status, error_body(error))
    except Exception:
        logger.exception("%s request %s failed", action[:64], request_id)
        error = VolcError(500, "InternalError", "The request processing has failed due to some unknown error.")
        return envelope_response(request_id, action[:64], version[:64], error.status, error_body(error))
    return envelope_response(request_id, action, version, 200, result)

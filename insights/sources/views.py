"""`POST /hooks/<source>/`: the webhook endpoint of every GitHub and GitLab source (see `receive`)."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from insights.sources.receive import count, receive


@csrf_exempt
@require_POST
def hook(request, name: str):
    try:
        body = request.body
    except RequestDataTooBig:
        body = b"\0" * (settings.INSIGHTS_HOOK_MAX_BYTES + 1)  # refused as too large, by the source's rules
    outcome = receive(name, request.headers, body, request.content_type or "")
    count(name, outcome)
    return JsonResponse(outcome.body, status=outcome.status, headers=outcome.headers)

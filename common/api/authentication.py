"""Bearer-token authentication: `Authorization: Bearer <token>` or `?token=<token>`."""

from urllib.parse import unquote_plus

from django.core.exceptions import TooManyFieldsSent
from django.utils import timezone
from rest_framework import authentication, exceptions

from common.models import ApiToken, hash_token


def token_from_request(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    try:
        return request.query_params.get("token") or None
    except TooManyFieldsSent:
        # The query string is refused anyway, but authentication answers first (API.md): find the
        # token without Django's field limit (a URL is bounded by the server's request-line limit).
        return _token_in_raw_query(request.META.get("QUERY_STRING", ""))


def _token_in_raw_query(query: str) -> str | None:
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if unquote_plus(name) == "token" and value:
            return unquote_plus(value) or None
    return None


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Looks the token up by its SHA-256; the raw token is never stored."""

    def authenticate(self, request):
        raw = token_from_request(request)
        if raw is None:
            return None
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            # At most one write a minute per token, so reads stay reads.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'

"""Issuing API tokens. The raw token is returned once; only its hash is kept."""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction

from common.models import ApiToken, hash_token


@transaction.atomic
def create_api_token(username: str, *, read_only: bool = False) -> str:
    user, _ = get_user_model().objects.get_or_create(username=username)
    raw = "ins_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, key_hash=hash_token(raw), prefix=raw[:10], read_only=read_only)
    return raw

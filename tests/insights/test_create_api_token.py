"""`python manage.py create_api_token USER [--read-only]`."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from common.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def create_token(*args) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue()


def test_the_last_printed_line_is_the_token_alone_and_it_works():
    printed = create_token("ci-bot")
    token = printed.rstrip("\n").splitlines()[-1]
    assert token == token.strip() and " " not in token and token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.post("/api/v1/clusters/", {"name": "c1"}, format="json").status_code == 201


def test_the_user_is_created_when_missing_and_reused_when_present():
    create_token("newcomer")
    create_token("newcomer")
    assert get_user_model().objects.filter(username="newcomer").count() == 1
    assert ApiToken.objects.filter(user__username="newcomer").count() == 2


def test_an_existing_user_keeps_its_account():
    # A stored hash stands in for a password (hashing a real one is slow on purpose).
    user = get_user_model().objects.create(username="admin", password="pbkdf2_sha256$1$salt$hash", is_staff=True)
    create_token("admin")
    user.refresh_from_db()
    assert user.is_staff and user.password == "pbkdf2_sha256$1$salt$hash"


def test_read_only_tokens_may_read_but_not_write():
    token = create_token("viewer", "--read-only").splitlines()[-1]
    assert ApiToken.objects.get(key_hash=hash_token(token)).read_only
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/clusters/").status_code == 200
    assert client.post("/api/v1/clusters/", {"name": "c1"}, format="json").status_code == 403


def test_a_token_without_the_flag_is_not_read_only():
    token = create_token("writer2").splitlines()[-1]
    assert not ApiToken.objects.get(key_hash=hash_token(token)).read_only


def test_an_empty_user_name_is_refused():
    with pytest.raises(CommandError):
        create_token("  ")
    assert not ApiToken.objects.exists()

"""Token authentication of `/api/v1/`: Bearer header or `?token=`, hashed storage, read-only tokens."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from common.models import ApiToken, hash_token
from common.tokens import create_api_token
from insights.models import Project

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/"


def test_a_request_without_a_token_is_401_and_says_how_to_authenticate(anonymous_client):
    answer = anonymous_client.get(URL)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_401(anonymous_client):
    anonymous_client.credentials(HTTP_AUTHORIZATION="Bearer ins_not-a-real-token")
    assert anonymous_client.get(URL).status_code == 401
    assert APIClient().get(URL, {"token": "ins_not-a-real-token"}).status_code == 401


def test_a_token_of_another_scheme_is_401(anonymous_client):
    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Token {create_api_token('someone')}")
    assert anonymous_client.get(URL).status_code == 401


def test_a_token_in_the_query_string_works(anonymous_client):
    token = create_api_token("ci")
    assert anonymous_client.get(URL, {"token": token}).status_code == 200
    answer = anonymous_client.post(f"{URL}?token={token}", {"key": "yaml", "name": "Y"}, format="json")
    assert answer.status_code == 201


def test_a_token_of_a_deactivated_user_is_401(anonymous_client):
    token = create_api_token("leaver")
    get_user_model().objects.filter(username="leaver").update(is_active=False)
    assert anonymous_client.get(URL, {"token": token}).status_code == 401


@pytest.mark.parametrize(
    "path", ["projects", "clusters", "environments", "services", "workflows", "artifacts", "rollbacks"]
)
def test_a_read_only_token_may_read_but_not_write(read_only_client, path):
    assert read_only_client.get(f"/api/v1/{path}/").status_code == 200
    answer = read_only_client.post(f"/api/v1/{path}/", {"key": "yaml", "name": "Y"}, format="json")
    assert answer.status_code == 403
    assert "read-only" in answer.json()["detail"]
    assert not Project.objects.exists()


def test_without_a_token_nothing_is_written(anonymous_client):
    assert anonymous_client.post(URL, {"key": "yaml", "name": "Y"}, format="json").status_code == 401
    assert not Project.objects.exists()


def test_authentication_is_checked_before_the_body(anonymous_client):
    assert anonymous_client.post(URL, "{not json", content_type="application/json").status_code == 401


def test_the_database_never_holds_the_raw_token():
    token = create_api_token("auditor")
    row = ApiToken.objects.get()
    assert row.key_hash == hash_token(token) != token
    assert token.startswith(row.prefix) and len(row.prefix) < len(token) // 2
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        stored = [str(value) for value in cursor.fetchone()]
    assert not any(token in value or token[len(row.prefix) :] in value for value in stored)


def test_each_token_is_different():
    assert create_api_token("same") != create_api_token("same")

"""Errors outside any API view still answer API clients in their family's envelope."""

import pytest
from django.test import Client


@pytest.fixture
def client_keeping_errors(db):
    return Client(raise_request_exception=False)


def test_an_unknown_api_path_is_a_json_404(client_keeping_errors):
    answer = client_keeping_errors.get("/api/v1/no-such-thing/")
    assert (answer.status_code, answer["Content-Type"], answer.json()) == (
        404,
        "application/json",
        {"detail": "Not found."},
    )


def test_a_page_path_keeps_the_html_404(client_keeping_errors):
    assert client_keeping_errors.get("/no-such-page/")["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "shape"),
    [("/api/v1/projects/", "detail"), ("/openapi/statistics/overview", "description")],
)
def test_an_unexpected_error_is_a_500_in_the_envelope_never_html(client_keeping_errors, monkeypatch, path, shape):
    from common.tokens import create_api_token

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("common.api.authentication.ApiToken.objects.select_related", fail)
    answer = client_keeping_errors.get(path, HTTP_AUTHORIZATION=f"Bearer {create_api_token('x')}")
    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
    assert shape in answer.json()
    assert "boom" not in answer.content.decode()

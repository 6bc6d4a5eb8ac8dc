"""`add_source`: the last line is what the other system needs; the secret is shown once and kept only
encrypted (GitHub, Zadig) or hashed (GitLab); it is the one that the endpoint then accepts."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from insights.models import Project
from insights.sources import mapping, secrets
from insights.sources.models import Source
from tests.sources.conftest import signature
from tests.sources.fake_mapper import FakeMapper

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mappers(monkeypatch):
    """Whatever the real mappers make of a payload, the endpoint's secret check comes first."""
    for kind in ("github", "gitlab"):
        monkeypatch.setitem(mapping.MAPPERS, kind, FakeMapper())


def add(*args) -> list[str]:
    out = StringIO()
    call_command("add_source", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_a_github_source_prints_its_url_and_secret_last_and_that_secret_signs(settings, monkeypatch):
    settings.INSIGHTS_PUBLIC_URL = "https://insights.example.com/"
    url, secret = add("github", "acme-gh", "--project", "shop")[-1].split(" ")
    assert url == "https://insights.example.com/hooks/acme-gh/"
    source = Source.objects.get()
    assert (source.kind, source.project.key, source.enabled) == ("github", "shop", True)
    assert secret not in source.secret and secrets.decrypt(source.secret) == secret
    assert Project.objects.filter(key="shop").exists(), "a named project is created when missing"
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "p-1", "X-Hub-Signature-256": signature(b"{}", secret)}
    response = Client().post("/hooks/acme-gh/", b"{}", content_type="application/json", headers=headers)
    assert response.status_code != 401


def test_a_gitlab_token_is_kept_only_as_its_hash_and_compared_as_such():
    url, token = add("gitlab", "acme-gl")[-1].split(" ")
    stored = Source.objects.get().secret
    assert stored == secrets.hashed(token) and token not in stored
    assert secrets.matches_hash(stored, token) and not secrets.matches_hash(stored, token + "x")
    client = Client()
    bad = client.post(url, b"{}", content_type="application/json", headers={"X-Gitlab-Event": "Push Hook"})
    assert bad.status_code == 401


def test_a_zadig_source_needs_its_server_and_token_and_prints_the_server():
    with pytest.raises(CommandError, match="--url"):
        add("zadig", "z")
    lines = add("zadig", "z", "--url", "https://zadig.example.com", "--token", "tok-123")
    assert lines[-1] == "https://zadig.example.com"
    source = Source.objects.get()
    assert secrets.decrypt(source.secret) == "tok-123" and "tok-123" not in source.secret


def test_a_name_is_taken_once_and_rotate_gives_a_new_secret_keeping_the_rest():
    old = add("github", "acme", "--project", "shop")[-1].split(" ")[1]
    with pytest.raises(CommandError, match="already a source"):
        add("github", "acme")
    new = add("github", "acme", "--rotate")[-1].split(" ")[1]
    source = Source.objects.get()
    assert new != old and secrets.decrypt(source.secret) == new and source.project.key == "shop"
    with pytest.raises(CommandError, match="of kind github"):
        add("gitlab", "acme", "--rotate")


@pytest.mark.parametrize("name", ["has space", "slash/name", ""])
def test_a_name_that_cannot_be_a_url_part_is_refused(name):
    with pytest.raises(CommandError):
        add("github", name)
    assert not Source.objects.exists()


def test_a_secret_under_another_key_is_refused_not_crashed(settings):
    url, secret = add("github", "acme")[-1].split(" ")
    settings.INSIGHTS_SOURCE_KEY = "x" * 43 + "="  # another Fernet key: the stored secret cannot be read
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": signature(b"{}", secret)}
    assert Client().post("/hooks/acme/", b"{}", content_type="application/json", headers=headers).status_code == 401

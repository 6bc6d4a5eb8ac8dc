"""Sources under test: a GitHub-kind source whose mapper is the fake one (the framework's tests), a real
GitHub source (the mapper's tests), and clients that sign what they post."""

import hashlib
import hmac
import itertools

import orjson
import pytest
from django.test import Client

from insights.models import Project
from insights.sources import mapping, secrets
from insights.sources.models import Source
from tests.sources.fake_mapper import FakeMapper

SECRET = GITHUB_SECRET = "s3cret-for-tests"
_ids = itertools.count(1)


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(payload) -> bytes:
    return orjson.dumps(payload)


@pytest.fixture
def fake_source(db, monkeypatch):
    monkeypatch.setitem(mapping.MAPPERS, "github", FakeMapper())
    Project.objects.get_or_create(key="shop", defaults={"name": "Shop"})
    return Source.objects.create(name="fake", kind="github", secret=secrets.keep("github", SECRET))


@pytest.fixture
def post_hook(django_capture_on_commit_callbacks):
    """POST a payload to /hooks/<name>/ signed with SECRET (or `secret`), applying it on commit as a worker would."""
    client = Client()

    def post(event, payload, name="fake", delivery=None, secret=SECRET, headers=None):
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        sent = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or f"delivery-{next(_ids)}",
            "X-Hub-Signature-256": signature(body, secret),
            **(headers or {}),
        }
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/hooks/{name}/", body, content_type="application/json", headers=sent)

    return post


@pytest.fixture
def github_source(db):
    return Source.objects.create(name="gh", kind="github", secret=secrets.keep("github", GITHUB_SECRET))


class GitHubPoster:
    """Posts a payload as GitHub would: signed, with its event and a delivery id."""

    def __init__(self, client, capture, name="gh"):
        self.client, self.capture, self.name = client, capture, name

    def __call__(self, event, payload, delivery=None, *, sign=None, body=None):
        body = body_of(payload) if body is None else body
        delivery = delivery or f"delivery-{next(_ids)}"
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign if sign is not None else signature(body),
        }
        with self.capture(execute=True):
            return self.client.post(f"/hooks/{self.name}/", data=body, content_type="application/json", headers=headers)


@pytest.fixture
def post_github(client, github_source, django_capture_on_commit_callbacks):
    return GitHubPoster(client, django_capture_on_commit_callbacks)

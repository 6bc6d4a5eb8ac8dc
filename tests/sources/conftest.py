"""A GitHub source and a client that posts signed deliveries to it."""

import hashlib
import hmac
import itertools

import orjson
import pytest

from insights.sources import secrets
from insights.sources.models import Source

GITHUB_SECRET = "s3cret-for-tests"
_ids = itertools.count(1)


def signature(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(payload) -> bytes:
    return orjson.dumps(payload)


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

"""Shared fixtures: API clients holding a write token, a read-only token, or none."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from common.tokens import create_api_token


def pytest_configure(config):
    """Static files from the apps' directories under their own names: the production storage wants the
    manifest `collectstatic` writes, which a test run has no reason to build."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def api_client(db):
    """A client whose requests carry a write token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_token('writer')}")
    return client


@pytest.fixture
def read_only_client(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_token('reader', read_only=True)}")
    return client


@pytest.fixture
def anonymous_client(db):
    return APIClient()

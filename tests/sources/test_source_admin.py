"""Operators see each source's state on the admin index and manage sources without ever seeing a stored
secret; a new secret is shown once, in the message after it is made."""

import pytest

from insights.sources import secrets
from insights.sources.models import Delivery, Source

pytestmark = pytest.mark.django_db


def test_the_index_shows_each_source_with_its_counts_and_last_error(admin_client, fake_source, post_hook):
    post_hook("fake_run", {"run": "r", "at": "2024-05-01T09:00:00Z"}, secret="wrong")
    page = admin_client.get("/admin/").content.decode()
    assert 'id="sources"' in page and "fake</a> (github)" in page
    assert "does not match this source" in page
    assert fake_source.secret not in page


def test_a_source_created_in_the_admin_gets_a_secret_shown_once(admin_client, db):
    response = admin_client.post(
        "/admin/insights/source/add/",
        {"name": "web", "kind": "gitlab", "enabled": "on", "environment_pattern": "prod*", "job_types": "[]",
         "workflows": "[]", "url": ""},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    source = Source.objects.get()
    [shown] = [str(m) for m in response.context["messages"] if "/hooks/web/" in str(m)]
    clear = shown.split("secret <code>")[1].split("</code>")[0]
    assert secrets.matches_hash(source.secret, clear)
    change = admin_client.get(f"/admin/insights/source/{source.pk}/change/").content.decode()
    assert source.secret not in change and clear not in change


def test_deliveries_are_listed_and_applied_again_by_the_action(admin_client, fake_source, post_hook):
    post_hook("fake_run", {"run": "r", "at": "2024-05-01T09:00:00Z"})
    assert admin_client.get("/admin/insights/delivery/").status_code == 200
    pk = Delivery.objects.get().pk
    response = admin_client.post(
        "/admin/insights/delivery/", {"action": "apply_again", "_selected_action": [pk]}, follow=True
    )
    assert "Applied again: 1 applied." in [str(m) for m in response.context["messages"]]

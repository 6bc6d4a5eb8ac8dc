"""The admin index shows operators how far the rollups lag, per app."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cdnorigin.models import DirtyOriginBucket
from insights.models import DirtyJobDay


@pytest.mark.django_db
def test_admin_index_shows_dirty_bucket_counts_and_oldest_age(admin_client):
    for pk in (1, 2):
        DirtyJobDay.objects.create(project_pk=pk, day=timezone.localdate())
    DirtyJobDay.objects.update(marked_at=timezone.now() - timedelta(minutes=30))

    response = admin_client.get("/admin/")

    assert response.status_code == 200
    html = response.content.decode()
    panel = html[html.index('id="rollup-lag"') :]
    insights_row = panel[panel.index(">insights<") : panel.index("</tr>", panel.index(">insights<"))]
    cdn_row = panel[panel.index(">cdnorigin<") : panel.index("</tr>", panel.index(">cdnorigin<"))]
    assert "<td>2</td>" in insights_row
    age = int(insights_row.split("<td>")[2].split(" s")[0])
    assert 1800 <= age < 1900
    assert "<td>0</td>" in cdn_row
    assert DirtyOriginBucket.objects.count() == 0


@pytest.mark.django_db
def test_admin_index_keeps_the_app_list(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Rollup queue" in html
    assert "/admin/insights/project/" in html

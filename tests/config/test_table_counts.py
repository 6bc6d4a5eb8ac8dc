"""The admin index counts raw tables exactly, except big tables on PostgreSQL, where it shows the
planner's estimate (a count(*) of millions of rows on every page view would be a full scan)."""

import pytest
from django.db import connection
from django.urls import reverse

from common.rows import ESTIMATE_ABOVE, table_count
from insights.models import Job, Project

pytestmark = pytest.mark.django_db


def test_small_tables_are_counted_exactly():
    Project.objects.create(key="p", name="P")
    assert table_count(Project) == (1, False)
    assert table_count(Job) == (0, False)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="estimates are PostgreSQL's pg_class.reltuples")
def test_a_big_table_shows_the_estimate_on_the_admin_index(admin_client):
    with connection.cursor() as cursor:  # what ANALYZE would record for a big table (rolled back after the test)
        cursor.execute("UPDATE pg_class SET reltuples = %s WHERE oid = 'insights_job'::regclass", [ESTIMATE_ABOVE * 7])
    assert table_count(Job) == (ESTIMATE_ABOVE * 7, True)
    html = admin_client.get(reverse("admin:index")).content.decode()
    cell = f"&asymp;&nbsp;{ESTIMATE_ABOVE * 7}</td>"
    assert f'>jobs</a></th>\n        <td title="PostgreSQL\'s estimate (pg_class.reltuples)">{cell}' in html

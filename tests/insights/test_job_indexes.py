"""The job table carries the indexes its readers use and no others (migration 0005)."""

import pytest
from django.db import connection

from insights.models import Job


def job_indexes() -> dict[str, str]:
    """Index name -> definition, as PostgreSQL reports them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [Job._meta.db_table])
        return dict(cursor.fetchall())


@pytest.fixture
def indexes(db):
    if connection.vendor != "postgresql":
        pytest.skip("index definitions are read from PostgreSQL's catalogue")
    return job_indexes()


@pytest.mark.postgres
def test_no_prefix_search_copy_of_the_run_index(indexes):
    assert not [name for name, definition in indexes.items() if "pattern_ops" in definition]


@pytest.mark.postgres
def test_the_run_index_stays_for_deletes_by_run(indexes):
    assert indexes["job_run"].endswith("USING btree (run_id)")


@pytest.mark.postgres
def test_no_index_on_project_alone(indexes):
    assert not [name for name, definition in indexes.items() if definition.endswith("(project_id)")]
    assert indexes["job_project_type_started"].endswith("(project_id, type, started_at)")


@pytest.mark.postgres
def test_the_test_module_index_holds_test_jobs_only(indexes):
    assert indexes["job_test_module_latest"].endswith("WHERE ((type)::text = 'test'::text)")

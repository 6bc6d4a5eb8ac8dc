"""Samples and rollups carry no index on the domain alone (migration 0005): their unique keys lead
with it, and every lookup by domain uses them."""

import pytest
from django.db import connection

from cdnorigin.models import OriginRollup, OriginSample


def index_definitions(model) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [model._meta.db_table])
        return [definition for (definition,) in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "unique_key"),
    [(OriginSample, "(domain_id, minute)"), (OriginRollup, '(domain_id, "interval", start)')],
)
def test_the_domain_is_indexed_only_as_the_lead_of_the_unique_key(model, unique_key):
    if connection.vendor != "postgresql":
        pytest.skip("index definitions are read from PostgreSQL's catalogue")
    definitions = index_definitions(model)
    assert not [definition for definition in definitions if definition.endswith("(domain_id)")]
    assert [definition for definition in definitions if "UNIQUE" in definition and definition.endswith(unique_key)]

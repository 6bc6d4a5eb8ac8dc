"""Data migrations keep what was stored: rows are moved, never dropped."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("insights", "0006_rollup_failures"), ("common", "0001_initial")]
AFTER = [("insights", "0007_api_tokens_move_to_common")]


@pytest.mark.django_db(transaction=True)
def test_api_tokens_move_from_insights_to_common_with_every_field():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="ci")
    old.get_model("insights", "ApiToken").objects.create(
        user_id=user.pk, key_hash="a" * 64, prefix="ins_abcdef", read_only=True
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    token = new.get_model("common", "ApiToken").objects.get()
    assert (token.user_id, token.key_hash, token.prefix, token.read_only) == (user.pk, "a" * 64, "ins_abcdef", True)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

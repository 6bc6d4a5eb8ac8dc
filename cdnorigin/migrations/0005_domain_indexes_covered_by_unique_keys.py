"""The implicit indexes of the `domain` FK of samples and rollups: every ingested minute and rolled
bucket paid for them, and the unique keys (domain, minute) and (domain, interval, start) lead with
the domain, so they serve every lookup by domain (a domain's delete included).

Only the indexes are dropped: the AlterField `makemigrations` writes would also drop and re-add the
foreign keys, re-checking every row of both tables.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLES = ("OriginSample", "OriginRollup")


def _implicit_index(schema_editor, model) -> models.Index:
    """The index Django made for the FK while it had db_index=True, under the name it gave it."""
    table, column = model._meta.db_table, model._meta.get_field("domain").column
    return models.Index(fields=["domain"], name=schema_editor._create_index_name(table, [column]))


def drop(apps, schema_editor):
    for name in TABLES:
        model = apps.get_model("cdnorigin", name)
        schema_editor.remove_index(model, _implicit_index(schema_editor, model))


def restore(apps, schema_editor):
    for name in TABLES:
        model = apps.get_model("cdnorigin", name)
        schema_editor.add_index(model, _implicit_index(schema_editor, model))


class Migration(migrations.Migration):
    dependencies = [
        ("cdnorigin", "0004_five_minute_rows_carry_their_minutes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, restore)],
            state_operations=[
                migrations.AlterField(
                    model_name="originrollup",
                    name="domain",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="cdnorigin.domain",
                    ),
                ),
                migrations.AlterField(
                    model_name="originsample",
                    name="domain",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="samples",
                        to="cdnorigin.domain",
                    ),
                ),
            ],
        ),
    ]

"""Two job indexes that every ingested job paid for and no query reads: the implicit index of the
`project` FK (job_project_type_started leads with project_id) and, on PostgreSQL, the
varchar_pattern_ops copy Django adds to the `run` FK's index (nothing searches run ids by prefix;
the admin's `=run__id` is an exact, case-insensitive match). The run's plain btree stays, as the
explicit index `job_run`: deletes by run use it. And job_test_module_latest becomes partial (test
jobs only): only they name a module, and the test-module lookups all say `type = 'test'`.

The state changes are what `makemigrations` writes; the database changes are done by hand, because
the generated AlterFields drop and re-add (and so re-validate over the whole table) both foreign
keys and rebuild the run index. Here the FKs are untouched and the run index is only renamed
(SQLite, which cannot rename an index, rebuilds it).
"""

import django.db.models.deletion
from django.db import migrations, models

RUN_INDEX = models.Index(fields=["run"], name="job_run")


def _implicit_index(schema_editor, model, field_name: str, suffix: str = "") -> models.Index:
    """The index Django created for an FK with db_index=True, under the name it gave it."""
    table, column = model._meta.db_table, model._meta.get_field(field_name).column
    return models.Index(fields=[field_name], name=schema_editor._create_index_name(table, [column], suffix=suffix))


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def drop_implicit_indexes(apps, schema_editor):
    job = apps.get_model("insights", "Job")
    schema_editor.remove_index(job, _implicit_index(schema_editor, job, "project"))
    if _postgresql(schema_editor):
        schema_editor.remove_index(job, _implicit_index(schema_editor, job, "run", suffix="_like"))
    schema_editor.rename_index(job, _implicit_index(schema_editor, job, "run"), RUN_INDEX)


def restore_implicit_indexes(apps, schema_editor):
    job = apps.get_model("insights", "Job")
    schema_editor.rename_index(job, RUN_INDEX, _implicit_index(schema_editor, job, "run"))
    if _postgresql(schema_editor):
        schema_editor.execute(schema_editor._create_like_index_sql(job, job._meta.get_field("run")))
    schema_editor.add_index(job, _implicit_index(schema_editor, job, "project"))


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0004_daily_job_total"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_implicit_indexes, restore_implicit_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="job",
                    name="project",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="jobs",
                        to="insights.project",
                    ),
                ),
                migrations.AlterField(
                    model_name="job",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="jobs",
                        to="insights.workflowrun",
                    ),
                ),
                migrations.AddIndex(model_name="job", index=RUN_INDEX),
            ],
        ),
        migrations.RemoveIndex(model_name="job", name="job_test_module_latest"),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("type", "test")),
                fields=["project", "test_module", "started_at"],
                name="job_test_module_latest",
            ),
        ),
    ]

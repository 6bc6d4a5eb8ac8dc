"""Move each sample's status counts from OriginStatusCount rows into the sample row.

`status` gets the {code: count} object (codes as strings, zeros kept) and `status_1xx`..`status_5xx`
its class sums, each computed by one set-based UPDATE; then the OriginStatusCount table is dropped.
Reversible: the reverse recreates the table and expands the objects back into rows.
"""

from django.db import migrations, models

import cdnorigin.models

SAMPLES = "cdnorigin_originsample"
COUNTS = "cdnorigin_originstatuscount"
CLASSES = (1, 2, 3, 4, 5)


def pack_status(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql":
            sums = ", ".join(f"COALESCE(SUM(c.count) FILTER (WHERE c.code / 100 = {k}), 0) AS c{k}" for k in CLASSES)
            assign = ", ".join(f"status_{k}xx = a.c{k}" for k in CLASSES)
            cursor.execute(
                f"UPDATE {SAMPLES} s SET status = a.status, {assign} FROM ("
                f"SELECT c.sample_id, jsonb_object_agg(c.code::text, c.count) AS status, {sums} "
                f"FROM {COUNTS} c GROUP BY c.sample_id) a WHERE s.id = a.sample_id"
            )
        else:
            assign = ", ".join(
                f"status_{k}xx = COALESCE((SELECT SUM(c.count) FROM {COUNTS} c "
                f"WHERE c.sample_id = {SAMPLES}.id AND c.code / 100 = {k}), 0)"
                for k in CLASSES
            )
            cursor.execute(
                f"UPDATE {SAMPLES} SET status = (SELECT json_group_object(CAST(c.code AS TEXT), c.count) "
                f"FROM (SELECT code, count FROM {COUNTS} WHERE sample_id = {SAMPLES}.id ORDER BY code) c), "
                f"{assign} WHERE id IN (SELECT sample_id FROM {COUNTS})"
            )


def unpack_status(apps, schema_editor):
    each = "jsonb_each_text(s.status)" if schema_editor.connection.vendor == "postgresql" else "json_each(s.status)"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {COUNTS} (sample_id, code, count) "
            f"SELECT s.id, CAST(e.key AS integer), CAST(e.value AS bigint) FROM {SAMPLES} s, {each} e"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cdnorigin", "0002_hour_rollup_five_minute_slots"),
    ]

    operations = [
        migrations.AddField(
            model_name="originsample",
            name="status",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='Requests per three-digit status code, e.g. {"200": 10, "404": 2}.',
                validators=[cdnorigin.models.validate_status_counts],
            ),
        ),
        *(
            migrations.AddField(
                model_name="originsample",
                name=f"status_{k}xx",
                field=models.BigIntegerField(default=0, editable=False),
            )
            for k in CLASSES
        ),
        migrations.RunPython(pack_status, unpack_status, elidable=False),
        migrations.DeleteModel(name="OriginStatusCount"),
    ]

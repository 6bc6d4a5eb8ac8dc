"""API tokens now live in the shared `common` app: copy every token over, then drop this app's table."""

from django.db import migrations

FIELDS = ("id", "user_id", "key_hash", "prefix", "read_only", "created_at", "last_used_at")


def copy(source_model, target_model):
    rows = source_model.objects.values_list(*FIELDS)
    target_model.objects.bulk_create(target_model(**dict(zip(FIELDS, row, strict=True))) for row in rows.iterator())


def to_common(apps, schema_editor):
    copy(apps.get_model("insights", "ApiToken"), apps.get_model("common", "ApiToken"))


def back_to_insights(apps, schema_editor):
    copy(apps.get_model("common", "ApiToken"), apps.get_model("insights", "ApiToken"))


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0006_rollup_failures"),
        ("common", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(to_common, back_to_insights),
        migrations.DeleteModel(name="ApiToken"),
    ]

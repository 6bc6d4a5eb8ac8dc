"""The all-projects daily totals, filled from the per-project rows already stored."""

from django.db import migrations, models
from django.db.models import Sum


def fill_totals(apps, schema_editor):
    DailyJobStat = apps.get_model("insights", "DailyJobStat")
    DailyJobTotal = apps.get_model("insights", "DailyJobTotal")
    sums = (
        DailyJobStat.objects.values("day", "kind")
        .annotate(passed=Sum("passed"), failed=Sum("failed"), timeout=Sum("timeout"), duration_us=Sum("duration_us"))
        .order_by("day", "kind")
    )
    DailyJobTotal.objects.bulk_create([DailyJobTotal(**row) for row in sums.iterator()], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0003_daily_job_stat_covering_sums"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyJobTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("build", "Build"),
                            ("deploy", "Deploy"),
                            ("release", "deploy to production"),
                            ("test", "Test"),
                        ],
                        max_length=8,
                    ),
                ),
                ("passed", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0)),
                ("timeout", models.PositiveIntegerField(default=0)),
                ("duration_us", models.BigIntegerField(default=0)),
            ],
            options={
                "ordering": ["day", "kind"],
                "constraints": [models.UniqueConstraint(fields=("kind", "day"), name="daily_job_total_bucket")],
            },
        ),
        migrations.RunPython(fill_totals, migrations.RunPython.noop),
    ]

"""`python manage.py rebuild_rollups [--since YYYY-MM-DD]`: recompute every derived table from raw rows."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from common import registry


def since_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since takes a local calendar day as YYYY-MM-DD, not {text!r}") from None


class Command(BaseCommand):
    help = (
        "Rebuild every app's derived tables (the insights daily job rollup and test modules, the CDN origin "
        "rollups) from raw rows "
        "(only days from --since on, if given). Safe to run while the service is up."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", type=str, help="first local day (YYYY-MM-DD) to rebuild; default: all")

    def handle(self, *args, since=None, **options):
        first = since_date(since) if since else None
        for queue in registry.rollup_queues():
            summary = queue.rebuild(first)
            details = ", ".join(f"{key}={value}" for key, value in summary.items() if key != "since")
            self.stdout.write(f"{queue.label}: rebuilt {'all days' if first is None else f'from {first}'}: {details}")

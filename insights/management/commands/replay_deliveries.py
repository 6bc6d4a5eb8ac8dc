"""`replay_deliveries --source NAME [--since YYYY-MM-DD|ISO]`: apply stored deliveries again, e.g. after a
mapper fix; each run is folded once from all its deliveries, so a replay never counts anything twice."""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from insights.sources.apply import replay
from insights.sources.models import Source


def _since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None and (day := parse_date(value)):
        moment = datetime.combine(day, time.min)
    if moment is None:
        raise CommandError(f"--since must be a date (YYYY-MM-DD) or an ISO date-time, not {value!r}")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Apply a source's stored deliveries again (failed ones included)."

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True)
        parser.add_argument("--since", default="2000-01-01", help="local date or ISO date-time; default: all kept")

    def handle(self, *args, source, since, **options):
        found = Source.objects.filter(name=source).first()
        if found is None:
            raise CommandError(f"There is no source named {source!r}.")
        progress = (lambda ids: tqdm(ids, unit="delivery")) if self.stdout.isatty() else None
        states = replay(found, _since(since), progress=progress)
        summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items())) or "nothing to replay"
        self.stdout.write(f"{found.name}: {summary}")

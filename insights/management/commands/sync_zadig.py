"""`manage.py sync_zadig [--source NAME] [--max-tasks N]`: pull Zadig workflow tasks into runs now."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from insights.sources import zadig_sync
from insights.sources.models import Source


class Command(BaseCommand):
    help = "Fetch new and still-running workflow tasks from the enabled zadig sources and apply them as runs."

    def add_arguments(self, parser):
        parser.add_argument("--source", help="only this source (its name)")
        parser.add_argument(
            "--max-tasks",
            type=int,
            default=zadig_sync.DEFAULT_MAX_TASKS,
            help=f"at most this many task details in all (default {zadig_sync.DEFAULT_MAX_TASKS})",
        )

    def handle(self, *args, source=None, max_tasks=zadig_sync.DEFAULT_MAX_TASKS, **options):
        if max_tasks < 0:
            raise CommandError("--max-tasks must not be negative.")
        if source and not Source.objects.filter(name=source, kind=Source.Kind.ZADIG).exists():
            raise CommandError(f"There is no zadig source named {source!r}.")
        stream = getattr(self.stderr, "_out", sys.stderr)
        bar = tqdm(total=max_tasks, unit="task", file=stream, disable=not stream.isatty(), leave=False)
        try:
            reports = zadig_sync.sync_zadig(source, max_tasks=max_tasks, progress=lambda: bar.update(1))
        finally:
            bar.close()
        failed = False
        for report in reports:
            line = (
                f"{report.source} {report.workflow}: {report.listed} new, {report.fetched} fetched, "
                f"{report.stored} stored, {report.duplicates} unchanged, {report.running} still running"
            )
            if report.error:
                failed = True
                self.stderr.write(f"{line}; error: {report.error}")
            else:
                self.stdout.write(line)
            for note in report.notes:
                self.stdout.write(f"  {note}")
        if not reports:
            self.stdout.write("No enabled zadig source.")
        if failed:
            self.stderr.write("Some workflows stopped early; the next sync resumes them.")

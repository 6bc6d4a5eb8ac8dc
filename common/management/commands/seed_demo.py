"""`seed_demo [--if-empty] [--days 90] [--cdn-days 7] [--seed N]`: demo data, then fresh rollups.

`make run` calls it with --if-empty, so a database with anything in it is left alone.
"""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from common import demo


def non_negative(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


class Command(BaseCommand):
    help = "Load realistic demo data (projects, CI/CD history, rollbacks, CDN minute samples) and build the rollups."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any project or domain exists")
        parser.add_argument("--days", type=non_negative, default=90, help="days of CI/CD history (default 90)")
        parser.add_argument("--cdn-days", type=non_negative, default=7, help="days of CDN minute samples (default 7)")
        parser.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same data")

    def handle(self, *args, if_empty, days, cdn_days, seed, **options):
        if if_empty and demo.any_data():
            self.stdout.write("Demo data skipped: the database already has projects or CDN domains.")
            return
        clashes = demo.demo_keys_present()
        if clashes:
            raise CommandError(f"Demo data is already loaded ({', '.join(clashes)} exist); nothing written.")
        started = time.monotonic()
        counts = demo.seed_demo(days=days, cdn_days=cdn_days, seed=seed)
        summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
        self.stdout.write(f"Demo data loaded in {time.monotonic() - started:.1f} s: {summary}.")
        started = time.monotonic()
        call_command("rebuild_rollups", stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(f"Rollups rebuilt in {time.monotonic() - started:.1f} s.")

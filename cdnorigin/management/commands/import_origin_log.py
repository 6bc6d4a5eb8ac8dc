"""`import_origin_log --domain D FILE...`: nginx combined logs -> minute samples added to D's.

Each file is its own transaction: a refused (already imported) or unreadable file adds nothing and
does not stop the others; the command then exits non-zero after the summary, so scripts notice.
"""

import os
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from cdnorigin.log_import import LogImportError, import_log_file
from cdnorigin.models import Domain


class Command(BaseCommand):
    help = (
        "Import nginx `combined` access logs (plain or gzip) of origin DOMAIN: per-minute traffic, requests "
        "and status counts are added to what is stored. A file whose content was imported before is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("--domain", required=True, help="the origin's domain name (must exist)")
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args, domain, files, **options):
        target = Domain.objects.filter(name=domain.strip().lower()).first()
        if target is None:
            raise CommandError(f"No such domain: {domain}. Create it first (POST /api/v1/cdn/domains/).")
        missing = [path for path in files if not os.path.isfile(path)]
        if missing:
            raise CommandError(f"Not a readable file: {', '.join(missing)}. Nothing was imported.")

        results, failures = [], []
        for path in files:
            try:
                result = self._import(target, path)
            except LogImportError as exc:
                failures.append(str(exc))
                self.stderr.write(f"Refused {exc}")
                continue
            results.append(result)
            self.stdout.write(self._file_line(result))
        self.stdout.write(self._summary(target, results, failures))
        if failures:
            raise CommandError(f"{len(failures)} of {len(files)} file(s) not imported (reasons above).")

    def _import(self, target, path):
        stream = getattr(self.stderr, "_out", sys.stderr)  # tqdm redraws with \r; bypass OutputWrapper's newline
        # Log lines (a batch stored, a rollup recomputed) are printed above the bar, not through it.
        with (
            logging_redirect_tqdm(),
            tqdm(
                total=os.path.getsize(path),
                desc=os.path.basename(path),
                unit="B",
                unit_scale=True,
                file=stream,
                leave=False,
            ) as bar,
        ):
            return import_log_file(target, path, progress=bar.update)

    @staticmethod
    def _file_line(result) -> str:
        line = (
            f"{result.path}: {result.lines} lines, {result.requests} requests in {len(result.minutes)} minutes, "
            f"{result.skipped} malformed skipped"
        )
        if result.bad_line_numbers:
            more = ", ..." if result.skipped > len(result.bad_line_numbers) else ""
            line += f" (lines {', '.join(map(str, result.bad_line_numbers))}{more})"
        return line

    @staticmethod
    def _summary(target, results, failures) -> str:
        minutes = {minute for result in results for minute in result.minutes}
        text = (
            f"Imported {len(results)} file(s) into {target.name}: {sum(r.lines for r in results)} lines, "
            f"{sum(r.requests for r in results)} requests, {len(minutes)} minute sample(s) touched, "
            f"{sum(r.skipped for r in results)} malformed line(s) skipped"
        )
        if minutes:
            text += f", {min(minutes):%Y-%m-%d %H:%M} .. {max(minutes):%Y-%m-%d %H:%M} UTC"
        if failures:
            text += f"; {len(failures)} file(s) refused"
        return text + "."

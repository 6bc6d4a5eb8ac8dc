"""Turning nginx `combined` access logs of one origin into minute samples.

A file is streamed line by line (plain or gzip, told apart by its magic bytes) and folded into one
entry per UTC minute, so memory grows with the minutes a log spans, never with its lines. Its
SHA-256 is taken over the decompressed content, so a log and its `.gz` copy are the same file:
importing either twice would double count, and the second is refused.
"""

import datetime as dt
import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import IntegrityError, transaction

from cdnorigin.ingest import MAX_TIMESTAMP, MAX_VALUE, add_origin_samples
from cdnorigin.models import Domain, ImportedLog

# $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
# Fields some setups append after the user agent are ignored.
_QUOTED = rb'"[^"\\]*(?:\\.[^"\\]*)*"'  # "...", backslash escapes allowed (unrolled: no per-character alternation)
COMBINED = re.compile(
    rb"\S+ \S+ \S+ "
    rb"\[(\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d):(\d\d) ([+-]\d{4})\] "
    + _QUOTED
    + rb" (\d{3}) (\d+|-) "
    + _QUOTED
    + b" "
    + _QUOTED
    + rb"(?:[ \t][^\n]*)?\r?\n?\Z"
)
MONTHS = {
    name: number
    for number, name in enumerate(
        (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"), start=1
    )
}
EPOCH = dt.datetime(1970, 1, 1)
EPOCH_UTC = EPOCH.replace(tzinfo=dt.UTC)
GZIP_MAGIC = b"\x1f\x8b"
MAX_LINE = 64 * 1024  # longer "lines" are garbage; they are skipped without being held whole
BAD_LINES_KEPT = 10
PROGRESS_EVERY = 2048  # lines between progress callbacks


class LogLine(NamedTuple):
    minute: dt.datetime  # start of the UTC minute
    status: int
    body_bytes: int


class LogAggregate(NamedTuple):
    per_minute: dict  # aware UTC minute start -> (flux, pv, {code: count})
    lines: int
    skipped: int
    bad_line_numbers: list[int]  # the first few, 1-based
    sha256: str


@dataclass
class ImportResult:
    path: str
    sha256: str
    lines: int
    skipped: int
    bad_line_numbers: list[int] = field(default_factory=list)
    minutes: list[dt.datetime] = field(default_factory=list)
    requests: int = 0


class LogImportError(Exception):
    """A file that was not imported; nothing of it was added."""


class AlreadyImported(LogImportError):
    def __init__(self, path: str, previous: ImportedLog | None):
        when = f" on {previous.imported_at:%Y-%m-%d %H:%M:%S %Z} as {previous.file_name}" if previous else ""
        super().__init__(f"{path}: already imported{when} (same content); nothing added")
        self.previous = previous


class UnreadableLog(LogImportError):
    pass


def _epoch_minute(stamp: bytes, offset: bytes) -> int:
    """Minutes since the epoch (UTC) of `dd/Mon/yyyy:HH:MM` at `+hhmm`; ValueError if impossible or
    outside the years samples may have (1970..2099, as `add_origin_samples` accepts)."""
    off_h, off_m = int(offset[1:3]), int(offset[3:5])
    if off_h > 23 or off_m > 59:
        raise ValueError("bad offset")
    local = dt.datetime(
        int(stamp[7:11]), MONTHS[stamp[3:6].lower()], int(stamp[0:2]), int(stamp[12:14]), int(stamp[15:17])
    )
    minute = (local - EPOCH) // dt.timedelta(minutes=1) - (off_h * 60 + off_m) * (-1 if offset[:1] == b"-" else 1)
    if not 0 <= minute < MAX_TIMESTAMP // 60:
        raise ValueError("time outside 1970..2099")
    return minute


def _parse(line: bytes, minutes: dict) -> tuple[int, int, int] | None:
    """(epoch minute, status, body bytes) or None. `minutes` caches the conversion per stamp and offset:
    a log's lines share few minutes, and the datetime arithmetic is the slow part."""
    match = COMBINED.match(line)
    if match is None:
        return None
    stamp, second, offset, status, sent = match.groups()
    status = int(status)
    if not 100 <= status <= 599 or second > b"60":  # 60: a leap second
        return None
    key = (stamp, offset)
    minute = minutes.get(key)
    if minute is None:
        try:
            minute = minutes[key] = _epoch_minute(stamp, offset)
        except (ValueError, KeyError):
            return None
    sent = 0 if sent == b"-" else int(sent)
    if sent > MAX_VALUE:
        return None
    return minute, status, sent


def _as_datetime(epoch_minute: int) -> dt.datetime:
    return EPOCH_UTC + dt.timedelta(minutes=epoch_minute)


def parse_line(line: bytes | str) -> LogLine | None:
    """One combined-format line -> (UTC minute, status, body bytes), or None when malformed."""
    if isinstance(line, str):
        line = line.encode("utf-8", "surrogateescape")
    parsed = _parse(line, {})
    return None if parsed is None else LogLine(_as_datetime(parsed[0]), parsed[1], parsed[2])


def _skip_rest_of_line(stream, digest) -> None:
    """Consume an overlong line piece by piece (still hashing it) without holding it whole."""
    while rest := stream.readline(MAX_LINE):
        digest.update(rest)
        if rest.endswith(b"\n"):
            return


def aggregate_file(path: str | os.PathLike, progress: Callable[[int], None] | None = None) -> LogAggregate:
    """Stream one log into per-minute sums. `progress(n)` is told how many more file bytes were read."""
    totals: dict[int, list] = {}
    minutes: dict = {}
    digest = hashlib.sha256()
    lines = skipped = 0
    bad: list[int] = []
    reported = 0
    try:
        with open(path, "rb") as raw:
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if raw.peek(2)[:2] == GZIP_MAGIC else raw
            while line := stream.readline(MAX_LINE):
                digest.update(line)
                lines += 1
                parsed = None
                if len(line) == MAX_LINE and not line.endswith(b"\n"):
                    _skip_rest_of_line(stream, digest)
                else:
                    parsed = _parse(line, minutes)
                if parsed is None:
                    skipped += 1
                    if len(bad) < BAD_LINES_KEPT:
                        bad.append(lines)
                else:
                    minute, status, sent = parsed
                    entry = totals.get(minute)
                    if entry is None:
                        entry = totals[minute] = [0, 0, {}]
                    entry[0] += sent
                    entry[1] += 1
                    entry[2][status] = entry[2].get(status, 0) + 1
                if progress is not None and lines % PROGRESS_EVERY == 0:
                    position = raw.tell()
                    progress(position - reported)
                    reported = position
            if progress is not None:
                progress(raw.tell() - reported)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise UnreadableLog(f"{path}: cannot read ({exc}); nothing added") from exc

    per_minute = {_as_datetime(minute): (flux, pv, status) for minute, (flux, pv, status) in totals.items()}
    return LogAggregate(per_minute, lines, skipped, bad, digest.hexdigest())


def import_log_file(
    domain: Domain, path: str | os.PathLike, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Add one log's minute sums to `domain`'s samples, together with its ImportedLog row, in one
    transaction. Raises LogImportError (AlreadyImported: same content seen before; UnreadableLog); then
    nothing of the file is added."""
    aggregate = aggregate_file(path, progress)
    name = os.fspath(path)
    previous = ImportedLog.objects.filter(sha256=aggregate.sha256).first()
    if previous is not None:
        raise AlreadyImported(name, previous)
    try:
        with transaction.atomic():
            ImportedLog.objects.create(
                domain=domain,
                sha256=aggregate.sha256,
                file_name=os.path.abspath(name)[-1000:],
                lines=aggregate.lines,
                samples=len(aggregate.per_minute),
                skipped=aggregate.skipped,
            )
            if aggregate.per_minute:
                add_origin_samples(domain, aggregate.per_minute)
    except ValueError as exc:  # e.g. a minute's sum beyond what a sample may hold
        raise LogImportError(f"{name}: {exc}; nothing added") from exc
    except IntegrityError:
        previous = ImportedLog.objects.filter(sha256=aggregate.sha256).first()
        if previous is None:
            raise
        raise AlreadyImported(name, previous) from None  # a concurrent import of the same content won
    return ImportResult(
        path=name,
        sha256=aggregate.sha256,
        lines=aggregate.lines,
        skipped=aggregate.skipped,
        bad_line_numbers=aggregate.bad_line_numbers,
        minutes=sorted(aggregate.per_minute),
        requests=sum(pv for _, pv, _ in aggregate.per_minute.values()),
    )

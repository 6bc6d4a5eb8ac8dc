"""Period arithmetic of DescribeCdnOriginData, in Unix seconds and local clock time.

`1min` and `5min` periods are fixed-length on the Unix clock: every zone's UTC offset is a multiple of
15 minutes, so UTC and local 5-minute boundaries coincide. `hour` periods start where the local minute
is 0 and last 3600 s (a zone 5:45 ahead starts its hours at hh:15 UTC). `day` periods run from local
midnight to the next local midnight in INSIGHTS_TIME_ZONE, so a DST day lasts 23 or 25 hours.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

# Length of the fixed-length intervals; `day` is here as its nominal length for span checks only.
FIXED_SECONDS = {"1min": 60, "5min": 300, "hour": 3600}
INTERVALS = ("1min", "5min", "hour", "day")
FIVE_MINUTES = 300


def local_zone() -> ZoneInfo:
    """Read at call time so tests (and a restarted service) may change the setting."""
    return ZoneInfo(settings.INSIGHTS_TIME_ZONE)


def _offset(ts: int, zone: ZoneInfo) -> int:
    return int(datetime.fromtimestamp(ts, zone).utcoffset().total_seconds())


def _local_midnight(day: date, zone: ZoneInfo) -> int:
    # fold=0: a midnight skipped by DST maps to the transition instant, the first moment of that day.
    return int(datetime.combine(day, time(), tzinfo=zone).timestamp())


def floor(ts: int, interval: str, zone: ZoneInfo) -> int:
    """Start of the period of `interval` that contains `ts`."""
    if interval == "day":
        return _local_midnight(datetime.fromtimestamp(ts, zone).date(), zone)
    if interval == "hour":
        return ts - (ts + _offset(ts, zone)) % 3600
    return ts - ts % FIXED_SECONDS[interval]


def next_start(start: int, interval: str, zone: ZoneInfo) -> int:
    """Start of the period after the one starting at `start`."""
    if interval == "day":
        return _local_midnight(datetime.fromtimestamp(start, zone).date() + timedelta(days=1), zone)
    return start + FIXED_SECONDS[interval]


@dataclass(frozen=True)
class Periods:
    """The periods of an answer: `starts[i]` is period i's start, `end` the end of the last one."""

    interval: str
    starts: tuple[int, ...]
    end: int

    @property
    def first(self) -> int:
        return self.starts[0]

    def __len__(self) -> int:
        return len(self.starts)

    def index_of(self, ts: int) -> int | None:
        """Index of the period containing instant `ts`, None outside all of them."""
        if ts < self.starts[0] or ts >= self.end:
            return None
        if self.interval in FIXED_SECONDS:
            return (ts - self.starts[0]) // FIXED_SECONDS[self.interval]
        return bisect_right(self.starts, ts) - 1

    def bounds(self, index: int) -> tuple[int, int]:
        stop = self.starts[index + 1] if index + 1 < len(self.starts) else self.end
        return self.starts[index], stop

    def seconds(self, index: int) -> int:
        start, stop = self.bounds(index)
        return stop - start

    def first_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.starts[0], UTC)

    def end_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.end, UTC)


def periods_between(start: int, end: int, interval: str, zone: ZoneInfo | None = None) -> Periods:
    """Periods from the one containing `start` through the one containing `end`: [floor(S), floor(E)+I)."""
    zone = zone or local_zone()
    current = floor(start, interval, zone)
    last = floor(end, interval, zone)
    starts = []
    while current <= last:
        starts.append(current)
        current = next_start(current, interval, zone)
    return Periods(interval, tuple(starts), current)

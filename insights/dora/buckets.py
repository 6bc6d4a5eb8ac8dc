"""Buckets of a local-day range (daily, ISO weekly from Monday, monthly, all) and the order statistics
every duration metric reports.

A range is start..end inclusive local days in `INSIGHTS_TIME_ZONE`; weekly and monthly buckets are
clipped to it, so the first bucket starts on `start` whatever its weekday. An instant belongs to the
bucket of its local day, found by bisection on the buckets' UTC start instants (no per-row zone maths).
"""

import math
import statistics
from bisect import bisect_right
from datetime import date, datetime, timedelta

from insights.dirty import day_bounds

INTERVALS = ("daily", "weekly", "monthly", "all")
ONE_DAY = timedelta(days=1)


def bucket_days(start: date, end: date, interval: str) -> list[date]:
    """The first day of every bucket, ascending."""
    if interval == "all":
        return [start]
    days = []
    day = start
    while day <= end:
        days.append(day)
        if interval == "daily":
            day += ONE_DAY
        elif interval == "weekly":
            day += timedelta(days=7 - day.weekday())
        else:
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return days


class Grid:
    """A range cut into buckets: `index(instant)` is the bucket holding it, or None outside the range."""

    def __init__(self, start: date, end: date, interval: str):
        self.days = bucket_days(start, end, interval)
        self.starts = [day_bounds(day)[0] for day in self.days]
        self.lo = self.starts[0]
        self.hi = day_bounds(end)[1]

    def index(self, moment: datetime) -> int | None:
        if not self.lo <= moment < self.hi:
            return None
        return bisect_right(self.starts, moment) - 1

    def empty(self) -> list[list]:
        return [[] for _ in self.days]


def median(values: list[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None without values."""
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """The nearest-rank 90th percentile: the smallest value at least 90% of the values do not exceed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def seconds(delta: timedelta) -> float:
    """A duration in seconds (microsecond precision); a negative one (clock skew) counts as 0."""
    return max(delta, timedelta(0)) / timedelta(seconds=1)

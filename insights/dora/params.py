"""Query strings of `/api/v1/dora/` (metrics, summary, deployments, changes), parsed into selector arguments.

Every mistake is a 400 in the `/api/v1/` shape, `{"<parameter>": ["<message>"]}`, before any database work.
Decisions (docs/api/dora.md says the same):
- Dates are `YYYY-MM-DD` local days (INSIGHTS_TIME_ZONE), from 2000-01-01 to 2099-12-31, both inclusive.
  Defaults as GitLab's: `end_date` today, `start_date` three calendar months before `end_date` (the day
  clamped to the month's length), `interval` daily. `metric` is required on /metrics.
- A range may cover at most MAX_RANGE_DAYS days (two years, so a year-on-year view fits); longer is 400.
- A scalar given twice with different values is 400. `project`, `service` and `environment` repeat;
  empty values are ignored; a value holding a NUL character is 400 (it can match nothing).
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from rest_framework.exceptions import ValidationError

from insights.dirty import local_day
from insights.dora.buckets import INTERVALS
from insights.dora.selectors import METRICS, Scope

MAX_RANGE_DAYS = 731
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FILTERS = ("project", "service", "environment")


@dataclass(frozen=True)
class DoraQuery:
    start: date
    end: date
    scope: Scope
    metric: str = ""
    interval: str = "daily"


def _one(params, name: str) -> str | None:
    values = params.getlist(name)
    if not values:
        return None
    if len(set(values)) > 1:
        raise ValidationError({name: ["Given twice with different values."]})
    if "\x00" in values[0]:
        raise ValidationError({name: ["Must not contain a NUL character."]})
    return values[0]


def _day(params, name: str) -> date | None:
    raw = _one(params, name)
    if raw is None:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: ["Use a date as YYYY-MM-DD, e.g. 2024-03-01."]}) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError({name: [f"Must lie between {FIRST_DAY} and {LAST_DAY}."]})
    return day


def three_months_before(day: date) -> date:
    year, month = (day.year, day.month - 3) if day.month > 3 else (day.year - 1, day.month + 9)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _choice(params, name: str, choices: tuple[str, ...], default: str | None) -> str:
    raw = _one(params, name)
    if raw is None or raw == "":
        if default is None:
            raise ValidationError({name: [f"Required: one of {', '.join(choices)}."]})
        return default
    if raw not in choices:
        raise ValidationError({name: [f"Unknown value; use one of {', '.join(choices)}."]})
    return raw


def _names(params, name: str) -> tuple[str, ...]:
    values = [value.strip() for value in params.getlist(name)]
    if any("\x00" in value for value in values):
        raise ValidationError({name: ["Must not contain a NUL character."]})
    return tuple(sorted({value for value in values if value}))


def parse(params, *, series: bool) -> DoraQuery:
    """The query of /metrics (`series`) or /summary; parameters not documented are ignored."""
    metric = _choice(params, "metric", METRICS, None) if series else ""
    interval = _choice(params, "interval", INTERVALS, "daily") if series else "all"
    end = _day(params, "end_date") or min(local_day(timezone.now()), LAST_DAY)
    start = _day(params, "start_date") or max(three_months_before(end), FIRST_DAY)
    if end < start:
        raise ValidationError({"end_date": ["Must not be before start_date."]})
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError({"end_date": [f"The range may cover at most {MAX_RANGE_DAYS} days."]})
    scope = Scope(*(_names(params, name) for name in FILTERS))
    return DoraQuery(start, end, scope, metric, interval)

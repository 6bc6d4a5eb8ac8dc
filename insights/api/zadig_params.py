"""Query-string parsing of the six Zadig statistics endpoints (API.md section 2).

Every rule raises `ZadigError` (400) naming the parameter, so a view is parse -> select -> respond.
Decisions where API.md and the seed are silent:
- Integer parameters are strict ASCII decimals (`^[0-9]+$`): an empty value, a sign, spaces, "1.5",
  "1e9" or a non-ASCII digit is 400. Negative Unix times are 400 (no CI data predates 1970).
- A Unix time must lie in 0..MAX_TIMESTAMP (9999-12-29 UTC), so every local day and the day after it
  stay inside Python's date range in any zone; larger values are 400, never an overflow.
- A day range (`startDate`..`endDate`) may cover at most MAX_RANGE_DAYS days (about a century), so a
  zero-filled series stays a sane size; longer is 400. Without dates the series ends today (or on
  the last day with data) and holds at most as many days, the newest ones.
- `pageNum` is at most 10**12 (a larger page is past any data); `pageSize` 1..1000 as documented.
- `end_time`/`endTime` are inclusive for their whole second: an instant counts when its Unix time
  floored to seconds lies in [start, end] (so 12:00:00.5 is inside `end_time` = 12:00:00).
- A scalar parameter given twice (or under its name and its alias) with different values is 400;
  the same value twice is accepted.
- Empty filter values (`projectKey=`, `envName=`, `serviceName=`, `productNames=`) mean "no filter";
  project keys are trimmed of surrounding spaces and empty items are dropped.
- A value containing a NUL character is 400 (it can match nothing, and PostgreSQL refuses it).
- Parameters the endpoint does not document (including `token`) are ignored.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from insights.api.errors import ZadigError
from insights.dirty import local_day
from insights.selectors import MAX_SERIES_DAYS

MAX_TIMESTAMP = 253_402_041_600  # 9999-12-29T00:00:00Z
MAX_RANGE_DAYS = MAX_SERIES_DAYS
MAX_RELEASE_SPAN_SECONDS = 366 * 86400
MAX_PAGE_SIZE = 1000
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class DailyQuery:
    """build/deploy/test: project keys (None = all) and an inclusive local day range (None = all data)."""

    project_keys: list[str] | None
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class ReleaseQuery:
    project_keys: list[str] | None
    start: datetime  # inclusive
    end: datetime  # exclusive: one second after end_time, so the whole second end_time counts


@dataclass(frozen=True)
class RollbackQuery:
    project_key: str | None
    env_name: str | None
    service_name: str | None
    start: datetime  # inclusive
    end: datetime  # exclusive, as above
    page_num: int
    page_size: int


def _values(params, name: str) -> list[str]:
    """Every value of `name`; a NUL character is refused here (PostgreSQL text cannot hold it)."""
    values = params.getlist(name)
    if any("\x00" in value for value in values):
        raise ZadigError(f"{name} must not contain a NUL character.")
    return values


def _single(params, *names: str) -> str | None:
    """The one value of a scalar parameter known under `names` (name first, then aliases)."""
    values = [value for name in names for value in _values(params, name)]
    if not values:
        return None
    if len(set(values)) > 1:
        raise ZadigError(f"{' / '.join(names)}: given more than once with different values.")
    return values[0]


def _integer(name: str, raw: str, *, maximum: int) -> int:
    if not _DIGITS.fullmatch(raw):
        raise ZadigError(f"{name} must be a non-negative integer, not {raw!r}.")
    value = int(raw) if len(raw) <= 20 else maximum + 1  # no int() of a 10,000-digit string
    if value > maximum:
        raise ZadigError(f"{name} must be at most {maximum}, not {raw}.")
    return value


def _unix_time(params, *names: str, required: bool = False) -> int | None:
    raw = _single(params, *names)
    if raw is None:
        if required:
            raise ZadigError(f"{names[0]} is required (Unix seconds).")
        return None
    return _integer(names[0], raw, maximum=MAX_TIMESTAMP)


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def project_keys(params, *names: str) -> list[str] | None:
    """Keys from repeated and/or comma-separated values of every name given; None = all projects."""
    keys = {
        item.strip() for name in names for value in _values(params, name) for item in value.split(",") if item.strip()
    }
    return sorted(keys) or None


def daily_query(params) -> DailyQuery:
    keys = project_keys(params, "productNames", "projectKey")
    start = _unix_time(params, "startDate")
    end = _unix_time(params, "endDate")
    if start is None and end is None:
        return DailyQuery(keys, None, None)
    if start is None or end is None:
        missing = "startDate" if start is None else "endDate"
        raise ZadigError(f"{missing} is required when the other of startDate/endDate is given.")
    if end < start:
        raise ZadigError(f"endDate ({end}) must not be before startDate ({start}).")
    first, last = local_day(_instant(start)), local_day(_instant(end))
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ZadigError(f"startDate..endDate may cover at most {MAX_RANGE_DAYS} days.")
    return DailyQuery(keys, first, last)


def release_query(params) -> ReleaseQuery:
    keys = project_keys(params, "project_name", "projectKey")
    start = _unix_time(params, "start_time", "startTime", required=True)
    end = _unix_time(params, "end_time", "endTime", required=True)
    if end < start:
        raise ZadigError(f"end_time ({end}) must not be before start_time ({start}).")
    if end - start > MAX_RELEASE_SPAN_SECONDS:
        raise ZadigError(f"end_time - start_time must be at most {MAX_RELEASE_SPAN_SECONDS} seconds (366 days).")
    return ReleaseQuery(keys, _instant(start), _instant(end + 1))


def _filter(params, name: str) -> str | None:
    return _single(params, name) or None


def rollback_query(params) -> RollbackQuery:
    start = _unix_time(params, "startTime", required=True)
    end = _unix_time(params, "endTime", required=True)
    if end < start:
        raise ZadigError(f"endTime ({end}) must not be before startTime ({start}).")
    raw_num = _single(params, "pageNum")
    page_num = 1 if raw_num is None else _integer("pageNum", raw_num, maximum=10**12)
    if page_num < 1:
        raise ZadigError("pageNum must be at least 1.")
    raw_size = _single(params, "pageSize")
    if raw_size is None:
        raise ZadigError(f"pageSize is required (1..{MAX_PAGE_SIZE}).")
    page_size = _integer("pageSize", raw_size, maximum=MAX_PAGE_SIZE)
    if page_size < 1:
        raise ZadigError(f"pageSize must be between 1 and {MAX_PAGE_SIZE}, not {page_size}.")
    return RollbackQuery(
        project_key=_filter(params, "projectKey"),
        env_name=_filter(params, "envName"),
        service_name=_filter(params, "serviceName"),
        start=_instant(start),
        end=_instant(end + 1),
        page_num=page_num,
        page_size=page_size,
    )

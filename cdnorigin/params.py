"""Parsing and validation of DescribeCdnOriginData's parameters (API.md section 4 and its seed).

Everything a client can get wrong is answered here as 400 `InvalidParameter.<Name>`, before any
database work. Decisions where the seed and API.md are silent:

- Times: JSON integers, or strings of ASCII digits (a GET query string); booleans, floats (even
  whole ones, as the upstream Long field refuses them), signs, spaces and values above 2**32-1 -> 400.
  Only one of the two -> 400 naming the missing one; StartTime > EndTime -> `.StartTime`.
- Retention: StartTime older than now - CDN_RETENTION_DAYS -> `.StartTime` (the first period may
  still start before that instant when it is floored). A future EndTime is allowed (zeros).
- Interval: exact lower-case values; one not fitting the span, or a span over 92 days -> `.Interval`.
- Metric: required, exactly one (the seed says "指定一个指标"); a comma list -> `.Metric`.
- Domain: exact, case-sensitive names; empty items, whitespace, control characters, names over
  253 characters, repeats or more than 50 -> `.Domain`. A JSON list is refused, too.
- `None` and "" mean "not given" for every parameter; Aggregate given without Domain is validated
  and then ignored (the seed forces `aggregate`). Unknown parameters (Action, Version, ...) are ignored.
- A body that is not an object -> `InvalidParameter.Body`.
- Size: an answer of more than `origin_data.limits.MAX_POINTS_PER_ANSWER` points (series x periods over
  every resource) -> `.Interval`. status_2xx..5xx answer a series per code counted, so that is checked
  once the codes are read (first thing in `origin_data.shape`), not here; still before any answer is built.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from .errors import VolcError, invalid_parameter
from .periods import INTERVALS

DAY = 86400
# The interval a span allows (seed): at most 1 day, 31 days, 92 days; a longer span allows none.
SPAN_LIMITS = ((1 * DAY, ("1min", "5min", "hour")), (31 * DAY, ("5min", "hour", "day")), (92 * DAY, ("day",)))
DEFAULT_INTERVAL = "5min"
DEFAULT_SPAN = DAY  # neither StartTime nor EndTime: the last 24 hours
METRICS = ("flux", "bandwidth", "pv", "qps", "status_all", "status_2xx", "status_3xx", "status_4xx", "status_5xx")
RATES = ("bandwidth", "qps")  # answered as per-second floats; the other metrics are integer sums
MAX_DOMAINS = 50
MAX_DOMAIN_LENGTH = 253
# Unix seconds an answer may be asked about: up to 2106, far past any retention, safely inside datetime.
MAX_TIMESTAMP = 2**32 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")

# What the answer holds: a resource per domain, the `total`, or both.
PER_DOMAIN = "per_domain"
TOTAL = "total"
BOTH = "both"


@dataclass(frozen=True)
class OriginQuery:
    start: int
    end: int
    interval: str
    metric: str
    domains: tuple[str, ...] | None  # None: every domain the caller may see
    output: str  # PER_DOMAIN, TOTAL or BOTH


def _given(params: Mapping, name: str):
    value = params.get(name)
    return None if value is None or value == "" else value


def _timestamp(params: Mapping, name: str) -> int | None:
    value = _given(params, name)
    if value is None:
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    # bool is an int to Python, never to a client; floats are refused like the upstream Long field does.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TIMESTAMP:
        raise invalid_parameter(name, f"{name} must be a Unix timestamp in seconds (an integer 0..{MAX_TIMESTAMP})")
    return value


def _time_range(params: Mapping, now: datetime) -> tuple[int, int]:
    start, end = _timestamp(params, "StartTime"), _timestamp(params, "EndTime")
    if start is None and end is None:
        end = int(now.timestamp())
        return end - DEFAULT_SPAN, end
    if start is None:
        raise invalid_parameter("StartTime", "StartTime and EndTime must be given together")
    if end is None:
        raise invalid_parameter("EndTime", "StartTime and EndTime must be given together")
    if start > end:
        raise invalid_parameter("StartTime", "StartTime must be earlier than or equal to EndTime")
    oldest = int(now.timestamp()) - settings.CDN_RETENTION_DAYS * DAY
    if start < oldest:
        raise invalid_parameter(
            "StartTime", f"origin data is kept for {settings.CDN_RETENTION_DAYS} days; StartTime must be >= {oldest}"
        )
    return start, end


def allowed_intervals(span: int) -> tuple[str, ...]:
    for limit, intervals in SPAN_LIMITS:
        if span <= limit:
            return intervals
    return ()


def _interval(params: Mapping, span: int) -> str:
    interval = _given(params, "Interval")
    if interval is None:
        interval = DEFAULT_INTERVAL
    if not isinstance(interval, str) or interval not in INTERVALS:
        raise invalid_parameter("Interval", f"Interval must be one of {', '.join(INTERVALS)}")
    allowed = allowed_intervals(span)
    if not allowed:
        raise invalid_parameter("Interval", f"the time range may span at most {SPAN_LIMITS[-1][0] // DAY} days")
    if interval not in allowed:
        raise invalid_parameter(
            "Interval", f"Interval {interval} does not fit a span of {span} seconds; use one of {', '.join(allowed)}"
        )
    return interval


def _metric(params: Mapping) -> str:
    metric = _given(params, "Metric")
    if metric is None:
        raise invalid_parameter("Metric", "Metric is required")
    if not isinstance(metric, str) or metric not in METRICS:
        raise invalid_parameter("Metric", f"Metric must be one of {', '.join(METRICS)}")
    return metric


def _domains(params: Mapping) -> tuple[str, ...] | None:
    value = _given(params, "Domain")
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_parameter("Domain", "Domain must be a string of domain names separated by commas")
    names = value.split(",")
    if any(not name or any(char.isspace() for char in name) for name in names):
        raise invalid_parameter("Domain", "Domain names are separated by single commas, without spaces or empty names")
    # Control characters (NUL would even break the database driver) and over-long names name no domain.
    if any(not name.isprintable() or len(name) > MAX_DOMAIN_LENGTH for name in names):
        raise invalid_parameter("Domain", f"a domain name is at most {MAX_DOMAIN_LENGTH} printable characters")
    if len(names) > MAX_DOMAINS:
        raise invalid_parameter("Domain", f"at most {MAX_DOMAINS} domains may be given")
    if len(set(names)) != len(names):
        raise invalid_parameter("Domain", "a domain may be given only once")
    return tuple(names)


def _output(params: Mapping, domains: tuple[str, ...] | None) -> str:
    aggregate = _given(params, "Aggregate")
    if aggregate is not None and aggregate not in ("aggregate", "disaggregate"):
        raise invalid_parameter("Aggregate", "Aggregate must be aggregate or disaggregate")
    if domains is None or aggregate == "aggregate":
        return TOTAL  # the seed: without Domain the system forces Aggregate=aggregate
    return PER_DOMAIN if aggregate == "disaggregate" else BOTH


def parse_query(params: Mapping, now: datetime) -> OriginQuery:
    """The validated query, or VolcError 400 naming the first bad parameter."""
    if not isinstance(params, Mapping):
        raise VolcError(400, "InvalidParameter.Body", "the request body must be a JSON object")
    start, end = _time_range(params, now)
    interval = _interval(params, end - start)
    metric = _metric(params)
    domains = _domains(params)
    output = _output(params, domains)
    return OriginQuery(start, end, interval, metric, domains, output)

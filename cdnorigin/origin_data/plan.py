"""Step 2: which rows answer the query, and which of them may be stale.

The plan names the domains (in the answer's order, after the caller's permissions), the periods, the
source each period is read from, the rollup columns the metric needs, and the dirty 5-minute buckets
in range. Sources:

- `minute_blocks`: 1-minute flux, pv and status_all, from the minutes each 5-minute row carries
  (`cdnorigin.minute_blocks`);
- `minute_codes`: 1-minute single status codes, from the minute rows' status objects;
- `rollups`: 5min/hour/day, from the rollup rows of that interval; a period holding a dirty bucket is
  `stale` and is summed from 5-minute values by `patch`.

The dirty set is read before any rollup row: a recompute committing in between only makes `patch`
take a bucket from raw rows that was already clean, never count one twice.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection

from cdnorigin.dirty import FIVE_MINUTES, dirty_buckets
from cdnorigin.errors import VolcError
from cdnorigin.models import Domain, OriginRollup, OriginSample
from cdnorigin.origin_data.limits import check_answer_size
from cdnorigin.params import BOTH, PER_DOMAIN, TOTAL, OriginQuery
from cdnorigin.periods import Periods, periods_between
from cdnorigin.raw_sums import status_codes_expression

MINUTE_BLOCKS = "minute_blocks"
MINUTE_CODES = "minute_codes"
ROLLUPS = "rollups"


@dataclass(frozen=True)
class Plan:
    query: OriginQuery
    domains: list[tuple[int, str]]  # (id, name) answered, in the answer's order
    scope: list[int] | None  # the ids to filter on; None: every domain, no `IN (...)` list
    periods: Periods
    source: str
    columns: tuple[str, ...]  # OriginRollup columns read (source `rollups`)
    slot_column: str | None  # hour rows' packed 5-minute values, for the total's peaks
    dirty: frozenset[tuple[int, int]]  # (domain id, bucket start) marked, answered domains, in range
    stale: frozenset[tuple[int, int]]  # (domain id, period index) holding a dirty bucket (source `rollups`)

    @property
    def ids(self) -> list[int]:
        return [domain_id for domain_id, _ in self.domains]

    @property
    def with_status(self) -> bool:
        return self.query.metric.startswith("status")

    def status_key(self, code) -> int | None:
        """Where a status code's counts are kept while answering: status_all needs only its class sums,
        so a code is filed under its class (404 under 400); status_Nxx needs the codes of class N and
        drops the rest. Memory then follows what the answer holds, not every code read."""
        number = int(code)
        if self.query.metric == "status_all":
            return number // 100 * 100
        return number if number // 100 == self.status_class else None

    @property
    def status_class(self) -> int | None:
        metric = self.query.metric
        return int(metric[len("status_")]) if metric.startswith("status_") and metric != "status_all" else None

    def bucket_range(self) -> tuple[int, int]:
        """The periods' span widened to whole 5-minute buckets (a 1-minute range may start mid-bucket)."""
        first = self.periods.first - self.periods.first % FIVE_MINUTES
        return first, -(-self.periods.end // FIVE_MINUTES) * FIVE_MINUTES


def make_plan(query: OriginQuery, allowed_domains: set[str] | None) -> Plan:
    domains = _resolve_domains(query.domains, allowed_domains)
    periods = periods_between(query.start, query.end, query.interval)
    ids = [domain_id for domain_id, _ in domains]
    scope = None if query.domains is None and allowed_domains is None else ids
    status = query.metric.startswith("status")
    if query.interval != "1min":
        source = ROLLUPS
    elif status and query.metric != "status_all":
        source = MINUTE_CODES
    else:
        source = MINUTE_BLOCKS
    total_peaks = query.metric in ("bandwidth", "qps") and query.interval in ("hour", "day")
    total_peaks = total_peaks and query.output in (TOTAL, BOTH)
    slot_column = ("five_minute_flux" if query.metric == "bandwidth" else "five_minute_pv") if total_peaks else None
    plan = Plan(query, domains, scope, periods, source, _columns(query), slot_column, frozenset(), frozenset())
    if plan.status_class is not None:
        _check_code_count(plan)
    if source == MINUTE_CODES:
        return plan  # read from the minute rows themselves: nothing can be stale
    dirty = _dirty(plan)
    stale = {(domain_id, periods.index_of(start)) for domain_id, start in dirty} if source == ROLLUPS else set()
    return Plan(query, domains, scope, periods, source, plan.columns, slot_column, frozenset(dirty), frozenset(stale))


def _resolve_domains(names: tuple[str, ...] | None, allowed: set[str] | None) -> list[tuple[int, str]]:
    """(id, name) of the domains asked about, in request order; 403 before 404, as the seed's sub-accounts."""
    if names is None:
        rows = Domain.objects.all() if allowed is None else Domain.objects.filter(name__in=allowed)
        return list(rows.order_by("name").values_list("id", "name"))
    if allowed is not None and any(name not in allowed for name in names):
        raise VolcError(403, "AccessDenied.IAMUnauthorized", "您没有权限执行该操作")
    found = dict(Domain.objects.filter(name__in=names).values_list("name", "id"))
    missing = [name for name in names if name not in found]
    if missing:
        raise VolcError(404, "NotFound.Domain", f"账户下无此域名:{','.join(missing)}")
    return [(found[name], name) for name in names]


def _columns(query: OriginQuery) -> tuple[str, ...]:
    """The rollup columns a metric is answered from at 5min/hour/day: rates read the largest 5-minute
    sums at hour/day, status metrics the status object."""
    if query.metric.startswith("status"):
        return ("status",)
    if query.metric in ("flux", "pv"):
        return (query.metric,)
    column = "flux" if query.metric == "bandwidth" else "pv"
    return (column,) if query.interval == "5min" else (f"peak_{column}_5m",)


def _dirty(plan: Plan) -> set[tuple[int, int]]:
    """Marked buckets of the answered domains overlapping the periods, as (domain id, Unix second).

    Marks of domains not answered about (deleted, or created since they were listed) are left out."""
    first, end = plan.bucket_range()
    wanted = set(plan.ids)
    return {
        (domain_id, int(start.timestamp()))
        for domain_id, start in dirty_buckets(plan.scope, _utc(first), _utc(end))
        if domain_id in wanted
    }


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _check_code_count(plan: Plan) -> None:
    """Refuse a per-code answer too large to hold before reading its rows (memory would follow the codes
    read): its series are counted from the codes stored in range, which a rollup row or sample lists only
    when counted (zero counts are left out here). `shape` checks again on what was read, dirty buckets
    included."""
    pairs = _stored_codes(plan)
    per_domain: dict[int, set[str]] = {}
    for domain_id, code in pairs:
        per_domain.setdefault(domain_id, set()).add(code)
    by_domain, with_total = plan.query.output in (PER_DOMAIN, BOTH), plan.query.output in (TOTAL, BOTH)
    resources = len(plan.domains) * by_domain + with_total
    codes = sum(map(len, per_domain.values())) if by_domain else 0
    codes += len(set().union(*per_domain.values())) if with_total and per_domain else 0
    check_answer_size(resources + codes, len(plan.periods))


def _stored_codes(plan: Plan) -> list[tuple[int, str]]:
    """(domain id, code) of class `plan.status_class` counted in range: in the rollups of the interval, or
    at 1min in the minute rows."""
    periods, qn = plan.periods, connection.ops.quote_name
    if plan.source == ROLLUPS:
        table, time_column, where = qn(OriginRollup._meta.db_table), "start", [f"r.{qn('interval')} = %s"]
        params: list = [periods.interval]
    else:
        table, time_column, where = qn(OriginSample._meta.db_table), "minute", []
        params = []
    where += [f"r.{time_column} >= %s", f"r.{time_column} < %s"]
    adapt = connection.ops.adapt_datetimefield_value  # as stored (SQLite compares the text)
    params += [adapt(periods.first_datetime()), adapt(periods.end_datetime())]
    where += ["substr(e.key, 1, 1) = %s", "CAST(e.value AS bigint) > 0"]
    params.append(str(plan.status_class))
    if plan.scope is not None:
        where.append(f"r.domain_id IN ({', '.join(['%s'] * len(plan.scope))})")
        params += plan.scope
    with connection.cursor() as cursor:
        condition = " AND ".join(where)
        codes = status_codes_expression("r")
        cursor.execute(f"SELECT r.domain_id, e.key FROM {table} r, {codes} e WHERE {condition} GROUP BY 1, 2", params)
        return cursor.fetchall()

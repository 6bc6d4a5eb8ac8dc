"""Set-based recompute of the origin rollups on PostgreSQL: each level of every dirty bucket at once.

`cdnorigin.rollups` chooses the periods (their starts and ends come from `cdnorigin.periods`, in
Python, so no zone arithmetic runs in SQL) and locks the domains; this module rewrites the periods'
rows level by level, each whole from the level below: a DELETE of the level's rows in the periods and
one INSERT ... SELECT ... GROUP BY, which sums the status by the codes the level last found and checks
they cover every source row (if not, the codes are looked up and the level is written again).

The status of a period is summed code by code over known codes (`SUM((status ->> '200')::int8)`)
rather than by expanding every object with `jsonb_each`: for 10,000 minute rows with the handful of
codes a CDN answers with, even the codes query and the sums took about 60% of the time of `jsonb_each`
(each code costs a lookup per row, so with dozens of codes expanding would win). The rows written
equal those of the portable Python path (tests/cdnorigin/test_rollup_sql.py).
"""

from collections.abc import Sequence

from django.db import connection

from cdnorigin.bulk import int_array
from cdnorigin.dirty import FIVE_MINUTES
from cdnorigin.minute_blocks import MINUTE_FIELDS, MINUTE_SQL, MINUTES
from cdnorigin.models import Interval, OriginRollup, OriginSample

FIVE, HOUR, DAY = Interval.FIVE_MINUTES.value, Interval.HOUR.value, Interval.DAY.value
SLOTS = 12
HOUR_SECONDS = 3600
# jsonb_build_object takes at most 100 arguments (FUNC_MAX_ARGS): 50 codes per call, calls joined by ||.
CODES_PER_OBJECT = 50
INSERT_COLUMNS = (
    "domain_id, interval, start, flux, pv, peak_flux_5m, peak_pv_5m, five_minute_flux, five_minute_pv, minutes, status"
)
# (domain_id, first, stop) periods as Unix seconds, with their bounds as timestamps for the joins.
PERIODS = (
    "(SELECT domain_id, first, to_timestamp(first) AS first_at, to_timestamp(stop) AS stop_at "
    "FROM unnest(%s::int8[], %s::int8[], %s::int8[]) AS u(domain_id, first, stop)) p"
)

Period = tuple[int, int, int]  # domain_id, first second, end second (exclusive)


def _tables() -> tuple[str, str]:
    qn = connection.ops.quote_name
    return qn(OriginSample._meta.db_table), qn(OriginRollup._meta.db_table)


def _period_params(periods: Sequence[Period]) -> list[str]:
    return [int_array(period[column] for period in periods) for column in range(3)]


def _source(level: str) -> str:
    """FROM clause: each period with the rows a period of `level` is summed from (alias `x`).

    A LATERAL subquery per period, kept from being flattened into a join by `OFFSET 0`: the planner
    cannot estimate ranges taken from another relation and would hash-join a sequential scan of the
    whole table; this way each period is one index range scan. The subquery also computes, once per
    row, the integers the outer query groups and places rows by (`bucket`, `slot`): grouping by an
    int8 took half the time of grouping by a timestamp, and the filters of the packed values below
    read `slot` many times per row.
    """
    samples, rollup = _tables()
    if level == FIVE:
        elapsed = "(EXTRACT(EPOCH FROM minute)::int8 - p.first)"
        values = ", ".join(f"{expression} AS {name}" for name, expression in MINUTE_SQL.items())
        rows = (
            f"SELECT status, {values}, {elapsed} / {FIVE_MINUTES} AS bucket, "
            f"{elapsed} %% {FIVE_MINUTES} / 60 AS slot FROM {samples} "
            "WHERE domain_id = p.domain_id AND minute >= p.first_at AND minute < p.stop_at"
        )
    elif level == HOUR:
        elapsed = "(EXTRACT(EPOCH FROM start)::int8 - p.first)"
        rows = (
            f"SELECT flux, pv, peak_flux_5m, peak_pv_5m, status, {elapsed} / {HOUR_SECONDS} AS bucket, "
            f"{elapsed} %% {HOUR_SECONDS} / {FIVE_MINUTES} AS slot FROM {rollup} "
            f"WHERE domain_id = p.domain_id AND interval = '{FIVE}' AND start >= p.first_at AND start < p.stop_at"
        )
    else:
        rows = (
            f"SELECT flux, pv, peak_flux_5m, peak_pv_5m, status FROM {rollup} "
            f"WHERE domain_id = p.domain_id AND interval = '{HOUR}' AND start >= p.first_at AND start < p.stop_at"
        )
    return f"{PERIODS} CROSS JOIN LATERAL ({rows} OFFSET 0) x"


def _codes(cursor, level: str, params: list[str]) -> list[str]:
    """The status codes present in the rows below the periods (few: the sums name each one)."""
    cursor.execute(f"SELECT DISTINCT jsonb_object_keys(x.status) FROM {_source(level)}", params)
    return sorted(code for (code,) in cursor.fetchall())


def _status(codes: list[str]) -> tuple[str, list[str]]:
    """SQL for the summed status object of a group (zero counts left out), and its parameters."""
    if not codes:
        return "'{}'::jsonb", []
    parts, params = [], []
    for offset in range(0, len(codes), CODES_PER_OBJECT):
        chunk = codes[offset : offset + CODES_PER_OBJECT]
        pairs = ", ".join(["%s, NULLIF(SUM((x.status ->> %s)::int8), 0)"] * len(chunk))
        parts.append(f"jsonb_build_object({pairs})")
        params.extend(value for code in chunk for value in (code, code))
    return f"jsonb_strip_nulls({' || '.join(parts)})", params


def _little_endian(column: str) -> str:
    """SQL for the 8 bytes of int8 `column` in little-endian order: int8send (big-endian) of the value
    with its bytes swapped (a shift into the sign bit wraps, as it should here)."""
    swapped = " | ".join(f"((({column} >> {8 * index}) & 255) << {56 - 8 * index})" for index in range(8))
    return f"int8send({swapped})"


def _in_slot(column: str, slot: int) -> str:
    """SQL for the value of `column` in the row of `slot` (0 where the group has none): each slot holds at
    most one row, so MAX picks it. Aggregates with FILTER beat the grid of every slot LEFT JOINed to the
    rows, which sorted and joined twice as many rows as there are."""
    return f"COALESCE(MAX(x.{column}) FILTER (WHERE x.slot = {slot}), 0)"


def _packed_slots(column: str) -> str:
    """SQL for a group's twelve 5-minute values of `column` packed as `rollup_rows.pack_slots` does."""
    return " || ".join(_little_endian(_in_slot(column, slot)) for slot in range(SLOTS))


def _packed_minutes() -> str:
    """SQL for a 5-minute group's block of its minutes (`cdnorigin.minute_blocks`)."""
    return " || ".join(f"int8send({_in_slot(name, slot)})" for slot in range(MINUTES) for name in MINUTE_FIELDS)


def _delete(cursor, level: str, params: list) -> None:
    """Delete the level's rows in the periods (found by the same per-period index scans)."""
    _, rollup = _tables()
    rows = (
        f"SELECT id FROM {rollup} WHERE domain_id = p.domain_id AND interval = '{level}' "
        "AND start >= p.first_at AND start < p.stop_at"
    )
    cursor.execute(
        f"DELETE FROM {rollup} WHERE id IN (SELECT x.id FROM {PERIODS} CROSS JOIN LATERAL ({rows} OFFSET 0) x)",
        params,
    )


def _select_five() -> str:
    """5-minute rows: sums of the minute rows of each UTC bucket inside the periods (a period starts on a
    bucket), and those minutes packed; one pass over the minute rows."""
    return (
        f"SELECT p.domain_id, '{FIVE}' AS interval, to_timestamp(p.first + x.bucket * {FIVE_MINUTES}) AS start, "
        "SUM(x.flux) AS flux, SUM(x.pv) AS pv, SUM(x.flux) AS peak_flux_5m, SUM(x.pv) AS peak_pv_5m, "
        f"''::bytea AS five_minute_flux, ''::bytea AS five_minute_pv, {_packed_minutes()} AS minutes, {{status}}, "
        f"{{covered}} FROM {_source(FIVE)} GROUP BY p.domain_id, p.first, x.bucket"
    )


def _select_hour() -> str:
    """Hour rows: sums and peaks of their 5-minute rows, and those rows' values packed by slot. A period is
    a run of whole hours (3600 s each, as `periods.py` has them): one index scan for a run, not each hour."""
    return (
        f"SELECT p.domain_id, '{HOUR}' AS interval, to_timestamp(p.first + x.bucket * {HOUR_SECONDS}) AS start, "
        "SUM(x.flux) AS flux, "
        "SUM(x.pv) AS pv, MAX(x.peak_flux_5m) AS peak_flux_5m, MAX(x.peak_pv_5m) AS peak_pv_5m, "
        f"{_packed_slots('flux')} AS five_minute_flux, {_packed_slots('pv')} AS five_minute_pv, "
        f"''::bytea AS minutes, {{status}}, {{covered}} FROM {_source(HOUR)} GROUP BY p.domain_id, p.first, x.bucket"
    )


def _select_day() -> str:
    """Day rows: sums and peaks of their hour rows."""
    return (
        f"SELECT p.domain_id, '{DAY}' AS interval, to_timestamp(p.first) AS start, SUM(x.flux) AS flux, "
        "SUM(x.pv) AS pv, MAX(x.peak_flux_5m) AS peak_flux_5m, MAX(x.peak_pv_5m) AS peak_pv_5m, "
        "''::bytea AS five_minute_flux, ''::bytea AS five_minute_pv, ''::bytea AS minutes, {status}, "
        f"{{covered}} FROM {_source(DAY)} GROUP BY p.domain_id, p.first"
    )


SELECTS = {FIVE: _select_five, HOUR: _select_hour, DAY: _select_day}


def _insert(cursor, level: str, params: list, codes: list[str]) -> tuple[int, list[str] | None]:
    """Insert the level's rows of the periods, the status summed over `codes`, if those cover every code
    of the source rows; returns the rows written and the codes of `codes` present in them, or (0, None)
    when some code is missing (then nothing is written).

    The check is one `jsonb - text[]` per source row, in the pass that sums them: cheaper than the
    DISTINCT `jsonb_object_keys` query it spares (a third of its time on 10,000 minute rows).
    """
    _, rollup = _tables()
    status, status_params = _status(codes)
    covered = "bool_and(x.status - %s::text[] = '{}'::jsonb) AS covered"
    select = SELECTS[level]().format(status=f"{status} AS status", covered=covered)
    cursor.execute(
        f"WITH g AS ({select}), complete AS (SELECT COALESCE(bool_and(covered), TRUE) AS ok FROM g), "
        f"written AS (INSERT INTO {rollup} ({INSERT_COLUMNS}) SELECT {INSERT_COLUMNS} FROM g "
        "WHERE (SELECT ok FROM complete) ORDER BY domain_id, start RETURNING 1) "
        "SELECT (SELECT count(*) FROM written), (SELECT ok FROM complete), "
        "ARRAY(SELECT code FROM unnest(%s::text[]) code WHERE EXISTS (SELECT FROM g WHERE g.status ? code))",
        [*status_params, codes, *params, codes],
    )
    written, complete, present = cursor.fetchone()
    return written, present if complete else None


# The codes each level sums by, kept in this process: the codes found so far, less those gone once they
# outnumber the ones present. A CDN answers with a handful of codes, so they nearly always cover the
# next batch; when they do not, the codes are looked up and the level written with them.
_known_codes: dict[str, list[str]] = {}


def _learned(codes: list[str], present: list[str]) -> list[str]:
    """The codes to keep after a write summed by `codes` and saw `present`: those not seen go once they
    outnumber the seen (each costs a lookup per source row; one odd batch must not leave dozens)."""
    return sorted(present) if len(codes) - len(present) > len(present) else codes


def replace_level(level: str, periods: Sequence[Period], delete: bool = True) -> int:
    """Rewrite the rows of `level` in `periods` whole from the level below; returns the rows written.

    5-minute and hour periods may span many buckets and hours (each is a row); a day period is one row
    (a bucket, hour or day without source rows gets none). `delete=False` when the caller has just deleted them
    (a rebuild). The caller holds the domains' locks; a sample committed meanwhile with a new code
    sends the lookup round again.
    """
    if not periods:
        return 0
    params = _period_params(periods)
    with connection.cursor() as cursor:
        if delete:
            _delete(cursor, level, params)
        codes = _known_codes.get(level, [])
        written, present = _insert(cursor, level, params, codes)
        while present is None:
            codes = sorted({*codes, *_codes(cursor, level, params)})
            written, present = _insert(cursor, level, params, codes)
        _known_codes[level] = _learned(codes, present)
        return written

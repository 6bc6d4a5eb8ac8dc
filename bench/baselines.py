"""The obvious way: each answer computed by one SQL statement over the raw tables, shaped like the API's.

These are both the speed baseline and the check: the harness asserts that the API answers exactly
this. Period arithmetic is redone here with zoneinfo, independently of `cdnorigin.periods`.
"""

import json
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

STATUS_CLASSES = (2, 3, 4, 5)


def zone() -> ZoneInfo:
    return ZoneInfo(settings.INSIGHTS_TIME_ZONE)


def timed_query(sql: str, params: list) -> tuple[list[tuple], float]:
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return rows, time.perf_counter() - began


def local_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone()).timestamp())


def period_starts(start: int, end: int, interval: str) -> list[int]:
    """Starts of the periods from the one holding `start` through the one holding `end`."""
    if interval == "day":
        first = datetime.fromtimestamp(start, zone()).date()
        last = datetime.fromtimestamp(end, zone()).date()
        return [local_midnight(first + timedelta(days=n)) for n in range((last - first).days + 1)]
    step = {"1min": 60, "5min": 300, "hour": 3600}[interval]
    offset = 0 if interval != "hour" else int(datetime.fromtimestamp(start, zone()).utcoffset().total_seconds())
    first = start - (start + offset) % step
    return list(range(first, end - (end + offset) % step + 1, step))


def _resource(name: str, metrics: list[tuple[str, list[float]]], starts: list[int]) -> dict:
    return {
        "Name": name,
        "Metrics": [
            {
                "Metric": metric,
                "Values": [{"Timestamp": ts, "Value": value} for ts, value in zip(starts, values, strict=True)],
            }
            for metric, values in metrics
        ],
    }


def _bounds(starts: list[int], interval: str) -> tuple[datetime, datetime]:
    last = starts[-1]
    end = (
        local_midnight(datetime.fromtimestamp(last, zone()).date() + timedelta(days=1))
        if interval == "day"
        else (last + {"1min": 60, "5min": 300, "hour": 3600}[interval])
    )
    return datetime.fromtimestamp(starts[0], UTC), datetime.fromtimestamp(end, UTC)


def cdn_peak_rate(
    domains: list[tuple[int, str]], start: int, end: int, interval: str, metric: str
) -> tuple[dict, float]:
    """bandwidth or qps at hour/day, per domain and total: the largest 5-minute sum of each period."""
    column, bits = ("flux", 8) if metric == "bandwidth" else ("pv", 1)
    starts = period_starts(start, end, interval)
    first, stop = _bounds(starts, interval)
    sql = f"""
        WITH five AS (
            SELECT domain_id, to_timestamp(FLOOR(EXTRACT(EPOCH FROM minute) / 300) * 300) AS bucket, SUM({column}) AS v
            FROM cdnorigin_originsample
            WHERE domain_id = ANY(%s::int4[]) AND minute >= %s AND minute < %s
            GROUP BY 1, 2
        ), total AS (SELECT bucket, SUM(v) AS v FROM five GROUP BY bucket)
        SELECT domain_id, EXTRACT(EPOCH FROM date_trunc(%s, bucket, %s))::bigint AS period, MAX(v)
        FROM five GROUP BY 1, 2
        UNION ALL
        SELECT NULL, EXTRACT(EPOCH FROM date_trunc(%s, bucket, %s))::bigint, MAX(v) FROM total GROUP BY 2
    """
    tz = settings.INSIGHTS_TIME_ZONE
    rows, seconds = timed_query(sql, [[d for d, _ in domains], first, stop, interval, tz, interval, tz])
    index = {ts: n for n, ts in enumerate(starts)}
    series = {key: [0] * len(starts) for key in [d for d, _ in domains] + [None]}
    for domain_id, period, value in rows:
        series[domain_id][index[int(period)]] = int(value)
    resources = [_resource(name, [(metric, [v * bits / 300 for v in series[d]])], starts) for d, name in domains] + [
        _resource("total", [(metric, [v * bits / 300 for v in series[None]])], starts)
    ]
    return {"Resources": resources}, seconds


def cdn_status_all(domains: list[tuple[int, str]], start: int, end: int, interval: str) -> tuple[dict, float]:
    """status_all and status_2xx..5xx per domain and total."""
    starts = period_starts(start, end, interval)
    first, stop = _bounds(starts, interval)
    step = {"1min": 60, "5min": 300, "hour": 3600}[interval]
    sql = """
        SELECT s.domain_id, (FLOOR(EXTRACT(EPOCH FROM s.minute) / %s) * %s)::bigint AS period,
               SUM(s.status_1xx), SUM(s.status_2xx), SUM(s.status_3xx), SUM(s.status_4xx), SUM(s.status_5xx)
        FROM cdnorigin_originsample s
        WHERE s.domain_id = ANY(%s::int4[]) AND s.minute >= %s AND s.minute < %s
        GROUP BY 1, 2
    """
    rows, seconds = timed_query(sql, [step, step, [d for d, _ in domains], first, stop])
    index = {ts: n for n, ts in enumerate(starts)}
    counts = {(key, klass): [0] * len(starts) for key in [d for d, _ in domains] + [None] for klass in range(1, 6)}
    for domain_id, period, *sums in rows:
        for klass, count in enumerate(sums, start=1):
            for key in (domain_id, None):
                counts[(key, klass)][index[int(period)]] += int(count)

    def metrics(key):
        everything = [sum(column) for column in zip(*(counts[(key, k)] for k in range(1, 6)), strict=True)]
        return [("status_all", [float(v) for v in everything])] + [
            (f"status_{k}xx", [float(v) for v in counts[(key, k)]]) for k in STATUS_CLASSES
        ]

    resources = [_resource(name, metrics(d), starts) for d, name in domains]
    return {"Resources": resources + [_resource("total", metrics(None), starts)]}, seconds


def cdn_total_sum(start: int, end: int, interval: str, metric: str) -> tuple[dict, float]:
    """flux or pv of every domain summed per period (the answer without Domain: `total` only)."""
    starts = period_starts(start, end, interval)
    first, stop = _bounds(starts, interval)
    sql = f"""
        SELECT EXTRACT(EPOCH FROM date_trunc(%s, minute, %s))::bigint, SUM({metric})
        FROM cdnorigin_originsample WHERE minute >= %s AND minute < %s GROUP BY 1
    """
    rows, seconds = timed_query(sql, [interval, settings.INSIGHTS_TIME_ZONE, first, stop])
    values = dict.fromkeys(starts, 0)
    for period, value in rows:
        values[int(period)] += int(value)
    return {"Resources": [_resource("total", [(metric, [float(v) for v in values.values()])], starts)]}, seconds


# --- Zadig -----------------------------------------------------------------------------------------


def _day_tallies(job_type: str, first: date, last: date, *, with_cases: bool) -> tuple[list[tuple], float]:
    start = datetime.fromtimestamp(local_midnight(first), UTC)
    stop = datetime.fromtimestamp(local_midnight(last + timedelta(days=1)), UTC)
    cases = """, (SELECT COALESCE(SUM(case_count), 0) FROM (
            SELECT DISTINCT ON (project_id, test_module) case_count FROM insights_job
            WHERE type = 'test' AND test_module <> '' AND case_count IS NOT NULL
            ORDER BY project_id, test_module, started_at DESC NULLS LAST, id DESC) latest)"""
    sql = f"""
        SELECT (started_at AT TIME ZONE %s)::date AS day,
               COUNT(*) FILTER (WHERE status = 'passed'),
               COUNT(*) FILTER (WHERE status = 'failed'),
               COUNT(*) FILTER (WHERE status = 'timeout'),
               SUM(EXTRACT(EPOCH FROM finished_at - started_at) * 1000000)::bigint
               {cases if with_cases else ""}
        FROM insights_job
        WHERE type = %s AND status IN ('passed', 'failed', 'timeout') AND started_at >= %s AND started_at < %s
        GROUP BY 1
    """
    return timed_query(sql, [settings.INSIGHTS_TIME_ZONE, job_type, start, stop])


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def zadig_success_failure(job_type: str, first: date, last: date) -> tuple[dict, float]:
    """build (or deploy) statistics of every project, per local day."""
    rows, seconds = _day_tallies(job_type, first, last, with_cases=False)
    by_day = {row[0]: row for row in rows}
    data = []
    for day in _days(first, last):
        _, passed, failed, timeout, _ = by_day.get(day, (day, 0, 0, 0, 0))
        data.append(
            {
                "date": day.isoformat(),
                "success": passed,
                "failure": failed + timeout,
                "total": passed + failed + timeout,
            }
        )
    answer = {"total": sum(r["total"] for r in data), "success": sum(r["success"] for r in data), "data": data}
    return answer, seconds


def zadig_test(first: date, last: date) -> tuple[dict, float]:
    """test statistics of every project: weekly buckets anchored on the last day, newest first."""
    rows, seconds = _day_tallies("test", first, last, with_cases=True)
    by_day = {row[0]: row for row in rows}
    days = _days(first, last)
    case_count = int(rows[0][5]) if rows else 0
    weeks, passed_all, total_all, duration_all = [], 0, 0, 0
    for end_index in range(len(days) - 1, -1, -7):
        week = [0, 0, 0]
        for day in days[max(0, end_index - 6) : end_index + 1]:
            row = by_day.get(day)
            if row:
                week = [week[0] + row[1], week[1] + row[2], week[2] + row[3]]
                duration_all += int(row[4] or 0)
        passed_all += week[0]
        total_all += sum(week)
        weeks.append(
            {
                "date": days[end_index].isoformat(),
                "success_count": week[0],
                "timeout_count": week[2],
                "failed_count": week[1],
            }
        )
    average = (2 * duration_all + total_all * 1_000_000) // (2 * total_all * 1_000_000) if total_all else 0
    answer = {
        "case_count": case_count,
        "exec_count": total_all,
        "success_count": passed_all,
        "average_runtime": average,
        "data": weeks,
    }
    return answer, seconds


def zadig_rollback_page(project_key: str, start: int, end: int, page_size: int) -> tuple[dict, float]:
    """Page 1 of a project's rollbacks, newest first, with both snapshots and the total."""
    sql = """
        SELECT p.key, r.env_name, r.env_type, r.production, r.operation_type, r.service_name, r.service_type,
               r.create_by_uid, r.create_by_account, r.create_by_name, r.create_by_identity_type,
               FLOOR(EXTRACT(EPOCH FROM r.create_time))::bigint,
               o.service_name, o.release_name, o.containers, o.rendered_yaml, o.values_yaml, o.override_values,
               FLOOR(EXTRACT(EPOCH FROM o.update_time))::bigint,
               u.service_name, u.release_name, u.containers, u.rendered_yaml, u.values_yaml, u.override_values,
               FLOOR(EXTRACT(EPOCH FROM u.update_time))::bigint,
               COUNT(*) OVER ()
        FROM insights_rollback r JOIN insights_project p ON p.id = r.project_id
        LEFT JOIN insights_servicesnapshot o ON o.rollback_id = r.id AND o.role = 'origin'
        LEFT JOIN insights_servicesnapshot u ON u.rollback_id = r.id AND u.role = 'update'
        WHERE p.key = %s AND r.create_time >= %s AND r.create_time < %s
        ORDER BY r.create_time DESC, r.id DESC
        LIMIT %s
    """
    params = [project_key, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end + 1, UTC), page_size]
    rows, seconds = timed_query(sql, params)

    def snapshot(values):
        service, release, containers, rendered, values_yaml, override, updated = values
        containers = json.loads(containers) if isinstance(containers, str) else containers  # Django reads jsonb as text
        return {
            "service_name": service or "",
            "release_name": release or "",
            "containers": [
                {k: str(c.get(k) or "") for k in ("name", "type", "image", "image_name")} for c in containers or []
            ],
            "rendered_yaml": rendered or "",
            "values_yaml": values_yaml or "",
            "override_values": override or "",
            "update_time": updated or 0,
        }

    data = [
        {
            "project_key": row[0],
            "env_name": row[1],
            "env_type": row[2],
            "production": row[3],
            "operation_type": row[4],
            "service_name": row[5],
            "service_type": row[6],
            "origin_service": snapshot(row[12:19]),
            "update_service": snapshot(row[19:26]),
            "create_by": {"uid": row[7], "account": row[8], "name": row[9], "identity_type": row[10]},
            "create_time": row[11],
        }
        for row in rows
    ]
    return {"total": rows[0][26] if rows else 0, "data": data}, seconds

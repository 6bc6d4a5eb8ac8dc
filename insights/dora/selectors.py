"""The DORA figures of a local-day range: series per bucket, the summary with the range before it, and the
rows behind them. The rules live where they are computed: `history` (deployments, change failure rate,
time to restore, rework) and `lead_times`; README's "DORA metrics" section gathers them.

Empty buckets: deployment frequency is 0 (it is a count); every other metric is None (no data, not zero):
change failure and rework rate without deployments, lead time without a first-deployed commit, time to
restore without a restored failure.
"""

from datetime import date, timedelta

from insights.dora import history, levels
from insights.dora.buckets import INTERVALS, Grid, median, p90, seconds
from insights.dora.lead_times import commit_changes, commit_lead_times
from insights.dora.scope import Scope

__all__ = ["METRICS", "Scope", "changes", "deployments", "lead_times", "metric_series", "per_service", "summary"]

METRICS = (
    "deployment_frequency",
    "lead_time_for_changes",
    "change_failure_rate",
    "time_to_restore_service",
    "rework_rate",
)
UNITS = {
    "deployment_frequency": "per_day",
    "lead_time_for_changes": "seconds",
    "change_failure_rate": "ratio",
    "time_to_restore_service": "seconds",
    "rework_rate": "ratio",
}


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _restore_seconds(rows: list[history.Deployment]) -> list[float]:
    return [seconds(d.restored - d.finished) for d in rows if d.failed and d.restored is not None]


def _figure(metric: str, rows: list[history.Deployment], leads: list[float]):
    """One bucket's value of `metric` from its deployments and lead times."""
    if metric == "deployment_frequency":
        return len(rows)
    if metric == "lead_time_for_changes":
        return median(leads)
    if metric == "change_failure_rate":
        return _ratio(sum(d.failed for d in rows), len(rows))
    if metric == "time_to_restore_service":
        return median(_restore_seconds(rows))
    return _ratio(sum(d.rework for d in rows), len(rows))


def metric_series(metric: str, start: date, end: date, interval: str, scope: Scope) -> list[dict]:
    """GitLab's shape: [{"date": first day of the bucket (clipped to the range), "value"}], ascending."""
    if metric not in METRICS or interval not in INTERVALS or end < start:
        raise ValueError(
            f"metric_series({metric!r}, {start}, {end}, {interval!r}): unknown metric or interval, or end < start"
        )
    grid = Grid(start, end, interval)
    rows, leads = grid.empty(), grid.empty()
    if metric == "lead_time_for_changes":
        for first, lead in commit_lead_times(grid.lo, grid.hi, scope):
            leads[grid.index(first)].append(lead)
    else:
        for d in history.deployments(grid.lo, grid.hi, scope):
            rows[grid.index(d.finished)].append(d)
    return [{"date": day.isoformat(), "value": _figure(metric, rows[n], leads[n])} for n, day in enumerate(grid.days)]


def _figures(start: date, end: date, deployed: list[history.Deployment], shipped: list[tuple]) -> dict:
    """The range's figures, from deployments and (first deployment, lead) pairs read over a wider span: a
    deployment's classification and a commit's first deployment do not depend on the span read."""
    grid = Grid(start, end, "all")
    rows = [d for d in deployed if grid.lo <= d.finished < grid.hi]
    leads = [lead for first, lead in shipped if grid.lo <= first < grid.hi]
    restores = _restore_seconds(rows)
    days = Grid(start, end, "daily")
    failed = sum(d.failed for d in rows)
    return {
        "deployment_frequency": {
            "value": len(rows) / len(days.days),
            "deployments": len(rows),
            "days_with_deployment": len({days.index(d.finished) for d in rows}),
        },
        "lead_time_for_changes": {"value": median(leads), "p90": p90(leads), "commits": len(leads)},
        "change_failure_rate": {
            "value": _ratio(failed, len(rows)),
            "failed_deployments": failed,
            "deployments": len(rows),
        },
        "time_to_restore_service": {
            "value": median(restores),
            "p90": p90(restores),
            "restored_failures": len(restores),
            "open_failures": failed - len(restores),
        },
        "rework_rate": {
            "value": _ratio(sum(d.rework for d in rows), len(rows)),
            "rework_deployments": sum(d.rework for d in rows),
            "deployments": len(rows),
        },
    }


def _change_percent(value, previous) -> float | None:
    if value is None or not previous:
        return None
    return round((value - previous) / previous * 100, 2)


def summary(start: date, end: date, scope: Scope) -> dict:
    """Every metric over the range, beside the same-length range just before it."""
    length = end - start + timedelta(days=1)
    previous_start, previous_end = start - length, start - timedelta(days=1)
    # One read of both ranges: each statement's cost is mostly its fixed part (the history before it).
    span = Grid(previous_start, end, "all")
    deployed = history.deployments(span.lo, span.hi, scope)
    shipped = commit_lead_times(span.lo, span.hi, scope)
    now = _figures(start, end, deployed, shipped)
    before = _figures(previous_start, previous_end, deployed, shipped)
    metrics = {}
    for name in METRICS:
        value, previous = now[name]["value"], before[name]["value"]
        metrics[name] = {
            **now[name],
            "previous": previous,
            "change_percent": _change_percent(value, previous),
            "level": levels.level(name, value),
            "unit": UNITS[name],
        }
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "previous_start_date": previous_start.isoformat(),
        "previous_end_date": previous_end.isoformat(),
        "metrics": metrics,
    }


def deployments(start: date, end: date, scope: Scope) -> list[dict]:
    """The production deployments of the range with their classification, oldest first."""
    grid = Grid(start, end, "all")
    return [
        {
            "project": d.target[0],
            "service": d.target[1],
            "environment": d.target[2],
            "finished_at": d.finished,
            "run_id": d.run_id,
            "branch": d.branch,
            "failed": d.failed,
            "restored_at": d.restored,
            "rework": d.rework,
        }
        for d in history.deployments(grid.lo, grid.hi, scope)
    ]


def lead_times(start: date, end: date, scope: Scope) -> list[float]:
    """The lead time in seconds of every commit first deployed in the range (the distribution)."""
    grid = Grid(start, end, "all")
    return sorted(lead for _, lead in commit_lead_times(grid.lo, grid.hi, scope))


def changes(start: date, end: date, scope: Scope) -> list[dict]:
    """Each commit (repo, sha) first deployed in the range, with its earliest commit time and lead time,
    ordered by first deployment, repo, sha: the rows behind the range's lead time for changes."""
    grid = Grid(start, end, "all")
    return [
        {"repo": repo, "sha": sha, "committed_at": committed_at, "first_deployed_at": first, "lead_time_seconds": lead}
        for repo, sha, committed_at, first, lead in commit_changes(grid.lo, grid.hi, scope)
    ]


def per_service(start: date, end: date, scope: Scope) -> list[dict]:
    """One row per target deployed in the range, by project, service (no service first), environment.
    Lead times here count each commit's first deployment to that target."""
    grid = Grid(start, end, "all")
    rows: dict[tuple, list] = {}
    for d in history.deployments(grid.lo, grid.hi, scope):
        rows.setdefault(d.target, []).append(d)
    leads: dict[tuple, list] = {}
    for target, _, lead in commit_lead_times(grid.lo, grid.hi, scope, per_target=True):
        leads.setdefault(target, []).append(lead)
    return [
        {
            "project": target[0],
            "service": target[1],
            "environment": target[2],
            "deployments": len(found),
            "lead_time_median": median(leads.get(target, [])),
            "change_failure_rate": _figure("change_failure_rate", found, []),
            "time_to_restore_median": _figure("time_to_restore_service", found, []),
            "rework_rate": _figure("rework_rate", found, []),
        }
        for target, found in sorted(rows.items(), key=lambda item: (item[0][0], item[0][1] or "", item[0][2]))
    ]

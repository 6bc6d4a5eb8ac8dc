"""Lead time for changes: from a commit to its first production deployment.

Rules (README "DORA metrics" says the same):
- A commit is (repo, sha). Its first production deployment is the earliest `finished_at` among the
  production deployments (passed deploy jobs to a production environment, within the scope's filters)
  of the runs that carry it. It counts once, in the bucket of that instant's local day; deploying it
  again later changes nothing.
- Its lead time is that instant minus the earliest `committed_at` stored for the repo and sha (on any
  run); a negative one (clock skew) counts as 0.
- Nothing is cached: a commit posted late on the deploying run (a re-post) counts from then on.
- Per target (the per-service table) the first deployment is the first one to that target.

One statement: production deploy jobs finished before the range ends, joined to their runs' commits,
grouped by (repo, sha) and kept when the first lies in the range, joined to every commit's earliest time
(a second grouping). Its cost grows with the history before the range.
"""

from collections.abc import Iterator
from datetime import datetime

from django.db.models import F, Min

from insights.dora.buckets import seconds
from insights.dora.rows import fetch, instant
from insights.dora.scope import Scope
from insights.models import Commit, Job

_PER_TARGET = ("project__key", "service__name", "environment__name")


def _first_deployments(lo: datetime, hi: datetime, scope: Scope, per_target: bool) -> Iterator[tuple]:
    """Rows (repo, sha, *target if `per_target`, first deployment, earliest committed_at) of each commit (and
    target) first deployed in [lo, hi); the instants as aware UTC datetimes."""
    # Named columns, so the outer statement can join on them whatever aliases the ORM picks.
    group = {"c_repo": F("run__commits__repo"), "c_sha": F("run__commits__sha")}
    if per_target:
        group.update({f"t_{n}": F(path) for n, path in enumerate(_PER_TARGET)})
    firsts = (
        Job.objects.filter(scope.jobs(), status="passed", finished_at__lt=hi, run__commits__isnull=False)
        .order_by()
        .values(**group)
        .annotate(first=Min("finished_at"))
        .filter(first__gte=lo)
        .values_list(*group, "first")
    )
    committed = (
        Commit.objects.order_by()
        .values("repo", "sha")
        .annotate(at=Min("committed_at"))
        .values_list("repo", "sha", "at")
    )
    # Two aggregates joined on (repo, sha): the database hashes both, where a correlated subquery looked
    # up every deployed commit's earliest time one by one.
    firsts_sql, firsts_params = firsts.query.sql_with_params()
    committed_sql, committed_params = committed.query.sql_with_params()
    sql = f"SELECT f.*, c.at FROM ({firsts_sql}) f JOIN ({committed_sql}) c ON c.repo = f.c_repo AND c.sha = f.c_sha"
    for *key, first, at in fetch(sql, (*firsts_params, *committed_params)):
        yield (*key, instant(first), instant(at))


def commit_lead_times(lo: datetime, hi: datetime, scope: Scope, per_target: bool = False) -> list[tuple]:
    """(first deployment, lead seconds) of each commit first deployed in [lo, hi); with `per_target`,
    (target, first deployment, lead seconds) of each commit and target first deployed there in it."""
    found = []
    for *key, first, committed_at in _first_deployments(lo, hi, scope, per_target):
        lead = seconds(first - committed_at)
        found.append((tuple(key[2:]), first, lead) if per_target else (first, lead))
    return found


def commit_changes(lo: datetime, hi: datetime, scope: Scope) -> list[tuple]:
    """(repo, sha, earliest committed_at, first deployment, lead seconds) of each commit first deployed in
    [lo, hi), ordered by first deployment, repo, sha: the rows `commit_lead_times` reduces to pairs."""
    rows = [
        (repo, sha, committed_at, first, seconds(first - committed_at))
        for repo, sha, first, committed_at in _first_deployments(lo, hi, scope, per_target=False)
    ]
    return sorted(rows, key=lambda row: (row[3], row[0], row[1]))

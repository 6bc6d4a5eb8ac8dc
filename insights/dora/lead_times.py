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
grouped by (repo, sha) and kept when the first lies in the range; the earliest commit time is a correlated
subquery on the (repo, sha) of each group (the sha index). Its cost grows with the history before the range.
"""

from datetime import datetime

from django.db.models import Min, OuterRef, Subquery

from insights.dora.buckets import seconds
from insights.dora.rows import instant, raw_rows
from insights.dora.scope import Scope
from insights.models import Commit, Job

_PER_TARGET = ("project__key", "service__name", "environment__name")


def commit_lead_times(lo: datetime, hi: datetime, scope: Scope, per_target: bool = False) -> list[tuple]:
    """(first deployment, lead seconds) of each commit first deployed in [lo, hi); with `per_target`,
    (target, first deployment, lead seconds) of each commit and target first deployed there in it."""
    earliest = (
        Commit.objects.filter(repo=OuterRef("run__commits__repo"), sha=OuterRef("run__commits__sha"))
        .order_by()
        .values("sha")
        .annotate(at=Min("committed_at"))
        .values("at")
    )
    group = ("run__commits__repo", "run__commits__sha", *(_PER_TARGET if per_target else ()))
    query = (
        Job.objects.filter(scope.jobs(), status="passed", finished_at__lt=hi, run__commits__isnull=False)
        .order_by()
        .values(*group)
        .annotate(first=Min("finished_at"), committed=Min(Subquery(earliest)))
        .filter(first__gte=lo)
        .values_list(*group, "first", "committed")
    )
    found = []
    for *key, first, committed in raw_rows(query):
        first = instant(first)
        lead = seconds(first - instant(committed))
        found.append((tuple(key[2:]), first, lead) if per_target else (first, lead))
    return found

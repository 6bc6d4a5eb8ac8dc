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

Two statements: the first deployments (GROUP BY repo, sha) of the commits deployed in the range, and
their earliest commit times, both narrowed to the shas deployed in the range through the sha index.
"""

from datetime import datetime

from django.db.models import Min

from insights.dora.buckets import seconds
from insights.dora.scope import Scope
from insights.models import Commit

_PER_TARGET = ("run__jobs__project__key", "run__jobs__service__name", "run__jobs__environment__name")


def commit_lead_times(lo: datetime, hi: datetime, scope: Scope, per_target: bool = False) -> list[tuple]:
    """(first deployment, lead seconds) of each commit first deployed in [lo, hi); with `per_target`,
    (target, first deployment, lead seconds) of each commit and target first deployed there in it."""
    q = scope.jobs("run__jobs__")
    q_passed = {"run__jobs__status": "passed"}
    in_range = Commit.objects.filter(q, run__jobs__finished_at__gte=lo, run__jobs__finished_at__lt=hi, **q_passed)
    shas = in_range.order_by().values("sha")
    group = ("repo", "sha", *(_PER_TARGET if per_target else ()))
    firsts = (
        Commit.objects.filter(q, sha__in=shas, **q_passed)
        .order_by()
        .values(*group)
        .annotate(first=Min("run__jobs__finished_at"))
        .filter(first__gte=lo, first__lt=hi)
        .values_list(*group, "first")
    )
    rows = list(firsts)
    if not rows:
        return []
    committed = {
        (repo, sha): at
        for repo, sha, at in Commit.objects.filter(sha__in=shas)
        .order_by()
        .values("repo", "sha")
        .annotate(at=Min("committed_at"))
        .values_list("repo", "sha", "at")
    }
    if per_target:
        return [(tuple(row[2:5]), row[5], seconds(row[5] - committed[row[0], row[1]])) for row in rows]
    return [(first, seconds(first - committed[repo, sha])) for repo, sha, first in rows]

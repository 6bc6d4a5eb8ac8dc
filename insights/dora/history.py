"""Production deployments of a range and what followed each: change failure rate, time to restore
service and rework rate are read off this classification.

Rules (README "DORA metrics" says the same):
- A production deployment is a job of type `deploy`, status `passed`, with `finished_at`, whose
  environment has `production: true`. A failed production deployment is the same with status `failed`
  or `timeout`. A deployment belongs to the local day (INSIGHTS_TIME_ZONE) of its `finished_at`.
- Its target is (project, service, environment); a job without a service is its own target (service
  null), which no rollback can match (a rollback always names a service).
- Deployment D of target T has failed when, strictly after D and strictly before the next production
  deployment of T (none: ever after), T has a failed production deploy job (by `finished_at`) or a
  rollback with `production: true` and the same project, `service_name` and `env_name` (by
  `create_time`). Deployments of T at the same instant share their next deployment, so they fail
  together. A failure or rollback with no earlier deployment of T marks nothing.
- A failed D is restored at the first of: the first rollback of T after D, the next production
  deployment of T. With neither it is open: left out of the time to restore, counted as open.
- A deployment is rework when the previous deployment instant of T (before the range too) holds a failed
  deployment (it is the restoring deployment), or when its run's `branch` matches one of the fnmatch
  patterns in settings.INSIGHTS_DORA_REWORK_BRANCHES (case-sensitive; a blank branch matches none).

Reads: the range's deploy jobs and rollbacks as rows, and per target only the latest deployment and
failure before the range and the first ones after it (GROUP BY), since nothing further changes a figure.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from django.conf import settings
from django.db.models import Case, F, Max, Min, When

from insights.dora.rows import instant, raw_rows
from insights.dora.scope import Scope
from insights.models import Job, Rollback

PASSED = "passed"
FAILED = ("failed", "timeout")
Target = tuple[str, str | None, str]  # project key, service name (None: no service), environment name
_TARGET = ("project__key", "service__name", "environment__name")
_ROLLBACK_TARGET = ("project__key", "service_name", "env_name")


@dataclass(slots=True)
class Deployment:
    target: Target
    finished: datetime
    run_id: str
    branch: str
    failed: bool = False
    restored: datetime | None = None  # set for a failed deployment that has been restored
    rework: bool = False


def rework_branches() -> dict[str, bool]:
    """branch -> whether it matches a rework pattern, filled on first use (branches repeat a lot)."""
    patterns = tuple(settings.INSIGHTS_DORA_REWORK_BRANCHES)

    class Matches(dict):
        def __missing__(self, branch: str) -> bool:
            self[branch] = bool(branch) and any(fnmatchcase(branch, pattern) for pattern in patterns)
            return self[branch]

    return Matches()


def deployments(lo: datetime, hi: datetime, scope: Scope) -> list[Deployment]:
    """The production deployments finished in [lo, hi), classified, in order of `finished_at`."""
    jobs = Job.objects.filter(scope.jobs(), status__in=(PASSED, *FAILED)).order_by()
    rollbacks = Rollback.objects.filter(scope.rollbacks()).order_by()

    found: list[Deployment] = []
    failures: dict[Target, list[datetime]] = {}
    # A year holds a few hundred targets and branches over a hundred thousand rows: one object each.
    shared: dict = {}
    for project, service, env, status, finished, run_id, branch in raw_rows(
        jobs.filter(finished_at__gte=lo, finished_at__lt=hi).values_list(
            *_TARGET, "status", "finished_at", "run_id", "run__branch"
        )
    ):
        finished = instant(finished)
        target = shared.setdefault((project, service, env), (project, service, env))
        if status == PASSED:
            found.append(Deployment(target, finished, run_id, shared.setdefault(branch, branch)))
        else:
            failures.setdefault(target, []).append(finished)
    if not found:
        return []
    targets = {d.target for d in found}
    restores: dict[Target, list[datetime]] = {}
    for *target, created in rollbacks.filter(create_time__gte=lo, create_time__lt=hi).values_list(
        *_ROLLBACK_TARGET, "create_time"
    ):
        if tuple(target) in targets:
            failures.setdefault(tuple(target), []).append(created)
            restores.setdefault(tuple(target), []).append(created)

    def edge(rows, first: bool, keys=_TARGET, **extra):
        agg = Min if first else Max
        return {
            tuple(row[k] for k in keys): row
            for row in rows.values(*keys).annotate(**{name: agg(expr) for name, expr in extra.items()})
        }

    ok = Case(When(status=PASSED, then=F("finished_at")))
    bad = Case(When(status__in=FAILED, then=F("finished_at")))
    after = edge(jobs.filter(finished_at__gte=hi), True, ok=ok, bad=bad)
    before = edge(jobs.filter(finished_at__lt=lo), False, ok=ok, bad=bad)
    rb_after = edge(rollbacks.filter(create_time__gte=hi), True, _ROLLBACK_TARGET, at=F("create_time"))
    rb_before = edge(rollbacks.filter(create_time__lt=lo), False, _ROLLBACK_TARGET, at=F("create_time"))

    rework_branch = rework_branches()
    by_target: dict[Target, list[Deployment]] = {}
    for d in sorted(found, key=lambda d: d.finished):
        by_target.setdefault(d.target, []).append(d)
    for target, rows in by_target.items():
        post, pre = after.get(target, {}), before.get(target, {})
        first_rollback = rb_after.get(target, {}).get("at")
        fails = sorted(failures.get(target, []) + [t for t in (post.get("bad"), first_rollback) if t])
        rolls = sorted(restores.get(target, []) + [t for t in (first_rollback,) if t])
        instants = sorted({d.finished for d in rows})
        nexts = dict(zip(instants, [*instants[1:], post.get("ok")], strict=True))
        failed_at: dict[datetime, bool] = {}
        for moment in instants:
            nxt = nexts[moment]
            i = bisect_right(fails, moment)
            failed_at[moment] = i < len(fails) and (nxt is None or fails[i] < nxt)
        previous = pre.get("ok")
        last_failure = max([t for t in (pre.get("bad"), rb_before.get(target, {}).get("at")) if t], default=None)
        previous_failed = previous is not None and (
            (last_failure is not None and last_failure > previous) or (bool(fails) and fails[0] < instants[0])
        )
        prior = dict(zip(instants, [previous_failed, *(failed_at[m] for m in instants[:-1])], strict=True))
        for d in rows:
            d.failed = failed_at[d.finished]
            d.rework = prior[d.finished] or rework_branch[d.branch]
            if d.failed:
                j = bisect_right(rolls, d.finished)
                ends = [t for t in (rolls[j] if j < len(rolls) else None, nexts[d.finished]) if t]
                d.restored = min(ends, default=None)
    return sorted(found, key=lambda d: (d.finished, d.target[0], d.target[1] or "", d.target[2], d.run_id))

"""The demo's commits: written on main, built by CI runs, waiting until a release ships them to production.

A commit's lead time (DORA) runs from `committed_at` to the first production deployment of a run
that carries it, so the same sha is carried by the run that first built it and by the release that
deployed it; hotfix commits are written minutes before the hotfix run that ships them.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from insights.models import Commit, WorkflowRun

GIT_HOST = "git.example.com"
AUTHORS = ("liwei", "zhangmin", "wangfang", "chenjie", "liuyang", "zhaolei")
KINDS = ("feat", "fix", "refactor", "perf", "chore", "test")
TOPICS = (
    "retry on upstream timeouts",
    "paginate list endpoints",
    "cache lookups for an hour",
    "validate request bodies",
    "log slow queries",
    "raise the connection pool limit",
    "drop the legacy endpoint",
    "add readiness probe",
    "bump dependencies",
    "tidy configuration defaults",
)
FIXES = ("revert the faulty release", "guard against empty payloads", "restore the previous timeout", "fix nil config")


@dataclass(frozen=True)
class Change:
    repo: str
    sha: str
    committed_at: datetime
    author: str
    message: str


class Changes:
    """Commits drawn from `rng`, and per (project, service) those built but not yet in production."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.pending: dict[tuple[str, str], list[Change]] = {}

    def new(self, project: str, service: str, before: datetime, count: int, minutes: tuple[int, int], fix=False):
        """`count` commits made `minutes` (a range) before `before`, oldest first."""
        repo = f"{GIT_HOST}/{project}/{service}"
        changes = []
        for _ in range(count):
            moment = before - timedelta(minutes=self.rng.randint(*minutes), seconds=self.rng.randrange(60))
            topic = self.rng.choice(FIXES) if fix else self.rng.choice(TOPICS)
            kind = "fix" if fix else self.rng.choice(KINDS)
            changes.append(
                Change(
                    repo=repo,
                    sha=f"{self.rng.getrandbits(160):040x}",
                    committed_at=moment,
                    author=self.rng.choice(AUTHORS),
                    message=f"{kind}({service}): {topic}",
                )
            )
        return sorted(changes, key=lambda change: change.committed_at)

    def written(self, project: str, service: str, changes: list[Change]):
        self.pending.setdefault((project, service), []).extend(changes)

    def ready(self, project: str, service: str, at: datetime) -> list[Change]:
        """Commits built before `at` and not shipped to production yet."""
        return [change for change in self.pending.get((project, service), ()) if change.committed_at < at]

    def shipped(self, project: str, service: str, changes: list[Change]):
        gone = {change.sha for change in changes}
        key = (project, service)
        self.pending[key] = [change for change in self.pending.get(key, ()) if change.sha not in gone]


def commit_rows(run: WorkflowRun, changes: list[Change]) -> list[Commit]:
    return [
        Commit(
            run=run,
            repo=change.repo,
            sha=change.sha,
            committed_at=change.committed_at,
            author=change.author,
            message=change.message,
        )
        for change in changes
    ]

"""The DORA scenario: the 365-day summary for every project, on the Zadig phase's year of runs (each with a
production deploy job) plus commits added here, against one SQL statement computing the same five figures
over the raw rows.

Commits: each run carries a commit of its own and its project-day's shared one, so most shared commits are
deployed several times (the first deployment counts) and committed up to a day before the run.
"""

from datetime import timedelta
from urllib.parse import urlencode

from bench.harness import Bench, Target, analyze, assert_same, baseline_median, local_midnight_today, timed

COMMITS_SQL = """
INSERT INTO insights_commit (run_id, repo, sha, committed_at, author, message)
SELECT r.id, 'git/' || r.project_id, c.sha, r.created_at - c.age, 'bench', ''
FROM insights_workflowrun r
CROSS JOIN LATERAL (VALUES
    (md5(r.id) || left(md5(r.id || '+'), 8), interval '1 second' * (hashtext(r.id) & 65535)),
    (md5(r.project_id || '/' || date_trunc('day', r.created_at)) || '00000000', interval '1 day')
) AS c(sha, age)
ON CONFLICT DO NOTHING
"""

# The rules of README's "DORA metrics", as one statement. Every event of a target (its deployments, failed
# deploy jobs, production rollbacks) is owned by the target's latest deployment instant strictly before it,
# and sees the next instant strictly after it (windows whose frames stop a microsecond short). An instant
# owning a failure failed, and is restored at the first of its first owned rollback and the next instant; a
# deployment whose owner failed restores it (rework), as does a hotfix branch. Lead times: each commit's first
# production deployment minus its earliest committed_at.
SUMMARY_SQL = """
WITH deploys AS (
    SELECT j.project_id, coalesce(j.service_id, 0) AS service_id, j.environment_id, j.finished_at, j.status,
           r.branch
    FROM insights_job j
    JOIN insights_environment e ON e.id = j.environment_id AND e.production
    JOIN insights_workflowrun r ON r.id = j.run_id
    WHERE j.type = 'deploy' AND j.finished_at IS NOT NULL AND j.status IN ('passed', 'failed', 'timeout')
), events AS (
    SELECT project_id, service_id, environment_id, finished_at AS at,
           CASE WHEN status = 'passed' THEN 0 ELSE 1 END AS kind, branch
    FROM deploys
    UNION ALL
    SELECT b.project_id, s.id, e.id, b.create_time, 2, ''
    FROM insights_rollback b
    JOIN insights_service s ON s.project_id = b.project_id AND s.name = b.service_name
    JOIN insights_environment e ON e.project_id = b.project_id AND e.name = b.env_name AND e.production
    WHERE b.production
), owned AS (
    SELECT *,
        max(at) FILTER (WHERE kind = 0) OVER (target ORDER BY at
            RANGE BETWEEN UNBOUNDED PRECEDING AND '1 microsecond' PRECEDING) AS owner,
        min(at) FILTER (WHERE kind = 0) OVER (target ORDER BY at
            RANGE BETWEEN '1 microsecond' FOLLOWING AND UNBOUNDED FOLLOWING) AS next_at
    FROM events
    WINDOW target AS (PARTITION BY project_id, service_id, environment_id)
), failures AS (
    SELECT project_id, service_id, environment_id, owner AS at, min(at) FILTER (WHERE kind = 2) AS rolled_back_at
    FROM owned WHERE kind > 0 AND owner IS NOT NULL
    GROUP BY project_id, service_id, environment_id, owner
), counted AS (
    SELECT o.at, f.at IS NOT NULL AS failed,
           CASE WHEN f.at IS NOT NULL THEN least(o.next_at, f.rolled_back_at) END AS restored_at,
           p.at IS NOT NULL OR o.branch LIKE 'hotfix/%%' OR o.branch LIKE 'hotfix-%%' AS rework
    FROM owned o
    LEFT JOIN failures f USING (project_id, service_id, environment_id, at)
    LEFT JOIN failures p ON p.project_id = o.project_id AND p.service_id = o.service_id
        AND p.environment_id = o.environment_id AND p.at = o.owner
    WHERE o.kind = 0 AND o.at >= %(lo)s AND o.at < %(hi)s
), firsts AS (
    SELECT c.repo, c.sha, min(d.finished_at) AS first_at
    FROM insights_commit c
    JOIN insights_job d ON d.run_id = c.run_id AND d.type = 'deploy' AND d.status = 'passed'
        AND d.finished_at IS NOT NULL
    JOIN insights_environment e ON e.id = d.environment_id AND e.production
    GROUP BY c.repo, c.sha
), committed AS (
    SELECT repo, sha, min(committed_at) AS at FROM insights_commit GROUP BY repo, sha
), leads AS (
    SELECT greatest(extract(epoch FROM f.first_at - c.at), 0) AS seconds
    FROM firsts f JOIN committed c USING (repo, sha)
    WHERE f.first_at >= %(lo)s AND f.first_at < %(hi)s
)
SELECT (SELECT count(*) FROM counted),
       (SELECT count(*) FILTER (WHERE failed) FROM counted),
       (SELECT count(*) FILTER (WHERE rework) FROM counted),
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM restored_at - at))
        FROM counted WHERE restored_at IS NOT NULL),
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FROM leads),
       (SELECT count(*) FROM leads)
"""


def dora_summary_baseline(lo, hi, days: int) -> tuple[dict, float]:
    from bench import baselines

    [(deployments, failed, rework, restore, lead, commits)], took = baselines.timed_query(
        SUMMARY_SQL, {"lo": lo, "hi": hi}
    )
    figures = {
        "deployments": deployments,
        "deployment_frequency": deployments / days,
        "change_failure_rate": failed / deployments if deployments else None,
        "rework_rate": rework / deployments if deployments else None,
        "time_to_restore_service": None if restore is None else float(restore),
        "lead_time_for_changes": None if lead is None else float(lead),
        "commits": commits,
    }
    return figures, took


def _api_figures(answer: dict) -> dict:
    metrics = answer["metrics"]
    return {
        "deployments": metrics["deployment_frequency"]["deployments"],
        "deployment_frequency": metrics["deployment_frequency"]["value"],
        "change_failure_rate": metrics["change_failure_rate"]["value"],
        "rework_rate": metrics["rework_rate"]["value"],
        "time_to_restore_service": metrics["time_to_restore_service"]["value"],
        "lead_time_for_changes": metrics["lead_time_for_changes"]["value"],
        "commits": metrics["lead_time_for_changes"]["commits"],
    }


def dora_phase(bench: Bench, server, token: str) -> None:
    from django.db import connection

    from bench import baselines

    with connection.cursor() as cursor:
        cursor.execute(COMMITS_SQL)
        added = cursor.rowcount
    analyze()
    today = local_midnight_today()
    first_day = (today - timedelta(days=365)).astimezone(baselines.zone()).date()
    last_day = (today - timedelta(days=1)).astimezone(baselines.zone()).date()
    print(f"DORA: {added:,} commits added; summary of {first_day}..{last_day}", flush=True)
    query = urlencode({"start_date": first_day.isoformat(), "end_date": last_day.isoformat()})
    samples, answer = timed(lambda: server.get_json(f"/api/v1/dora/summary?{query}", token), bench.repeat, warmup=1)
    lo, hi = today - timedelta(days=365), today
    expected, baseline_ms = baseline_median(lambda: dora_summary_baseline(lo, hi, 365), times=1)
    assert_same("dora summary", _api_figures(answer), expected)
    bench.record(
        f"DORA summary, 365 days and the 365 before, {bench.sizes.projects} projects",
        bench.sizes.jobs // 5,
        samples,
        baseline_ms,
        None,
        Target(max_p50_ms=5_000),
        detail=f"{expected['deployments']:,} production deployments, {expected['commits']:,} commits",
    )

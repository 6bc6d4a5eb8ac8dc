"""`TestModule`: the case count last reported per (project, test module), from its latest test job."""

from collections.abc import Iterable

from django.db import connection

from common.rows import chunks
from insights.models import Job, TestModule

MODULES_PER_QUERY = 2000  # (project, module) pairs per statement: 4 parameters each, under SQLite's limit


def _latest_reports(pairs: list[tuple[int, str]]) -> list[tuple[int, str, int | None, bool, int | None]]:
    """Per (project, module): the id of its latest test job that reported a case count (latest
    `started_at`, unknown starts last; ties: latest id), whether it has test jobs at all, and the id of
    its `TestModule` row. One statement (pairs joined from a VALUES list), on SQLite and PostgreSQL;
    each lookup is a backward scan of the (project, test_module, started_at) index."""
    job, module = Job._meta.db_table, TestModule._meta.db_table
    same = "j.project_id = w.project_id AND j.test_module = w.name AND j.type = %s"
    values = ", ".join(["(%s, %s)"] * len(pairs))
    sql = f"""
        WITH w(project_id, name) AS (VALUES {values})
        SELECT w.project_id, w.name,
          COALESCE(
            (SELECT j.id FROM {job} j WHERE {same} AND j.case_count IS NOT NULL AND j.started_at IS NOT NULL
             ORDER BY j.started_at DESC, j.id DESC LIMIT 1),
            (SELECT j.id FROM {job} j WHERE {same} AND j.case_count IS NOT NULL AND j.started_at IS NULL
             ORDER BY j.id DESC LIMIT 1)),
          EXISTS (SELECT 1 FROM {job} j WHERE {same}),
          (SELECT m.id FROM {module} m WHERE m.project_id = w.project_id AND m.name = w.name)
        FROM w
    """
    test = str(Job.Type.TEST)
    params = [value for pair in pairs for value in pair] + [test, test, test]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(pid), name, latest, bool(has_jobs), row) for pid, name, latest, has_jobs, row in cursor.fetchall()]


def recompute_test_modules(pairs: Iterable[tuple[int, str]]) -> int:
    """Set each (project_id, module)'s case count from its test job with the latest `started_at`
    (any status; ties: latest id) among those that reported one; drop modules without test jobs.
    Returns the number of modules kept.

    A constant number of statements per `MODULES_PER_QUERY` modules: one lookup, one read of the
    chosen jobs, one delete, one upsert (in (project, name) order, so concurrent upserts of the same
    modules lock in one order and the unique key settles who inserts).
    """
    wanted = sorted({(int(pid), name) for pid, name in pairs if name})
    kept = 0
    for chunk in chunks(wanted, MODULES_PER_QUERY):
        found = _latest_reports(chunk)
        chosen = [latest for _, _, latest, _, _ in found if latest is not None]
        reports = {
            pk: (count, at)
            for pk, count, at in Job.objects.filter(pk__in=chosen).values_list("pk", "case_count", "started_at")
        }
        gone = sorted(row for _, _, _, has_jobs, row in found if not has_jobs and row is not None)
        if gone:
            TestModule.objects.filter(pk__in=gone).delete()
        rows = []
        for pid, name, latest, has_jobs, _ in sorted(found):
            if has_jobs:
                case_count, reported_at = reports.get(latest, (0, None))
                rows.append(TestModule(project_id=pid, name=name, case_count=case_count, reported_at=reported_at))
        TestModule.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["project", "name"],
            update_fields=["case_count", "reported_at"],
            batch_size=500,
        )
        kept += len(rows)
    return kept

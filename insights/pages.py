"""The delivery page: build, deploy, test and release trends and the rollbacks of chosen projects and days.

A thin view over the same selectors as the Zadig endpoints (insights/selectors.py), so the page, its
CSV downloads and the API answer the same numbers. Operators only: the admin's login and staff flag.
The page lists rollbacks without their YAML; one rollback's diff, bounded in size, lines and time, and
its before/after downloads are separate views (rollback_diff, rollback_download).
"""

import difflib
import time
from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.db.models.functions import Length
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from insights import selectors
from insights.charts import (
    AMBER,
    BLUE,
    GREEN,
    RED,
    Table,
    chart_spec,
    chosen_chart_csv,
    dataset,
    success_rate,
    text_error,
)
from insights.dirty import day_bounds, local_day
from insights.models import Project, Rollback, ServiceSnapshot

DEFAULT_DAYS = 30
MAX_DAYS = 366
ROLLBACKS_SHOWN = 50
CHARTS = ("build", "deploy", "test", "release")


class DeliveryForm(forms.Form):
    """Local days `start`..`end` (inclusive) and project keys; no project ticked = every project."""

    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    project = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["project"].choices = list(Project.objects.order_by("key").values_list("key", "key"))

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("start"), cleaned.get("end")
        if first and last:
            if last < first:
                raise forms.ValidationError("The last day must not be before the first day.")
            if (last - first).days + 1 > MAX_DAYS:
                raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        return cleaned


def with_defaults(params) -> dict:
    """The query string, with the last DEFAULT_DAYS local days where no day is given."""
    data = params.copy()
    today = local_day(timezone.now())
    if not data.get("end"):
        data["end"] = today.isoformat()
    if not data.get("start"):
        data["start"] = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return data


@dataclass
class Delivery:
    """Selector answers for one choice of days and projects."""

    keys: list[str] | None
    first: date
    last: date
    build: dict
    deploy: dict
    test: dict
    release: dict

    @classmethod
    def load(cls, keys: list[str] | None, first: date, last: date) -> "Delivery":
        start, end = day_bounds(first)[0], day_bounds(last)[1]
        return cls(
            keys=keys,
            first=first,
            last=last,
            build=selectors.build_stats(keys, first, last),
            deploy=selectors.deploy_stats(keys, first, last),
            test=selectors.test_stats(keys, first, last),
            release=selectors.release_stats(keys, start, end),
        )

    def tables(self) -> dict[str, Table]:
        """Each chart's rows, oldest first, in the API's field names plus a success rate."""
        build, deploy = (
            Table(
                name,
                ["date", "success", "failure", "total", "success_rate"],
                [
                    [r["date"], r["success"], r["failure"], r["total"], success_rate(r["success"], r["total"])]
                    for r in rows
                ],
            )
            for name, rows in (("build", self.build["data"]), ("deploy", self.deploy["data"]))
        )
        test = Table(
            "test",
            ["date", "success_count", "failed_count", "timeout_count", "success_rate"],
            [
                [
                    r["date"],
                    r["success_count"],
                    r["failed_count"],
                    r["timeout_count"],
                    success_rate(r["success_count"], r["success_count"] + r["failed_count"] + r["timeout_count"]),
                ]
                for r in reversed(self.test["data"])
            ],
        )
        release = Table(
            "release",
            ["date", "success_count", "fail_count", "total", "success_rate"],
            [
                [
                    r["date"],
                    r["success_count"],
                    r["fail_count"],
                    r["total"],
                    success_rate(r["success_count"], r["total"]),
                ]
                for r in self.release["daily_stat"]
            ],
        )
        return {"build": build, "deploy": deploy, "test": test, "release": release}

    def summaries(self) -> list[dict]:
        test = self.test
        return [
            _summary("Builds", self.build["success"], self.build["total"]),
            _summary("Deployments", self.deploy["success"], self.deploy["total"]),
            {
                **_summary("Test runs", test["success_count"], test["exec_count"]),
                "extra": f"average runtime {test['average_runtime']} s, {test['case_count']} test cases",
            },
            _summary("Production releases", self.release["success_count"], self.release["total"]),
        ]


def _summary(title: str, success: int, total: int) -> dict:
    return {"title": title, "success": success, "total": total, "rate": success_rate(success, total)}


def chart_specs(tables: dict[str, Table]) -> dict[str, dict]:
    """Stacked success/failure bars with the success rate as a line on a 0-100 % axis."""
    specs = {}
    for name, table in tables.items():
        success, failure = table.columns[1], table.columns[2]
        bars = [
            dataset("success", table.column(success), GREEN, stack="runs"),
            dataset("failed" if name == "test" else "failure", table.column(failure), RED, stack="runs"),
        ]
        if name == "test":
            bars.append(dataset("timeout", table.column("timeout_count"), AMBER, stack="runs"))
        rate = dataset("success rate %", table.column("success_rate"), BLUE, kind="line", axis="y1")
        specs[name] = chart_spec(
            table.column("date"),
            [*bars, rate],
            y_title="jobs per week" if name == "test" else "jobs per day",
            y1_title="%",
        )
    return specs


# --- rollbacks ---------------------------------------------------------------------------------


def rollbacks(keys: list[str] | None, first: date, last: date, limit: int = ROLLBACKS_SHOWN) -> tuple[int, list[dict]]:
    """The newest `limit` rollbacks of the chosen projects and days, with their total number.

    The Zadig rollback endpoint's filter and order (selectors.rollback_detail: `start <= create_time < end`,
    newest first, newest insert first on ties), but reading only the snapshots' containers: the rendered
    YAML (up to 1 MiB a side) is read by the one rollback's diff view, never for the list.
    """
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    matches = Rollback.objects.filter(create_time__gte=start, create_time__lt=end)
    if keys is not None:
        matches = matches.filter(project__key__in=keys)
    total = matches.count()
    page = list(matches.order_by("-create_time", "-id").values(*selectors.ROLLBACK_FIELDS)[:limit])
    containers: dict[tuple[int, str], list] = {}
    snapshots = ServiceSnapshot.objects.filter(rollback_id__in=[rollback["id"] for rollback in page])
    for snapshot in snapshots.values("rollback_id", "role", "containers"):
        containers[snapshot["rollback_id"], snapshot["role"]] = snapshot["containers"]
    return total, [
        {
            "id": rollback["id"],
            "project_key": rollback["project__key"],
            "env_name": rollback["env_name"],
            "production": rollback["production"],
            "operation_type": rollback["operation_type"],
            "service_name": rollback["service_name"],
            "create_by": {"name": rollback["create_by_name"], "account": rollback["create_by_account"]},
            "created": rollback["create_time"],
            "images": image_changes(
                selectors._containers(containers.get((rollback["id"], ServiceSnapshot.Role.ORIGIN))),
                selectors._containers(containers.get((rollback["id"], ServiceSnapshot.Role.UPDATE))),
            ),
        }
        for rollback in page
    ]


def image_changes(before: list[dict], after: list[dict]) -> list[dict]:
    """Per container name: the image before and after the rollback (blank where the container is absent)."""
    images_before = {c["name"]: c["image"] for c in before}
    images_after = {c["name"]: c["image"] for c in after}
    names = list(dict.fromkeys([*images_before, *images_after]))
    return [
        {
            "name": name,
            "before": images_before.get(name, ""),
            "after": images_after.get(name, ""),
            "changed": images_before.get(name) != images_after.get(name),
        }
        for name in names
    ]


# --- one rollback's YAML diff ------------------------------------------------------------------
#
# difflib's time depends on how many lines there are and how often they repeat, not only on size:
# two 1 MiB YAML texts with a change every 50 lines take about 6 s; 10,000 short lines repeating a
# hundred times each, about 30 s. So a diff is computed only for texts of at most DIFF_MAX_CHARS
# characters and DIFF_MAX_LINES lines a side (realistic YAML that size diffs in about 0.2 s) and gives
# up after DIFF_SECONDS: the line cap keeps one step of the matcher short, so even crafted input is
# refused within about 1.3 s. The page shows the first DIFF_LINES_SHOWN lines of a diff. Before and
# after are downloadable whatever their size, the full diff whenever it was computed.

DIFF_MAX_CHARS = 200_000
DIFF_MAX_LINES = 20_000
DIFF_SECONDS = 1.0
DIFF_LINES_SHOWN = 2_000
DIFF_CLASSES = (("+++", "file"), ("---", "file"), ("@@", "hunk"), ("+", "added"), ("-", "removed"))
# What `/delivery/rollbacks/<id>/download/<part>` serves, and the end of its file name after "rollback-<id>".
DOWNLOADS = {"before": "-before.yaml", "after": "-after.yaml", "diff": ".diff"}


class DiffTooSlow(Exception):
    """The diff was not done within its time budget."""


class BudgetMatcher(difflib.SequenceMatcher):
    """difflib's matcher, giving up once `deadline` (time.monotonic) has passed.

    find_longest_match is its unit of work; with at most DIFF_MAX_LINES lines a side one call takes a
    fraction of a second, so the deadline is overrun by at most that.
    """

    def __init__(self, a: list[str], b: list[str], deadline: float):
        self.deadline = deadline
        super().__init__(None, a, b)

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        if time.monotonic() > self.deadline:
            raise DiffTooSlow
        return super().find_longest_match(alo, ahi, blo, bhi)


def _unified_range(start: int, stop: int) -> str:
    """A hunk header's range, as difflib.unified_diff writes it."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def diff_lines(before: str, after: str, seconds: float | None = None) -> list[str]:
    """difflib.unified_diff of two texts' lines (lineterm ""), within `seconds` (default DIFF_SECONDS) or
    DiffTooSlow."""
    a, b = before.splitlines(), after.splitlines()
    matcher = BudgetMatcher(a, b, deadline=time.monotonic() + (DIFF_SECONDS if seconds is None else seconds))
    lines: list[str] = []
    for group in matcher.get_grouped_opcodes(3):
        if not lines:
            lines += ["--- before rollback", "+++ after rollback"]
        first, last = group[0], group[-1]
        lines.append(f"@@ -{_unified_range(first[1], last[2])} +{_unified_range(first[3], last[4])} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + line for line in a[i1:i2]]
                continue
            if tag in ("replace", "delete"):
                lines += ["-" + line for line in a[i1:i2]]
            if tag in ("replace", "insert"):
                lines += ["+" + line for line in b[j1:j2]]
    return lines


def diff_class(line: str) -> str:
    return next((css for prefix, css in DIFF_CLASSES if line.startswith(prefix)), "context")


def yaml_diff(before: str, after: str) -> list[tuple[str, str]]:
    """A unified diff of two rendered YAML texts as (css class, line) pairs; the template escapes the lines."""
    return [(diff_class(line), line) for line in diff_lines(before, after)]


@dataclass
class RollbackYaml:
    """One rollback's rendered YAML before (origin) and after (update): sizes always, the texts only when
    asked for or small enough to diff. A missing snapshot counts as empty, as in the Zadig endpoint."""

    rollback: Rollback
    chars: dict[str, int]
    containers: dict[str, list]

    @classmethod
    def get(cls, rollback_id: int) -> "RollbackYaml":
        rollback = get_object_or_404(Rollback.objects.select_related("project"), pk=rollback_id)
        chars, containers = {"origin": 0, "update": 0}, {"origin": [], "update": []}
        snapshots = rollback.snapshots.annotate(chars=Length("rendered_yaml")).values("role", "chars", "containers")
        for snapshot in snapshots:
            chars[snapshot["role"]] = snapshot["chars"] or 0
            containers[snapshot["role"]] = selectors._containers(snapshot["containers"])
        return cls(rollback, chars, containers)

    def texts(self) -> tuple[str, str]:
        found = dict(self.rollback.snapshots.values_list("role", "rendered_yaml"))
        return found.get(ServiceSnapshot.Role.ORIGIN, ""), found.get(ServiceSnapshot.Role.UPDATE, "")

    def small_enough(self) -> bool:
        return max(self.chars.values()) <= DIFF_MAX_CHARS


def bounded_diff(before: str, after: str) -> tuple[str, list[str] | None]:
    """("too-large" | "too-slow" | "same" | "diff", the diff's lines when computed)."""
    if max(len(before), len(after)) > DIFF_MAX_CHARS:
        return "too-large", None
    if max(len(before.splitlines()), len(after.splitlines())) > DIFF_MAX_LINES:
        return "too-large", None
    try:
        lines = diff_lines(before, after)
    except DiffTooSlow:
        return "too-slow", None
    return ("diff" if lines else "same"), lines


# --- the view ----------------------------------------------------------------------------------


@staff_member_required
def delivery(request) -> HttpResponse:
    """The page, or one chart's rows as CSV (`?format=csv&chart=build|deploy|test|release`)."""
    form = DeliveryForm(with_defaults(request.GET))
    wants_csv = request.GET.get("format") == "csv"
    if not form.is_valid():
        if wants_csv:
            return text_error(form.errors.as_text())
        return render(request, "pages/delivery.html", {"form": form}, status=400)
    keys = form.cleaned_data["project"] or None
    first, last = form.cleaned_data["start"], form.cleaned_data["end"]
    data = Delivery.load(keys, first, last)
    tables = data.tables()
    if wants_csv:
        return chosen_chart_csv(request, tables, CHARTS, lambda chart: f"delivery-{chart}-{first}-{last}.csv")
    total_rollbacks, entries = rollbacks(keys, first, last)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("chart", None)
    query["start"], query["end"] = first.isoformat(), last.isoformat()
    context = {
        "form": form,
        "first": first,
        "last": last,
        "projects": keys,
        "summaries": data.summaries(),
        "overview": selectors.overview(),
        "charts": [
            {"name": name, "title": title, "csv": f"?{query.urlencode()}&format=csv&chart={name}"}
            for name, title in (
                ("build", "Builds per day"),
                ("deploy", "Deployments per day"),
                ("test", "Test runs per week (weeks end on the last chosen day)"),
                ("release", "Production releases per day"),
            )
        ],
        "chart_data": chart_specs(tables),
        "rollback_total": total_rollbacks,
        "rollbacks": entries,
    }
    return render(request, "pages/delivery.html", context)


@staff_member_required
def rollback_diff(request, rollback_id: int) -> HttpResponse:
    """One rollback's rendered YAML diff: its first DIFF_LINES_SHOWN lines, within the caps above."""
    found = RollbackYaml.get(rollback_id)
    before_chars, after_chars = found.chars["origin"], found.chars["update"]
    state, lines = "too-large", None
    before_lines = after_lines = None
    if found.small_enough():
        before, after = found.texts()
        before_lines, after_lines = len(before.splitlines()), len(after.splitlines())
        state, lines = bounded_diff(before, after)
    lines = lines or []
    shown = lines[:DIFF_LINES_SHOWN]
    rollback = found.rollback
    context = {
        "rollback": rollback,
        "images": image_changes(found.containers["origin"], found.containers["update"]),
        "state": state,
        "diff": [(diff_class(line), line) for line in shown],
        "diff_total": f"{len(lines):,}",
        "hidden": f"{len(lines) - len(shown):,}" if len(lines) > len(shown) else None,
        "before_chars": f"{before_chars:,}",
        "after_chars": f"{after_chars:,}",
        "before_lines": None if before_lines is None else f"{before_lines:,}",
        "after_lines": None if after_lines is None else f"{after_lines:,}",
        "max_chars": f"{DIFF_MAX_CHARS:,}",
        "max_lines": f"{DIFF_MAX_LINES:,}",
        "seconds": f"{DIFF_SECONDS:g}",
        "shown_cap": f"{DIFF_LINES_SHOWN:,}",
    }
    return render(request, "pages/rollback_diff.html", context)


@staff_member_required
def rollback_download(request, rollback_id: int, part: str) -> HttpResponse:
    """`before` / `after` (the rendered YAML as stored) or `diff` (the full unified diff, only within the
    caps), as a UTF-8 text attachment named after the rollback's id."""
    if part not in DOWNLOADS:
        raise Http404("no such download")
    found = RollbackYaml.get(rollback_id)
    if part == "diff":
        state, lines = bounded_diff(*found.texts()) if found.small_enough() else ("too-large", None)
        if lines is None:
            reason = "too large to diff here" if state == "too-large" else f"not diffed within {DIFF_SECONDS:g} s"
            return _text(f"Rollback {rollback_id}: {reason}; download before and after instead.", 404)
        body = "".join(line + "\n" for line in lines)
    else:
        before, after = found.texts()
        body = before if part == "before" else after
    response = _text(body)
    response["Content-Disposition"] = f'attachment; filename="rollback-{int(rollback_id)}{DOWNLOADS[part]}"'
    return response


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body.encode("utf-8", errors="replace"), status=status, content_type="text/plain; charset=utf-8")

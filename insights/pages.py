"""The delivery page: build, deploy, test and release trends and the rollbacks of chosen projects and days.

A thin view over the same selectors as the Zadig endpoints (insights/selectors.py), so the page, its
CSV downloads and the API answer the same numbers. Operators only: the admin's login and staff flag.
The page lists rollbacks without their YAML; one rollback's diff, bounded in size, lines and time, and
its before/after downloads are separate views (rollback_diff, rollback_download).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from common.charts import (
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
from insights import dora_page, rollback_records, selectors
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

    The Zadig rollback endpoint's filter and order (rollback_records.rollback_detail: `start <= create_time < end`,
    newest first, newest insert first on ties), but reading only the snapshots' containers: the rendered
    YAML (up to 1 MiB a side) is read by the one rollback's diff view, never for the list.
    """
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    matches = Rollback.objects.filter(create_time__gte=start, create_time__lt=end)
    if keys is not None:
        matches = matches.filter(project__key__in=keys)
    total = matches.count()
    page = list(matches.order_by("-create_time", "-id").values(*rollback_records.ROLLBACK_FIELDS)[:limit])
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
                rollback_records.containers_of(containers.get((rollback["id"], ServiceSnapshot.Role.ORIGIN))),
                rollback_records.containers_of(containers.get((rollback["id"], ServiceSnapshot.Role.UPDATE))),
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


# --- the view ----------------------------------------------------------------------------------


@staff_member_required
def delivery(request) -> HttpResponse:
    """The page, or one chart's rows as CSV (`?format=csv&chart=build|deploy|test|release|lead_time|services`).

    `?sort=column` (or `-column`) orders the DORA per-service table and its CSV."""
    form = DeliveryForm(with_defaults(request.GET))
    wants_csv = request.GET.get("format") == "csv"
    if not form.is_valid():
        if wants_csv:
            return text_error(form.errors.as_text())
        return render(request, "pages/delivery.html", {"form": form}, status=400)
    keys = form.cleaned_data["project"] or None
    first, last = form.cleaned_data["start"], form.cleaned_data["end"]
    sort = request.GET.get("sort", "")
    if wants_csv:
        if request.GET.get("chart") in dora_page.CHARTS:
            tables = dora_page.Dora.load(keys, first, last).tables(sort)
        else:
            tables = Delivery.load(keys, first, last).tables()
        charts = CHARTS + dora_page.CHARTS
        return chosen_chart_csv(request, tables, charts, lambda chart: f"delivery-{chart}-{first}-{last}.csv")
    data = Delivery.load(keys, first, last)
    tables = data.tables()
    dora = dora_page.Dora.load(keys, first, last)
    dora_tables = dora.tables(sort)
    total_rollbacks, entries = rollbacks(keys, first, last)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("chart", None)
    query["start"], query["end"] = first.isoformat(), last.isoformat()
    csv_link = f"?{query.urlencode()}&format=csv&chart="
    context = {
        "form": form,
        "first": first,
        "last": last,
        "projects": keys,
        "summaries": data.summaries(),
        "overview": selectors.overview(),
        "charts": [
            {"name": name, "title": title, "csv": f"{csv_link}{name}"}
            for name, title in (
                ("build", "Builds per day"),
                ("deploy", "Deployments per day"),
                ("test", "Test runs per week (weeks end on the last chosen day)"),
                ("release", "Production releases per day"),
            )
        ],
        "chart_data": {**chart_specs(tables), "lead_time": dora_page.lead_time_chart(dora_tables["lead_time"])},
        "dora": {
            "summary": dora.summary,
            "tiles": dora.tiles(),
            "lead_time_csv": f"{csv_link}lead_time",
            "commits": len(dora.lead_times),
            "services": dora_page.service_rows(dora_tables["services"]),
            "services_csv": f"{csv_link}services",
            "sort_links": dora_page.sort_links(query, sort),
        },
        "rollback_total": total_rollbacks,
        "rollbacks": entries,
    }
    return render(request, "pages/delivery.html", context)

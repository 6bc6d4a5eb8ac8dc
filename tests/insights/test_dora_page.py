"""The delivery page's DORA part (insights/dora_page.py) without a browser: the tiles hold
`/api/v1/dora/summary`'s figures for the same days and projects, the lead-time and per-service CSVs
equal what the page shows and add up to the API's counts, and the per-service table sorts."""

import csv
import io
import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
from django.core.management import call_command
from django.test import Client

from common.demo import seed_demo
from insights.dora import selectors
from insights.dora_page import (
    LEAD_TIME_BUCKETS,
    SORT_KEYS,
    duration,
    frequency,
    lead_time_bucket,
    percent,
    sorted_services,
    trend,
)

NOW = datetime(2026, 3, 12, 6, 30, 17, tzinfo=UTC)
FIRST, LAST = date(2026, 2, 20), date(2026, 3, 12)
TILE = re.compile(
    r'<div class="card tile" data-dora="(?P<metric>\w+)" data-value="(?P<value>[^"]*)" '
    r'data-change="(?P<change>[^"]*)" data-level="(?P<level>\w*)">'
)
CELL = re.compile(r'<td data-column="(\w+)" data-value="([^"]*)">')


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Six weeks of demo history (commits, hotfixes, failures and their restores), seeded once."""
    with django_db_blocker.unblock():
        yield seed_demo(days=42, cdn_days=0, seed=5, now=NOW)
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def staff(seeded, django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("ops", is_staff=True))
    return client


def page_query(**extra) -> dict:
    return {"start": FIRST.isoformat(), "end": LAST.isoformat(), **extra}


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def tiles(html: str) -> dict[str, dict]:
    return {match["metric"]: match.groupdict() for match in TILE.finditer(html)}


def table_rows(html: str) -> list[dict]:
    body = html.split('<table class="summary dora-services">', 1)[1].split("</table>", 1)[0]
    return [{name: unescape(value) for name, value in CELL.findall(row)} for row in body.split("<tr>")[2:]]


@pytest.mark.django_db
@pytest.mark.parametrize("projects", [[], ["shop"], ["payments", "iot"]])
def test_tiles_hold_the_summary_endpoints_figures(staff, api_client, projects):
    html = staff.get("/delivery/", page_query(project=projects)).content.decode()
    api = api_client.get("/api/v1/dora/summary", {"start_date": FIRST, "end_date": LAST, "project": projects}).json()
    shown = tiles(html)
    assert list(shown) == list(selectors.METRICS)
    for metric, figures in api["metrics"].items():
        tile = shown[metric]
        assert tile["value"] == ("" if figures["value"] is None else repr(figures["value"]))
        assert tile["change"] == ("" if figures["change_percent"] is None else repr(figures["change_percent"]))
        assert tile["level"] == (figures["level"] or "")
    assert api["metrics"]["deployment_frequency"]["deployments"] > 0  # the demo deploys every chosen project
    assert f"compared with {api['previous_start_date']} to {api['previous_end_date']}" in html


@pytest.mark.django_db
def test_tiles_show_human_units_levels_and_which_way_is_good(staff):
    html = staff.get("/delivery/", page_query()).content.decode()
    dora = html.split('id="dora"', 1)[1].split("</section>", 1)[0]
    assert dora.count("up is good") == 1 and dora.count("down is good") == 4
    assert re.search(r'data-field="display">\d+\.\d (/ day|/ week)<', dora)
    assert re.search(r'data-field="display">\d+\.\d (min|h|d)<', dora)
    assert re.search(r'data-field="display">\d+\.\d %<', dora)
    assert re.search(r'class="level level-(elite|high|medium|low)"', dora)
    assert "level-none" in dora  # rework rate has no DORA level
    assert re.search(r'class="trend (good|bad)" data-field="trend"[^>]*>[↑↓] [+-]\d+\.\d %<', dora)


@pytest.mark.django_db
@pytest.mark.parametrize("projects", [[], ["search"]])
def test_csvs_equal_the_table_and_add_up_to_the_summary(staff, api_client, projects):
    query = page_query(project=projects)
    html = staff.get("/delivery/", query).content.decode()
    api = api_client.get("/api/v1/dora/summary", {"start_date": FIRST, "end_date": LAST, "project": projects}).json()[
        "metrics"
    ]

    services = read_csv(staff.get("/delivery/", {**query, "format": "csv", "chart": "services"}))
    assert services == table_rows(html)
    assert list(services[0]) == list(SORT_KEYS)
    assert sum(int(row["deployments"]) for row in services) == api["deployment_frequency"]["deployments"]
    assert {row["project"] for row in services} == set(projects or ["shop", "payments", "search", "iot"])
    scope = selectors.Scope(projects=tuple(projects))
    assert [
        [str(value) if value is not None else "" for value in row.values()]
        for row in selectors.per_service(FIRST, LAST, scope)
    ] == [list(row.values()) for row in services]

    lead = read_csv(staff.get("/delivery/", {**query, "format": "csv", "chart": "lead_time"}))
    assert [row["bucket"] for row in lead] == [label for label, _ in LEAD_TIME_BUCKETS]
    assert sum(int(row["commits"]) for row in lead) == api["lead_time_for_changes"]["commits"] > 0
    assert sum(int(row["commits"]) for row in lead[:2]) > 0 and sum(int(row["commits"]) for row in lead[2:]) > 0


@pytest.mark.django_db
def test_the_per_service_table_sorts_both_ways_and_its_csv_follows(staff):
    descending = table_rows(staff.get("/delivery/", page_query(sort="-deployments")).content.decode())
    counts = [int(row["deployments"]) for row in descending]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    html = staff.get("/delivery/", page_query(sort="deployments")).content.decode()
    assert [int(row["deployments"]) for row in table_rows(html)] == sorted(counts)
    assert 'data-sort="deployments"' in html and "sort=-deployments#dora-services" in html  # click again: reversed
    csv_rows = read_csv(staff.get("/delivery/", page_query(sort="-deployments", format="csv", chart="services")))
    assert csv_rows == descending
    assert table_rows(staff.get("/delivery/", page_query(sort="nonsense")).content.decode())  # ignored, not a 500


@pytest.mark.django_db
def test_an_unknown_chart_lists_the_dora_ones(staff):
    response = staff.get("/delivery/", page_query(format="csv", chart="dora"))
    assert response.status_code == 400
    assert "lead_time, services" in response.content.decode()


def test_human_units():
    assert [duration(s) for s in (None, 42, 90, 3600, 5400, 86400 * 3)] == [
        "–",
        "42 s",
        "1.5 min",
        "1.0 h",
        "1.5 h",
        "3.0 d",
    ]
    assert [percent(r) for r in (None, 0, 0.1234)] == ["–", "0.0 %", "12.3 %"]
    assert [frequency(f) for f in (None, 0, 0.5, 2.25)] == ["–", "0.0 / day", "3.5 / week", "2.2 / day"]
    assert [lead_time_bucket(s) for s in (0, 3599, 3600, 86400, 7 * 86400, 30 * 86400)] == [
        "<1h",
        "<1h",
        "1h–1d",
        "1d–1w",
        "1w–1m",
        ">1m",
    ]


def test_trend_says_whether_the_change_is_good():
    assert trend(12.5, rise_is_good=True) == {"arrow": "↑", "text": "+12.5 %", "good": True}
    assert trend(12.5, rise_is_good=False)["good"] is False
    assert trend(-3.0, rise_is_good=False) == {"arrow": "↓", "text": "-3.0 %", "good": True}
    assert trend(None, rise_is_good=True)["good"] is None and trend(0.0, rise_is_good=True)["arrow"] == "→"


def test_sorting_puts_missing_figures_last_both_ways():
    rows = [{"rework_rate": 0.5}, {"rework_rate": None}, {"rework_rate": 0.1}]
    assert sorted_services(rows, "rework_rate") == [{"rework_rate": 0.1}, {"rework_rate": 0.5}, {"rework_rate": None}]
    assert sorted_services(rows, "-rework_rate")[0] == {"rework_rate": 0.5}
    assert sorted_services(rows, "bogus") is rows

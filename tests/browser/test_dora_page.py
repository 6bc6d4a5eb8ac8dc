"""The delivery page's DORA part in headless Chromium, over demo history: the five tiles render with the
figures of `/api/v1/dora/summary`, the lead-time chart is drawn, the CSP reports no violation, the
per-service table sorts on a click, and the downloaded CSVs hold the API's figures."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.demo import seed_demo
from common.tokens import create_api_token
from insights.dirty import local_day
from insights.dora import selectors
from tests.browser.helpers import download_csv, drawn_charts, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def history():
    """Six weeks of the demo's CI/CD history ending now: the last 30 days (the page's default) are shown."""
    seed_demo(days=42, cdn_days=0, seed=3)
    today = local_day(timezone.now())
    return today - timedelta(days=29), today


def summary_api(page, first, last, projects=()) -> dict:
    token = create_api_token("dora-check", read_only=True)
    query = "&".join([f"start_date={first}", f"end_date={last}", *(f"project={key}" for key in projects)])
    response = page.request.get(f"/api/v1/dora/summary?{query}", headers={"Authorization": f"Bearer {token}"})
    assert response.ok, response.text()
    return response.json()


def test_tiles_render_the_api_figures_without_csp_violations(csp_page, history):
    first, last = history
    response = csp_page.goto(f"/delivery/?start={first}&end={last}&project=shop&project=payments")
    assert response.ok
    csp_page.wait_for_load_state("networkidle")
    api = summary_api(csp_page, first, last, ("shop", "payments"))["metrics"]

    tiles = csp_page.locator("[data-dora]")
    assert tiles.count() == 5
    for metric in selectors.METRICS:
        tile = csp_page.locator(f"[data-dora={metric}]")
        assert tile.is_visible()
        figures = api[metric]
        assert tile.get_attribute("data-value") == ("" if figures["value"] is None else repr(figures["value"]))
        assert tile.get_attribute("data-level") == (figures["level"] or "")
        # A figure in words where the API has one, the dash where it has none (the demo's history is
        # anchored at now, so a window may hold no restored failure).
        shown = tile.locator("[data-field=display]").inner_text().strip()
        assert (shown == "–") == (figures["value"] is None) and shown
    frequency = csp_page.locator("[data-dora=deployment_frequency]")
    assert "up is good" in frequency.inner_text()
    trend = frequency.locator("[data-field=trend]")
    if api["deployment_frequency"]["change_percent"]:
        arrow = "↑" if api["deployment_frequency"]["change_percent"] > 0 else "↓"
        assert trend.inner_text().startswith(arrow)
        assert ("good" in trend.get_attribute("class")) == (arrow == "↑")
    # Levels are styled from pages.css (no inline styles under the CSP).
    level = csp_page.locator("[data-dora=lead_time_for_changes] .level")
    assert level.evaluate("node => getComputedStyle(node).textTransform") == "uppercase"

    pixels = drawn_charts(csp_page)
    assert pixels["lead_time"] > 500, pixels
    assert violations(csp_page) == []


def test_downloaded_csvs_hold_the_api_figures_and_follow_the_sort(page, history):
    first, last = history
    page.goto(f"/delivery/?start={first}&end={last}")
    api = summary_api(page, first, last)["metrics"]

    services = download_csv(page, "services")
    assert services and sum(int(row["deployments"]) for row in services) == api["deployment_frequency"]["deployments"]
    failed = sum(
        round(float(row["change_failure_rate"]) * int(row["deployments"])) for row in services if row["deployments"]
    )
    assert failed == api["change_failure_rate"]["failed_deployments"]
    rework = sum(round(float(row["rework_rate"]) * int(row["deployments"])) for row in services)
    assert rework == api["rework_rate"]["rework_deployments"]
    shown = page.locator("table.dora-services tbody tr")
    assert shown.count() == len(services)
    assert shown.first.locator("td[data-column=deployments]").inner_text() == services[0]["deployments"]

    lead = download_csv(page, "lead_time")
    assert sum(int(row["commits"]) for row in lead) == api["lead_time_for_changes"]["commits"] > 0

    page.click("table.dora-services a[data-sort=deployments]")
    page.wait_for_url("**sort=deployments*")
    page.click("table.dora-services a[data-sort=deployments]")
    page.wait_for_url("**sort=-deployments*")
    descending = download_csv(page, "services")
    counts = [int(row["deployments"]) for row in descending]
    assert counts == sorted(counts, reverse=True)
    assert sorted(map(tuple, (row.values() for row in descending))) == sorted(
        map(tuple, (row.values() for row in services))
    )

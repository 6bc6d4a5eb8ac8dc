"""The delivery page in headless Chromium: drawn charts, range and project choices, CSV equal to the
Zadig API, a rollback's link to its diff page and downloads, and an admin correction showing up on the page."""

from datetime import timedelta

import pytest

from common.tokens import create_api_token
from insights.dirty import day_bounds
from tests.browser.data import AFTER_YAML, BEFORE_YAML, HOSTILE, delivery_data
from tests.browser.helpers import download_csv, drawn_charts, fetch_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def data():
    return delivery_data()


def builds_card(page) -> tuple[int, int]:
    card = page.locator("[data-summary=Builds]")
    return int(card.locator("[data-field=total]").inner_text()), int(card.locator("[data-field=success]").inner_text())


def open_week(page, data, **extra):
    start = (data.today - timedelta(days=6)).isoformat()
    query = "&".join(f"{key}={value}" for key, value in {"start": start, "end": data.today, **extra}.items())
    page.goto(f"/delivery/?{query}")


def test_charts_are_drawn_and_follow_the_chosen_days_and_projects(page, data):
    open_week(page, data)
    pixels = drawn_charts(page)
    assert set(pixels) == {"build", "deploy", "test", "release", "lead_time"}
    assert all(count > 500 for count in pixels.values()), pixels
    assert builds_card(page) == (8, 7)

    page.fill("#id_start", (data.today - timedelta(days=2)).isoformat())
    page.click("#filters button[type=submit]")
    page.wait_for_url("**start=*")
    assert builds_card(page) == (4, 4)

    page.fill("#id_start", (data.today - timedelta(days=6)).isoformat())
    page.check("input[name=project][value=alpha]")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**project=alpha*")
    assert builds_card(page) == (4, 3)
    assert page.locator("[data-summary='Production releases'] [data-field=total]").inner_text() == "1"
    assert drawn_charts(page)["build"] > 500


def zadig(page, endpoint: str, token: str, **params) -> dict:
    response = page.request.get(
        f"/openapi/statistics/{endpoint}", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.ok, response.text()
    return response.json()


def test_every_csv_holds_the_zadig_apis_numbers(page, data):
    token = create_api_token("csv-check", read_only=True)
    first, last = data.today - timedelta(days=6), data.today
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    daily = {"startDate": int(start.timestamp()), "endDate": int(start.timestamp()) + 6 * 86400 + 3600}
    open_week(page, data)

    build = download_csv(page, "build")
    api = zadig(page, "build", token, **daily)
    assert [{k: row[k] for k in ("date", "success", "failure", "total")} for row in build] == [
        {k: str(v) for k, v in row.items()} for row in api["data"]
    ]
    assert sum(int(row["total"]) for row in build) == api["total"] == 8

    deploy = fetch_csv(page, "deploy")
    api = zadig(page, "deploy", token, **daily)
    assert [[row["date"], row["success"], row["failure"], row["total"]] for row in deploy] == [
        [row["date"], str(row["success"]), str(row["failure"]), str(row["total"])] for row in api["data"]
    ]

    test = fetch_csv(page, "test")
    api = zadig(page, "test", token, **daily)
    assert [[row["date"], row["success_count"], row["failed_count"], row["timeout_count"]] for row in test] == [
        [row["date"], str(row["success_count"]), str(row["failed_count"]), str(row["timeout_count"])]
        for row in reversed(api["data"])
    ]

    release = fetch_csv(page, "release")
    api = zadig(page, "v2/release", token, start_time=int(start.timestamp()), end_time=int(end.timestamp()) - 1)
    assert [[row["date"], row["success_count"], row["fail_count"], row["total"]] for row in release] == [
        [row["date"], str(row["success_count"]), str(row["fail_count"]), str(row["total"])] for row in api["daily_stat"]
    ]
    assert api["total"] == 1


def test_a_rollback_opens_to_its_images_and_links_to_an_escaped_yaml_diff(page, data):
    open_week(page, data)
    rollback = page.locator("details.rollback").first
    rollback.locator("summary").click()
    assert HOSTILE in rollback.locator("summary").inner_text()  # shown as text, not markup
    images = rollback.locator("table.images tr.changed td").all_inner_texts()
    assert images == ["web", "registry.example.com/web:1.0", "registry.example.com/web:0.9"]
    assert page.locator("pre.diff").count() == 0  # the page computes no diff

    rollback.locator("a.diff-link").click()
    page.wait_for_url("**/delivery/rollbacks/*/")
    assert HOSTILE in page.locator("main p.rollback").inner_text()
    diff = page.locator("pre.diff")
    assert diff.is_visible()
    assert diff.locator(".removed").all_inner_texts() == ["-  image: registry.example.com/web:1.0"]
    assert diff.locator(".added").all_inner_texts() == [
        "+  image: registry.example.com/web:0.9",
        f"+# {HOSTILE}",
    ]
    assert diff.locator(".hunk").all_inner_texts() == ["@@ -1,5 +1,6 @@"]
    assert f" {BEFORE_YAML.splitlines()[-1]}" in diff.locator(".context").all_inner_texts()
    assert page.evaluate("window.hacked") is None

    for part, text in (("before", BEFORE_YAML), ("after", AFTER_YAML + f"# {HOSTILE}\n")):
        with page.expect_download() as info:
            page.click(f"a[data-download={part}]")
        download = info.value
        assert download.suggested_filename.endswith(f"-{part}.yaml")
        with open(download.path(), encoding="utf-8") as handle:
            assert handle.read() == text
    with page.expect_download() as info:
        page.click("a[data-download=diff]")
    with open(info.value.path(), encoding="utf-8") as handle:
        assert handle.read().splitlines() == diff.inner_text().splitlines()


def test_a_status_corrected_in_the_admin_changes_the_page(page, data):
    open_week(page, data)
    assert builds_card(page) == (8, 7)
    page.goto(f"/admin/insights/job/{data.flip_job_id}/change/")
    page.select_option("#id_status", "failed")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    open_week(page, data)
    assert builds_card(page) == (8, 6)
    build = fetch_csv(page, "build")
    yesterday = (data.today - timedelta(days=1)).isoformat()
    assert next(row for row in build if row["date"] == yesterday)["failure"] == "1"

"""The CDN origin page in headless Chromium: drawn charts, peaks and totals, a CSV equal to
describe_origin_data, a changed interval, and a bad parameter shown as a message."""

from datetime import timedelta

import pytest

from cdnorigin.selectors import describe_origin_data
from tests.browser.data import DOMAINS, local_input, origin_data
from tests.browser.helpers import download_csv, drawn_charts, fetch_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def origin():
    return origin_data()


def summary(page, resource: str, field: str) -> float:
    return float(page.locator(f"tr[data-resource='{resource}'] [data-field={field}]").get_attribute("data-value"))


def test_charts_peaks_and_totals_follow_domains_and_interval(page, origin):
    start, end = origin.first_minute - timedelta(hours=1), origin.first_minute + timedelta(hours=2)
    page.goto("/cdn/")
    page.fill("input[name=start]", local_input(start))
    page.fill("input[name=end]", local_input(end))
    for name in DOMAINS:
        page.check(f"input[name=domain][value='{name}']")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**domain=*")

    pixels = drawn_charts(page)
    assert set(pixels) == {"bandwidth", "qps", "status"}
    assert all(count > 500 for count in pixels.values()), pixels
    assert summary(page, "total", "peak_bandwidth") == pytest.approx(origin.peak_bandwidth_5min)
    assert summary(page, "total", "total_bytes") == origin.total_bytes
    assert summary(page, "total", "total_requests") == origin.total_requests
    assert summary(page, DOMAINS[1], "total_requests") == 300
    assert page.locator("[data-status=status_5xx]").inner_text() == "status_5xx 60"

    params = {
        "StartTime": int(start.timestamp()),
        "EndTime": int(end.timestamp()),
        "Interval": "5min",
        "Domain": ",".join(DOMAINS),
    }
    rows = download_csv(page, "bandwidth")
    answer = describe_origin_data({**params, "Metric": "bandwidth"}, None)["Resources"]
    assert [resource["Name"] for resource in answer] == [*DOMAINS, "total"]
    for resource in answer:
        values = resource["Metrics"][0]["Values"]
        assert [int(row["timestamp"]) for row in rows] == [point["Timestamp"] for point in values]
        assert [float(row[resource["Name"]]) for row in rows] == [point["Value"] for point in values]
    status = fetch_csv(page, "status")
    answer = describe_origin_data({**params, "Metric": "status_all"}, None)["Resources"][-1]["Metrics"]
    for metric in answer:
        assert [float(row[metric["Metric"]]) for row in status] == [point["Value"] for point in metric["Values"]]

    page.select_option("select[name=interval]", "1min")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**interval=1min*")
    assert summary(page, "total", "peak_bandwidth") == pytest.approx(origin.peak_bandwidth_1min)
    assert summary(page, "total", "total_bytes") == origin.total_bytes
    assert len(fetch_csv(page, "qps")) == 3 * 60 + 1


def test_a_bad_parameter_is_a_message_on_the_page_not_an_error_page(page, origin):
    page.goto("/cdn/")
    page.fill("input[name=start]", local_input(origin.first_minute - timedelta(days=2)))
    page.select_option("select[name=interval]", "1min")
    with page.expect_response(lambda response: "/cdn/?" in response.url) as info:
        page.click("#filters button[type=submit]")
    assert info.value.status == 400
    alert = page.locator("[role=alert]").inner_text()
    assert "InvalidParameter.Interval" in alert and "1min" in alert
    assert page.locator("canvas").count() == 0
    assert page.locator("select[name=interval]").input_value() == "1min"  # the choice is kept to correct

"""Every page works under the Content-Security-Policy (config/settings.py) in headless Chromium: the
browser reports no violation (neither a `securitypolicyviolation` event nor a console message), and
what the policy could have broken still works: styles from files, charts, Swagger UI's start-up script."""

from datetime import timedelta

import pytest

from insights.models import Rollback
from tests.browser.data import delivery_data, local_input, origin_data
from tests.browser.helpers import drawn_charts, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def visit(page, path: str):
    response = page.goto(path)
    assert response.ok, (path, response.status)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")


def test_landing_page_is_styled_from_its_static_file(csp_page):
    visit(csp_page, "/")
    assert csp_page.locator("body").evaluate("body => getComputedStyle(body).maxWidth") == "736px"  # 46rem
    assert violations(csp_page) == []


def test_delivery_page_and_a_rollback_diff_draw_without_violations(csp_page):
    data = delivery_data()
    start = (data.today - timedelta(days=6)).isoformat()
    visit(csp_page, f"/delivery/?start={start}&end={data.today}")
    pixels = drawn_charts(csp_page)
    assert set(pixels) == {"build", "deploy", "test", "release", "lead_time"}
    assert all(count > 500 for count in pixels.values()), pixels
    visit(csp_page, f"/delivery/rollbacks/{Rollback.objects.get().pk}/")
    assert csp_page.locator("pre.diff .added").count() == 2
    assert violations(csp_page) == []


def test_cdn_page_draws_without_violations(csp_page):
    origin = origin_data()
    start, end = origin.first_minute, origin.first_minute + timedelta(hours=1)
    visit(csp_page, f"/cdn/?start={local_input(start)}&end={local_input(end)}&domain=a.example.com")
    pixels = drawn_charts(csp_page)
    assert set(pixels) == {"bandwidth", "qps", "status"}
    assert all(count > 500 for count in pixels.values()), pixels
    assert violations(csp_page) == []


def test_admin_pages_without_violations(csp_page):
    delivery_data()
    visit(csp_page, "/admin/")
    assert csp_page.locator("#overview").evaluate("panel => getComputedStyle(panel).maxWidth") == "600px"
    assert csp_page.locator("#rollup-lag table").evaluate(
        "table => table.offsetWidth === table.parentElement.clientWidth"
    )
    for path in ("/admin/insights/job/", "/admin/insights/job/add/", "/admin/cdnorigin/domain/", "/admin/auth/user/"):
        visit(csp_page, path)
    assert violations(csp_page) == []


def test_admin_rollback_page_without_violations(csp_page):
    delivery_data()
    visit(csp_page, f"/admin/insights/rollback/{Rollback.objects.get().pk}/change/")
    assert violations(csp_page) == []


def test_swagger_ui_starts_from_its_separate_script_without_violations(csp_page):
    visit(csp_page, "/api/docs/")
    csp_page.wait_for_selector(".opblock")  # the operations, drawn from /api/schema/ by the start-up script
    assert csp_page.locator(".opblock").count() > 10
    # drf-spectacular's inline <style>, moved to pages/api-docs.css
    assert csp_page.locator("body").evaluate("body => getComputedStyle(body).backgroundColor") == "rgb(250, 250, 250)"
    assert violations(csp_page) == []

"""The admin as an operator sees it in a 1400 px window: the run page's jobs table fits without a
horizontal scroll bar, and the rollup queue's column headers stay on one line."""

import pytest

from insights.models import WorkflowRun
from tests.browser.data import delivery_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINES_OF_TEXT = """cells => cells.map(cell => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size;
})"""


def test_the_jobs_of_a_run_fit_a_1400_px_window(page):
    delivery_data()
    run = WorkflowRun.objects.filter(jobs__isnull=False).order_by("pk").first()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"/admin/insights/workflowrun/{run.pk}/change/")
    assert page.locator("#jobs-group table").count() == 1
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"


def test_the_rollup_queue_headers_are_one_line_each(page):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto("/admin/")
    lines = page.locator("#rollup-lag thead th").evaluate_all(LINES_OF_TEXT)
    assert lines and set(lines) == {1}, lines

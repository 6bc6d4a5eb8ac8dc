"""What the browser tests read off a page: drawn canvases, CSV downloads, the Zadig API over HTTP, CSP violations
(recorded by the `csp_page` fixture)."""

import csv
import io

# Opaque pixels of a canvas: 0 for a blank one, thousands for a drawn chart.
OPAQUE_PIXELS = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) count++;
  return count;
}"""


def drawn_charts(page) -> dict[str, int]:
    """chart name -> opaque pixels, for every chart canvas on the page."""
    page.wait_for_selector("canvas[data-drawn]")
    return {
        canvas.get_attribute("data-chart"): canvas.evaluate(OPAQUE_PIXELS)
        for canvas in page.locator("canvas[data-chart]").all()
    }


def download_csv(page, chart: str) -> list[dict]:
    """Click the chart's CSV link and read the downloaded file."""
    with page.expect_download() as info:
        page.click(f"a[data-chart-csv={chart}]")
    download = info.value
    with open(download.path(), encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def fetch_csv(page, chart: str) -> list[dict]:
    """The chart's CSV through the browser's session, without a download dialog."""
    href = page.locator(f"a[data-chart-csv={chart}]").evaluate("link => link.href")
    response = page.request.get(href)
    assert response.ok, response.text()
    return list(csv.DictReader(io.StringIO(response.text())))


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations") + page.csp_console

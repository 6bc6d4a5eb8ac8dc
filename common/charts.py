"""One table per chart: the web pages draw it (as JSON for Chart.js) and offer it as CSV.

Both come from the same `Table`, built from a selector's answer, so the picture, the download and the
API can never disagree.
"""

import csv
import io
from dataclasses import dataclass, field

from django.http import HttpResponse

GREEN, RED, AMBER, BLUE, GREY, PURPLE = "#2e9d5b", "#d64545", "#e0a030", "#3b73c4", "#8a8f98", "#8e5cc4"
PALETTE = (BLUE, "#e07b39", GREEN, PURPLE, RED, "#3aa6a6", AMBER, "#c45c9a", GREY, "#5c6bc0")


@dataclass
class Table:
    """Named columns and rows of plain numbers/strings; `name` is the chart's id and the CSV's file stem."""

    name: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)

    def column(self, name: str) -> list:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def success_rate(success: int, total: int) -> float | None:
    """Percent with one decimal; None when nothing ran (no rate, not 0 %)."""
    return round(100 * success / total, 1) if total else None


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote
    (OWASP's rule). Numbers stay numbers, negative ones included; only text written by clients
    (project, service, domain names) can start that way."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(table: Table, filename: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(name) for name in table.columns])
    writer.writerows([safe_cell("" if value is None else value) for value in row] for row in table.rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def text_error(message: str) -> HttpResponse:
    """A 400 for the CSV variants: a script reading CSV gets a line it can print, not an HTML page."""
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def chosen_chart_csv(request, tables: dict[str, Table], charts: tuple[str, ...], filename) -> HttpResponse:
    """The CSV of the chart named by `?chart=` (`filename(chart)` names the download), or a 400."""
    chart = request.GET.get("chart", "")
    if chart not in tables:
        return text_error(f"chart must be one of {', '.join(charts)}")
    return csv_response(tables[chart], filename(chart))


def dataset(label: str, data: list, color: str, *, kind: str = "bar", stack: str | None = None, axis: str = "y"):
    """One Chart.js dataset; `charts.js` turns these into the real configuration."""
    return {"label": label, "data": data, "color": color, "type": kind, "stack": stack, "yAxisID": axis}


def chart_spec(labels: list[str], datasets: list[dict], *, y_title: str, y1_title: str | None = None) -> dict:
    """What `static/pages/charts.js` needs to draw one chart: labels, datasets, axis titles."""
    return {"labels": labels, "datasets": datasets, "yTitle": y_title, "y1Title": y1_title}

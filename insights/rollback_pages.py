"""One rollback's page under /delivery/: its rendered YAML diff (bounded, `insights.yaml_diff`) and the
downloads of before, after and the full diff. Staff only, like /delivery/. The page shows the first
DIFF_LINES_SHOWN lines of a diff; before and after are downloadable whatever their size, the full diff
whenever it was computed."""

from dataclasses import dataclass

from django.contrib.admin.views.decorators import staff_member_required
from django.db.models.functions import Length
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from insights import rollback_records, yaml_diff
from insights.models import Rollback, ServiceSnapshot
from insights.pages import image_changes

DIFF_LINES_SHOWN = 2_000


# What `/delivery/rollbacks/<id>/download/<part>` serves, and the end of its file name after "rollback-<id>".
DOWNLOADS = {"before": "-before.yaml", "after": "-after.yaml", "diff": ".diff"}


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
            containers[snapshot["role"]] = rollback_records.containers_of(snapshot["containers"])
        return cls(rollback, chars, containers)

    def texts(self) -> tuple[str, str]:
        found = dict(self.rollback.snapshots.values_list("role", "rendered_yaml"))
        return found.get(ServiceSnapshot.Role.ORIGIN, ""), found.get(ServiceSnapshot.Role.UPDATE, "")

    def small_enough(self) -> bool:
        return max(self.chars.values()) <= yaml_diff.DIFF_MAX_CHARS


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
        state, lines = yaml_diff.bounded_diff(before, after)
    lines = lines or []
    shown = lines[:DIFF_LINES_SHOWN]
    rollback = found.rollback
    context = {
        "rollback": rollback,
        "images": image_changes(found.containers["origin"], found.containers["update"]),
        "state": state,
        "diff": [(yaml_diff.diff_class(line), line) for line in shown],
        "diff_total": f"{len(lines):,}",
        "hidden": f"{len(lines) - len(shown):,}" if len(lines) > len(shown) else None,
        "before_chars": f"{before_chars:,}",
        "after_chars": f"{after_chars:,}",
        "before_lines": None if before_lines is None else f"{before_lines:,}",
        "after_lines": None if after_lines is None else f"{after_lines:,}",
        "max_chars": f"{yaml_diff.DIFF_MAX_CHARS:,}",
        "max_lines": f"{yaml_diff.DIFF_MAX_LINES:,}",
        "seconds": f"{yaml_diff.DIFF_SECONDS:g}",
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
        state, lines = yaml_diff.bounded_diff(*found.texts()) if found.small_enough() else ("too-large", None)
        if lines is None:
            reason = (
                "too large to diff here" if state == "too-large" else f"not diffed within {yaml_diff.DIFF_SECONDS:g} s"
            )
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

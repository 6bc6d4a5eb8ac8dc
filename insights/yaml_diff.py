"""A unified diff of two rendered YAML texts, bounded in size, lines and time.

difflib's time depends on how many lines there are and how often they repeat, not only on size:
two 1 MiB YAML texts with a change every 50 lines take about 6 s; 10,000 short lines repeating a
hundred times each, about 30 s. So a diff is computed only for texts of at most DIFF_MAX_CHARS
characters and DIFF_MAX_LINES lines a side (realistic YAML that size diffs in about 0.2 s) and gives
up after DIFF_SECONDS: the line cap keeps one step of the matcher short, so even crafted input is
refused within about 1.3 s.
"""

import difflib
import time

DIFF_MAX_CHARS = 200_000


DIFF_MAX_LINES = 20_000


DIFF_SECONDS = 1.0


DIFF_CLASSES = (("+++", "file"), ("---", "file"), ("@@", "hunk"), ("+", "added"), ("-", "removed"))


class DiffTooSlow(Exception):
    """The diff was not done within its time budget."""


class BudgetMatcher(difflib.SequenceMatcher):
    """difflib's matcher, giving up once `deadline` (time.monotonic) has passed.

    find_longest_match is its unit of work; with at most DIFF_MAX_LINES lines a side one call takes a
    fraction of a second, so the deadline is overrun by at most that.
    """

    def __init__(self, a: list[str], b: list[str], deadline: float):
        self.deadline = deadline
        super().__init__(None, a, b)

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        if time.monotonic() > self.deadline:
            raise DiffTooSlow
        return super().find_longest_match(alo, ahi, blo, bhi)


def _unified_range(start: int, stop: int) -> str:
    """A hunk header's range, as difflib.unified_diff writes it."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def diff_lines(before: str, after: str, seconds: float | None = None) -> list[str]:
    """difflib.unified_diff of two texts' lines (lineterm ""), within `seconds` (default DIFF_SECONDS) or
    DiffTooSlow."""
    a, b = before.splitlines(), after.splitlines()
    matcher = BudgetMatcher(a, b, deadline=time.monotonic() + (DIFF_SECONDS if seconds is None else seconds))
    lines: list[str] = []
    for group in matcher.get_grouped_opcodes(3):
        if not lines:
            lines += ["--- before rollback", "+++ after rollback"]
        first, last = group[0], group[-1]
        lines.append(f"@@ -{_unified_range(first[1], last[2])} +{_unified_range(first[3], last[4])} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + line for line in a[i1:i2]]
                continue
            if tag in ("replace", "delete"):
                lines += ["-" + line for line in a[i1:i2]]
            if tag in ("replace", "insert"):
                lines += ["+" + line for line in b[j1:j2]]
    return lines


def diff_class(line: str) -> str:
    return next((css for prefix, css in DIFF_CLASSES if line.startswith(prefix)), "context")


def yaml_diff(before: str, after: str) -> list[tuple[str, str]]:
    """A unified diff of two rendered YAML texts as (css class, line) pairs; the template escapes the lines."""
    return [(diff_class(line), line) for line in diff_lines(before, after)]


def bounded_diff(before: str, after: str) -> tuple[str, list[str] | None]:
    """("too-large" | "too-slow" | "same" | "diff", the diff's lines when computed)."""
    if max(len(before), len(after)) > DIFF_MAX_CHARS:
        return "too-large", None
    if max(len(before.splitlines()), len(after.splitlines())) > DIFF_MAX_LINES:
        return "too-large", None
    try:
        lines = diff_lines(before, after)
    except DiffTooSlow:
        return "too-slow", None
    return ("diff" if lines else "same"), lines

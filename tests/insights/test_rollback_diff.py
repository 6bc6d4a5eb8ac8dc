"""One rollback's YAML diff (insights/pages.py rollback_diff, rollback_download): linked from /delivery/,
never computed there; bounded in size, lines shown and time; before, after and the full diff as text
attachments; staff only."""

import difflib
import html
import random
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from insights import rollback_pages, yaml_diff
from insights.models import Rollback, ServiceSnapshot
from tests.browser.data import AFTER_YAML, BEFORE_YAML, HOSTILE, make_project

pytestmark = pytest.mark.django_db

MIB = 1_048_576


@pytest.fixture
def staff(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("ops", is_staff=True))
    return client


def add_rollback(before: str | None, after: str | None, *, project=None, service: str = "web", hours_ago: int = 1):
    """A rollback an hour ago with the given rendered YAML (None: no snapshot of that side)."""
    rollback = Rollback.objects.create(
        project=project or make_project("alpha"),
        env_name="prod",
        production=True,
        operation_type="rollback",
        service_name=service,
        create_by_name="Li Wei",
        create_time=timezone.now() - timedelta(hours=hours_ago),
    )
    for role, text in (("origin", before), ("update", after)):
        if text is not None:
            ServiceSnapshot.objects.create(
                rollback=rollback,
                role=role,
                service_name="web",
                containers=[{"name": "web", "image": f"web:{role}"}],
                rendered_yaml=text,
            )
    return rollback


def unified(before: str, after: str) -> list[str]:
    return list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), fromfile="before rollback", tofile="after rollback", lineterm=""
        )
    )


def shown_lines(response) -> list[tuple[str, str]]:
    """The diff view's (css class, text) lines, as a reader sees them."""
    body = response.content.decode()
    if '<pre class="diff" id="diff">' not in body:
        return []
    pre = body.split('<pre class="diff" id="diff">')[1].split("</pre>")[0]
    return [(css, html.unescape(text)) for css, text in re.findall(r'<span class="(\w+)">(.*?)</span>\n', pre)]


def download(client, rollback_id: int, part: str):
    return client.get(f"/delivery/rollbacks/{rollback_id}/download/{part}")


def assert_text_attachment(response, filename: str):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'


# --- from the page to the diff -----------------------------------------------------------------


def test_the_page_links_every_rollback_to_its_diff_and_shows_no_diff_lines(staff):
    alpha = make_project("alpha")
    ids = [add_rollback(BEFORE_YAML, AFTER_YAML + f"# {n}\n", project=alpha, hours_ago=n).pk for n in (1, 2, 3)]
    page = staff.get("/delivery/").content.decode()
    assert 'class="diff"' not in page
    assert "registry.example.com/web:0.9" not in page and "apiVersion" not in page
    links = re.findall(r'<a class="diff-link" href="([^"]+)">', page)
    assert links == [f"/delivery/rollbacks/{rollback_id}/" for rollback_id in ids]  # newest first
    for rollback_id, link in zip(ids, links, strict=True):
        response = staff.get(link)
        assert response.status_code == 200
        expected = unified(BEFORE_YAML, Rollback.objects.get(pk=rollback_id).snapshots.get(role="update").rendered_yaml)
        assert [line for _, line in shown_lines(response)] == expected


def test_the_diff_view_marks_lines_and_escapes_every_text(staff):
    rollback = add_rollback(BEFORE_YAML, AFTER_YAML + f"# {HOSTILE}\n", service=HOSTILE)
    response = staff.get(f"/delivery/rollbacks/{rollback.pk}/")
    body = response.content.decode()
    assert HOSTILE not in body
    assert "&lt;script&gt;window.hacked=1&lt;/script&gt;" in body
    lines = shown_lines(response)
    assert ("removed", "-  image: registry.example.com/web:1.0") in lines
    assert ("added", "+  image: registry.example.com/web:0.9") in lines
    assert ("added", f"+# {HOSTILE}") in lines
    assert lines[:3] == [("file", "--- before rollback"), ("file", "+++ after rollback"), ("hunk", "@@ -1,5 +1,6 @@")]
    assert "<script" not in body.split("<main>")[1].split("</main>")[0]
    assert "<td>web</td><td><code>web:origin</code></td><td><code>web:update</code></td>" in body


def test_the_same_yaml_says_so_and_offers_no_diff_download(staff):
    rollback = add_rollback(BEFORE_YAML, BEFORE_YAML)
    body = staff.get(f"/delivery/rollbacks/{rollback.pk}/").content.decode()
    assert "The rendered YAML is the same before and after." in body
    assert 'data-download="before"' in body and 'data-download="after"' in body
    assert 'data-download="diff"' not in body


def test_a_missing_snapshot_counts_as_empty_yaml(staff):
    rollback = add_rollback(BEFORE_YAML, None)
    response = staff.get(f"/delivery/rollbacks/{rollback.pk}/")
    assert [line for _, line in shown_lines(response)] == unified(BEFORE_YAML, "")
    assert download(staff, rollback.pk, "after").content == b""


# --- caps ---------------------------------------------------------------------------------------


def test_a_long_diff_shows_its_first_lines_and_downloads_in_full(staff):
    before = "".join(f"key{n}: {n}\n" for n in range(3000))
    after = "".join(f"key{n}: {n + 1}\n" for n in range(3000))
    rollback = add_rollback(before, after)
    expected = unified(before, after)
    assert len(expected) == 6003  # two file lines, one hunk, 3000 removed, 3000 added
    response = staff.get(f"/delivery/rollbacks/{rollback.pk}/")
    shown = shown_lines(response)
    assert len(shown) == rollback_pages.DIFF_LINES_SHOWN == 2000
    assert [line for _, line in shown] == expected[:2000]
    body = response.content.decode()
    assert "4,003 more lines not shown" in body
    assert 'data-download="diff">full diff</a> <span class="muted">(6,003 lines)' in body

    full = download(staff, rollback.pk, "diff")
    assert_text_attachment(full, f"rollback-{rollback.pk}.diff")
    assert full.content.decode() == "".join(line + "\n" for line in expected)
    assert full.content.decode().splitlines()[:2000] == [line for _, line in shown]


def test_a_diff_within_the_lines_shown_says_nothing_is_hidden(staff):
    rollback = add_rollback(BEFORE_YAML, AFTER_YAML)
    assert "more lines not shown" not in staff.get(f"/delivery/rollbacks/{rollback.pk}/").content.decode()


def fail_if_diffed(monkeypatch):
    """Any difflib matching or diffing from here on fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("difflib was called")

    for name in ("unified_diff", "ndiff", "context_diff"):
        monkeypatch.setattr(difflib, name, refuse)
    monkeypatch.setattr(difflib.SequenceMatcher, "__init__", refuse)
    monkeypatch.setattr(difflib.SequenceMatcher, "find_longest_match", refuse)


def rendered_yaml_read(queries) -> list[str]:
    """SQL that reads rendered_yaml itself (its LENGTH alone does not count)."""
    sql = [re.sub(r'LENGTH\([^)]*"rendered_yaml"\)', "", query["sql"], flags=re.IGNORECASE) for query in queries]
    return [query for query in sql if "rendered_yaml" in query]


@pytest.mark.parametrize("side", ["before", "after"])
def test_above_the_size_cap_there_is_no_diff_but_both_downloads(staff, monkeypatch, side):
    big = "x: " + "y" * (yaml_diff.DIFF_MAX_CHARS - 3) + "z"  # one character over the cap
    small = BEFORE_YAML
    before, after = (big, small) if side == "before" else (small, big)
    rollback = add_rollback(before, after)
    fail_if_diffed(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(f"/delivery/rollbacks/{rollback.pk}/")
    assert rendered_yaml_read(queries.captured_queries) == []  # sizes from the database, texts never read
    assert response.status_code == 200
    body = response.content.decode()
    assert "Too large to diff here" in body
    sizes = (f"{len(before):,}", f"{len(after):,}")
    assert f"before {sizes[0]} characters" in body and f"after {sizes[1]} characters" in body
    assert "at most 200,000 characters and 20,000 lines a side" in body
    assert shown_lines(response) == []
    assert 'data-download="diff"' not in body
    assert download(staff, rollback.pk, "diff").status_code == 404
    assert download(staff, rollback.pk, "before").content.decode() == before
    assert download(staff, rollback.pk, "after").content.decode() == after


def test_at_the_size_cap_the_diff_is_computed(staff):
    before = "x: " + "y" * (yaml_diff.DIFF_MAX_CHARS - 3)
    rollback = add_rollback(before, before[:-3] + "\n+1")  # both exactly at the cap
    body = staff.get(f"/delivery/rollbacks/{rollback.pk}/").content.decode()
    assert "Too large" not in body and 'data-download="diff"' in body


def test_above_the_line_cap_there_is_no_diff(staff, monkeypatch):
    before = "a\n" * (yaml_diff.DIFF_MAX_LINES + 1)  # 40,002 characters, within the size cap
    rollback = add_rollback(before, "b\n")
    fail_if_diffed(monkeypatch)
    response = staff.get(f"/delivery/rollbacks/{rollback.pk}/")
    body = response.content.decode()
    assert "Too large to diff here" in body and "before 40,002 characters (20,001 lines)" in body
    assert "after 2 characters (1 lines)" in body
    assert download(staff, rollback.pk, "diff").status_code == 404


def test_a_diff_over_its_time_budget_is_given_up(staff, monkeypatch):
    rollback = add_rollback(BEFORE_YAML, AFTER_YAML)
    monkeypatch.setattr(yaml_diff, "DIFF_SECONDS", -1.0)  # the deadline has passed before the first step
    response = staff.get(f"/delivery/rollbacks/{rollback.pk}/")
    body = response.content.decode()
    assert "Not diffed:" in body and "longer than -1 s" in body
    assert shown_lines(response) == [] and 'data-download="diff"' not in body
    refused = download(staff, rollback.pk, "diff")
    assert refused.status_code == 404 and b"not diffed within" in refused.content
    assert download(staff, rollback.pk, "before").content.decode() == BEFORE_YAML


def test_crafted_slow_input_is_refused_in_bounded_time():
    """10,000 lines of 100 values, every seventh changed: about 30 s for plain difflib."""
    rng = random.Random(2)
    lines = [f"x{rng.randrange(100)}" for _ in range(10_000)]
    changed = ["y" if n % 7 == 0 else line for n, line in enumerate(lines)]
    started = time.monotonic()
    assert yaml_diff.bounded_diff("\n".join(lines), "\n".join(changed)) == ("too-slow", None)
    assert time.monotonic() - started < yaml_diff.DIFF_SECONDS + 2


def test_a_mebibyte_of_yaml_leaves_the_delivery_page_small_and_undiffed(staff, monkeypatch):
    marker = "MARKER-IN-THE-YAML"
    before = (f"# {marker}\n" + "key: value\n" * (MIB // 11))[:MIB]
    after = before[:-20] + "changed: true\n"
    alpha = make_project("alpha")
    for hours in range(1, 4):
        add_rollback(before, after, project=alpha, hours_ago=hours)
    fail_if_diffed(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        response = staff.get("/delivery/")
    assert response.status_code == 200
    assert rendered_yaml_read(queries.captured_queries) == []
    body = response.content.decode()
    assert marker not in body
    assert len(response.content) < 100_000
    assert body.count('class="diff-link"') == 3


# --- downloads ------------------------------------------------------------------------------------


def test_downloads_are_utf8_text_attachments_named_by_the_rollback_id(staff):
    before = "name: café 名字 😀\nvalue: 1\n"
    after = "name: café 名字 😀\nvalue: 2\n"
    rollback = add_rollback(before, after, service='evil"; filename="x.html')
    body = staff.get(f"/delivery/rollbacks/{rollback.pk}/").content.decode()
    assert f'before</a> <span class="muted">({len(before)} characters)' in body  # characters, not bytes
    for part, filename, text in (
        ("before", f"rollback-{rollback.pk}-before.yaml", before),
        ("after", f"rollback-{rollback.pk}-after.yaml", after),
        ("diff", f"rollback-{rollback.pk}.diff", "".join(line + "\n" for line in unified(before, after))),
    ):
        assert f'href="/delivery/rollbacks/{rollback.pk}/download/{part}"' in body
        response = download(staff, rollback.pk, part)
        assert_text_attachment(response, filename)
        assert response.content == text.encode("utf-8")


def test_a_mebibyte_downloads_whole(staff):
    before = "a" * (MIB - 1) + "\n"
    rollback = add_rollback(before, "b: 1\n")
    response = download(staff, rollback.pk, "before")
    assert_text_attachment(response, f"rollback-{rollback.pk}-before.yaml")
    assert response.content == before.encode() and len(response.content) == MIB


# --- who and what ---------------------------------------------------------------------------------


def test_unknown_rollbacks_and_parts_are_404(staff):
    rollback = add_rollback(BEFORE_YAML, AFTER_YAML)
    missing = rollback.pk + 1000
    assert staff.get(f"/delivery/rollbacks/{missing}/").status_code == 404
    for part in ("before", "after", "diff"):
        assert download(staff, missing, part).status_code == 404
    assert download(staff, rollback.pk, "values").status_code == 404
    assert staff.get("/delivery/rollbacks/abc/").status_code == 404


@pytest.mark.parametrize("suffix", ["", "download/before", "download/after", "download/diff"])
def test_only_staff_see_diffs_and_downloads(client, django_user_model, suffix):
    rollback = add_rollback(BEFORE_YAML, AFTER_YAML)
    for rollback_id in (rollback.pk, rollback.pk + 1000):  # an unknown id does not tell 404 from 302
        url = f"/delivery/rollbacks/{rollback_id}/{suffix}"
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(f"/admin/login/?next={url}")
    client.force_login(django_user_model.objects.create_user("someone"))
    response = client.get(f"/delivery/rollbacks/{rollback.pk}/{suffix}")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# --- the diff itself ------------------------------------------------------------------------------

texts = st.lists(st.sampled_from(["a: 1", "b: 2", "c: 3", "", "  - x", "d: 4\r"]), max_size=30).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(before=texts, after=texts)
def test_diff_lines_equal_difflibs_unified_diff(before, after):
    assert yaml_diff.diff_lines(before, after) == unified(before, after)

"""Every relative link in README.md and docs/**/*.md leads to a file of this repository (and to a heading
of it, when the link names one): a clone has nothing outside the repository to link to."""

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
# `](target)` and `](target "title")`: catches links and images, nested ones too (`[![alt](a.png)](b.png)`).
INLINE = re.compile(r"\]\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?", re.MULTILINE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def markdown_files(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def links(text: str) -> list[str]:
    """The link targets of a Markdown text, outside code blocks and code spans."""
    text = CODE_SPAN.sub("", FENCE.sub("", text))
    return INLINE.findall(text) + REFERENCE.findall(text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text without markup, lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link or image counts as its text
    kept = "".join(char for char in text.lower() if char in " -_" or unicodedata.category(char)[0] in ("L", "N", "M"))
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (a repeated heading gets -1, -2 ...)."""
    seen: dict[str, int] = {}
    found = set()
    for _, heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with each relative link of `path` (empty when every one resolves inside `root`)."""
    problems = []
    for target in links(path.read_text(encoding="utf-8")):
        if not target or SCHEME.match(target):
            continue  # http(s), mailto ...: not a file of the repository
        file_part, _, anchor = target.partition("#")
        if file_part.startswith("/"):
            resolved = (root / file_part.lstrip("/")).resolve()
        elif file_part:
            resolved = (path.parent / file_part).resolve()
        else:
            resolved = path.resolve()
        if not resolved.is_relative_to(root.resolve()):
            problems.append(f"{target}: leads outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(path):
    assert broken_links(path) == []


def test_the_api_reference_is_linked_from_the_readme():
    assert "docs/api/README.md" in links((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {"README.md", "ingest.md", "zadig.md", "cdn.md"} <= {p.name for p in (ROOT / "docs" / "api").glob("*.md")}


def test_the_check_finds_broken_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "there.md").write_text("# Real heading\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/there.md) [ok](docs/there.md#real-heading) [web](https://example.com) [self](#top)\n"
        "# Top\n"
        "[gone](docs/missing.md) [outside](../shared/API.md) ![img](docs/none.png)\n"
        "[bad anchor](docs/there.md#no-such-heading)\n"
        "`[in code](nowhere.md)`\n"
        "```\n[in a block](nowhere.md)\n```\n"
        "[ref]: docs/also-missing.md\n",
        encoding="utf-8",
    )
    assert broken_links(page, root=tmp_path) == [
        "docs/missing.md: no such file",
        "../shared/API.md: leads outside the repository",
        "docs/none.png: no such file",
        "docs/there.md#no-such-heading: no heading #no-such-heading in there.md",
        "docs/also-missing.md: no such file",
    ]


def test_github_anchors():
    assert slug("Rollback detail") == "rollback-detail"
    assert slug("API tokens (`/api/v1/` and `/openapi/`)") == "api-tokens-apiv1-and-openapi"
    assert slug("Volcengine CDN: `DescribeCdnOriginData`") == "volcengine-cdn-describecdnorigindata"
    assert slug("The API in brief") == "the-api-in-brief"

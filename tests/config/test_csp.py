"""The Content-Security-Policy header (django-csp, config/settings.py): the exact policy on every page, on
the API's answers too, and no template with what the policy blocks (inline <style>, style="...", inline
<script>, on...= handlers). tests/browser/test_csp.py checks the pages in a browser."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def directives(header: str) -> dict[str, list[str]]:
    """A policy's directives and their sources, in order (django-csp writes the directives in no fixed order)."""
    parsed = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice in {header!r}"
        parsed[name] = sources
    return parsed


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/delivery/", "/cdn/", "/admin/", "/api/docs/", "/admin/login/"])
def test_every_page_carries_the_exact_policy(client, admin_user, path):
    if path != "/admin/login/":  # the login form is for who is not logged in yet
        client.force_login(admin_user)
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert directives(response["Content-Security-Policy"]) == POLICY
    assert "Content-Security-Policy-Report-Only" not in response


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/v1/projects/", "/openapi/statistics/overview", "/healthz"])
def test_api_answers_carry_it_too(admin_client, path):
    """Harmless on JSON, and a JSON answer opened in a browser tab can neither run nor be framed."""
    response = admin_client.get(path)
    assert directives(response["Content-Security-Policy"]) == POLICY


def test_swagger_ui_has_no_inline_script_or_style(client):
    html = client.get("/api/docs/").content.decode()
    assert "<style" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts), scripts
    start = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")
    response = client.get(start)  # the start-up script, served by the split view
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content


COMMENTS = re.compile(r"{% comment %}.*?{% endcomment %}|{#.*?#}", re.S)
BLOCKED = re.compile(r"<style|\sstyle=|<script(?![^>]*\ssrc=)[^>]*>(?!\s*</script>)|\son[a-z]+=|javascript:", re.I)


def test_no_template_holds_what_the_policy_blocks():
    roots = [settings.BASE_DIR / "templates", *settings.BASE_DIR.glob("*/templates")]
    templates = [path for root in roots for path in root.rglob("*.html")]
    assert len(templates) > 5
    offending = {
        str(path.relative_to(settings.BASE_DIR)): BLOCKED.findall(COMMENTS.sub("", path.read_text()))
        for path in templates
    }
    assert {path: found for path, found in offending.items() if found} == {}


def settings_in_a_fresh_process(**environ) -> str:
    code = "import config.settings as s;print(sorted(n for n in dir(s) if n.startswith('CONTENT_SECURITY_POLICY')))"
    env = {**os.environ, **environ}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_csp_report_only_sends_the_policy_as_a_report_only_header_instead():
    assert settings_in_a_fresh_process(CSP_REPORT_ONLY="") == "['CONTENT_SECURITY_POLICY']\n"
    assert settings_in_a_fresh_process(CSP_REPORT_ONLY="1") == "['CONTENT_SECURITY_POLICY_REPORT_ONLY']\n"


@pytest.mark.django_db
def test_report_only_header_holds_the_same_policy(admin_client, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = settings.CONTENT_SECURITY_POLICY
    del settings.CONTENT_SECURITY_POLICY
    response = admin_client.get("/")
    assert "Content-Security-Policy" not in response
    assert directives(response["Content-Security-Policy-Report-Only"]) == POLICY

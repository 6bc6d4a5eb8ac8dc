"""Retake docs/delivery.png and docs/cdn.png from a running service with demo data (`make run`).

    .venv/bin/python docs/screenshots.py [http://127.0.0.1:8000] (ADMIN_PASSWORD from the env or .admin-password)

Drives Debian's Chromium (/usr/bin/chromium) through Playwright; no browser is downloaded.
"""

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def admin_password() -> str:
    password = os.environ.get("ADMIN_PASSWORD") or ""
    if not password and (ROOT / ".admin-password").exists():
        password = (ROOT / ".admin-password").read_text().strip()
    if not password:
        sys.exit("Set ADMIN_PASSWORD (or run `make run` once, which writes .admin-password).")
    return password


def main(base: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/admin/login/?next=/delivery/")
        page.fill("#id_username", os.environ.get("ADMIN_USERNAME", "admin"))
        page.fill("#id_password", admin_password())
        page.click("input[type=submit]")
        page.wait_for_selector("canvas[data-drawn]")
        page.locator("details.rollback").first.locator("summary").click()
        page.screenshot(path=ROOT / "docs" / "delivery.png", full_page=True)
        page.goto(f"{base}/cdn/?domain=api.example.com&domain=static.example.com&domain=www.example.com")
        page.wait_for_selector("canvas[data-drawn]")
        page.screenshot(path=ROOT / "docs" / "cdn.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000")

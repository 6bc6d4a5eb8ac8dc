"""HSTS, the proxy's HTTPS header and the redirect are read from the environment, off by default."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER")


def settings_with(**environ) -> dict:
    """The settings module as a fresh process reads it from `environ`."""
    code = (
        "import json; from config import settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {NAMES!r}}}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECURE_")} | environ
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_off_by_default():
    assert settings_with() == dict.fromkeys(NAMES, None) | {
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_SSL_REDIRECT": False,
    }


def test_set_from_the_environment():
    read = settings_with(
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_SSL_REDIRECT="1",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )
    assert read == {
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_hsts_header_is_sent_on_https_when_set(client, settings):
    settings.SECURE_HSTS_SECONDS = 600
    answer = client.get("/healthz", secure=True)
    assert answer["Strict-Transport-Security"] == "max-age=600"

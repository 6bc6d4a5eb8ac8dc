"""config/gunicorn.py: gunicorn's error and access lines are the app's LOG_FORMAT lines, tokens redacted.

Checked in a subprocess that loads the file exactly as `gunicorn --config config/gunicorn.py` does (its
logging setup replaces the process's logging configuration) and writes one error and one access line,
without starting a server. tests/integration/test_serve.py checks the same through `make serve`.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import datetime, os, sys, types
sys.argv = ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application"]
from gunicorn.app.wsgiapp import WSGIApplication

cfg = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg
log = cfg.logger_class(cfg)
log.info("Booting worker with pid: %s", 4242)
environ = {
    "REQUEST_METHOD": "GET", "RAW_URI": "/openapi/statistics/build?token=s3cret&productNames=yaml",
    "PATH_INFO": "/openapi/statistics/build", "QUERY_STRING": "token=s3cret&productNames=yaml",
    "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7", "HTTP_USER_AGENT": "curl/8.5.0",
    "HTTP_REFERER": "https://insights.example.com/?token=s3cret",
}
response = types.SimpleNamespace(status="200 OK", sent=1234, headers=[])
log.access(response, types.SimpleNamespace(headers=[]), environ, datetime.timedelta(milliseconds=12.5))
print("bind", cfg.bind, "workers", cfg.workers, "TZ", os.environ.get("TZ"), file=sys.stdout)
"""


def run(**env: str) -> subprocess.CompletedProcess:
    variables = {name: value for name, value in os.environ.items() if name not in ("BIND", "WEB_CONCURRENCY")}
    variables.update({"INSIGHTS_TIME_ZONE": "Europe/Berlin", "LOG_LEVEL": "INFO", **env})
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=variables, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result


def test_plain_lines_carry_the_app_format_the_fields_and_the_app_time_zone():
    result = run(LOG_FORMAT="plain")
    error, access = result.stderr.splitlines()
    assert error.endswith(" INFO gunicorn.error Booting worker with pid: 4242")
    assert access.endswith(
        ' INFO gunicorn.access request method=GET path="/openapi/statistics/build?token=[redacted]&productNames=yaml"'
        " status=200 bytes=1234 duration_ms=12.5 remote=10.0.0.7 user_agent=curl/8.5.0"
        ' referer="https://insights.example.com/?token=[redacted]"'
    )
    assert "s3cret" not in result.stderr
    # Defaults of make serve's; the master has the app's zone, so its plain times match the workers'.
    assert result.stdout.strip() == "bind ['127.0.0.1:8000'] workers 3 TZ Europe/Berlin"


def test_json_lines_are_objects_with_the_request_as_fields_and_utc_times():
    result = run(LOG_FORMAT="json", BIND="0.0.0.0:9000", WEB_CONCURRENCY="5")
    error, access = (json.loads(line) for line in result.stderr.splitlines())
    assert error["logger"] == "gunicorn.error" and error["message"] == "Booting worker with pid: 4242"
    assert access.pop("time").endswith("+00:00")
    assert access == {
        "level": "INFO",
        "logger": "gunicorn.access",
        "message": "request",
        "method": "GET",
        "path": "/openapi/statistics/build?token=[redacted]&productNames=yaml",
        "status": 200,
        "bytes": 1234,
        "duration_ms": 12.5,
        "remote": "10.0.0.7",
        "user_agent": "curl/8.5.0",
        "referer": "https://insights.example.com/?token=[redacted]",
    }
    assert result.stdout.startswith("bind ['0.0.0.0:9000'] workers 5 ")


@pytest.mark.parametrize("level", ["WARNING", "ERROR"])
def test_the_error_log_follows_log_level_and_the_access_log_stays(level):
    lines = run(LOG_FORMAT="plain", LOG_LEVEL=level).stderr.splitlines()
    assert len(lines) == 1 and " INFO gunicorn.access request " in lines[0]

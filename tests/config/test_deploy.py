"""deploy/: the systemd units are valid and their stop settings fit what they stop."""

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ["insights.target", "insights-web.service", "insights-worker.service", "insights-beat.service"]


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / name).read_text())
    return parser


@pytest.mark.parametrize("name", UNITS[1:])
def test_each_service_runs_as_its_own_user_with_the_environment_file_and_a_bounded_graceful_stop(name):
    service = unit(name)["Service"]
    assert (service["User"], service["EnvironmentFile"]) == ("insights", "/etc/insights/env")
    assert service["Restart"] == "on-failure"
    assert service["KillMode"] == "mixed"  # SIGTERM to the main process; SIGKILL to all only after the timeout
    assert unit(name)["Install"]["WantedBy"] == "insights.target"
    assert unit(name)["Unit"]["PartOf"] == "insights.target"


def test_the_worker_waits_longer_than_a_task_may_run():
    timeout = int(unit("insights-worker.service")["Service"]["TimeoutStopSec"])
    assert timeout > settings.CELERY_TASK_TIME_LIMIT >= settings.CELERY_TASK_SOFT_TIME_LIMIT


def test_web_uses_the_gunicorn_config_file():
    assert "--config /opt/insights/config/gunicorn.py" in unit("insights-web.service")["Service"]["ExecStart"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path):
    for name in UNITS:  # where the code is here, so that ExecStart= names existing programs
        (tmp_path / name).write_text((DEPLOY / name).read_text().replace("/opt/insights", str(ROOT)))
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr

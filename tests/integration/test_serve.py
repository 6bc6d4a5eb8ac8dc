"""`make serve` as an operator runs it: web, worker and beat under supervisord, stopped by a signal.

SIGTERM to make's process group (what systemd or a shell's `kill -- -PGID` sends), SIGTERM to make alone
and SIGINT to the group (Ctrl-C) each stop every process once and cleanly: no log storm, no traceback, each
program's exit status 0, nothing left running; a rollup running meanwhile finishes first (warm shutdown).
(SIGINT to make alone is not passed on: GNU make forwards only SIGTERM to its recipe, since a terminal's
Ctrl-C reaches the whole foreground group.)
The processes of a run are found in /proc by a variable of their environment (the test's own Celery
queue), so a process that left make's tree would be found too.

Needs CELERY_BROKER_URL (Redis) and DATABASE_URL on PostgreSQL, as `.ci/run` provides:
    REQUIRE_CELERY_WORKER=1 CELERY_BROKER_URL=redis://127.0.0.1:6379/10 \\
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/insights_test .venv/bin/python -m pytest -m celery_worker \\
        tests/integration/test_serve.py
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from insights.models import DirtyJobDay
from insights.tasks import recompute_dirty_job_days
from tests.integration.conftest import ROOT, _wait_for_database_sessions_to_end, free_port, wait_until

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="make serve needs a Celery broker: set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/10",
    ),
]

START_SECONDS = 60  # migrate, collectstatic, then three programs booting
STOP_SECONDS = 30  # nothing runs a task here, so the worker's warm shutdown is quick


def _processes(marker: bytes) -> dict[int, str]:
    """pid -> command line of every live process whose environment holds `marker` (NAME=value)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError):  # gone meanwhile
            continue
        if state not in ("Z", "X"):  # a zombie has ended; only its exit status waits to be read
            found[int(entry.name)] = command
    return found


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class Serve:
    """`make serve` in a process group of its own, its combined output in a file."""

    def __init__(self, env: dict, tmp_path: Path, **extra: str):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.marker = f"CELERY_TASK_DEFAULT_QUEUE={env['CELERY_TASK_DEFAULT_QUEUE']}".encode()
        env = {**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1", "TMPDIR": str(tmp_path), **extra}
        self.env = env
        for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # when the suite itself runs under `make test`
            env.pop(name, None)
        self.log = tmp_path / "serve.log"
        # Append mode: supervisord reopens /dev/stdout (this file) for the programs' output, and its own
        # lines and make's go through the inherited descriptor; both must write at the end.
        with self.log.open("ab") as output:
            # `-o .venv/.installed`: the venv is there; a test never reinstalls it (it may be shared).
            self.popen = subprocess.Popen(
                ["make", "--no-print-directory", "-o", ".venv/.installed", "serve"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def processes(self) -> dict[int, str]:
        return _processes(self.marker)

    def wait_until_up(self) -> dict[int, str]:
        """Wait for /healthz 200, the worker ready, beat started and every process there; return them."""

        def up():
            if self.popen.poll() is not None:
                pytest.fail(f"make serve exited ({self.popen.returncode}) while starting:\n{self.output()[-3000:]}")
            text = self.output()
            return " ready." in text and "beat: Starting..." in text and _status(self.url + "/healthz") == 200

        wait_until(up, START_SECONDS, "make serve to answer /healthz with worker and beat up", step=0.5)

        def complete():
            commands = list(self.processes().values())
            count = {
                "supervisord": sum("supervisord" in command for command in commands),
                "gunicorn": sum("gunicorn" in command for command in commands),  # master and its workers
                "worker": sum(" worker " in command for command in commands),  # main process and 2 in its pool
                "beat": sum(" beat " in command for command in commands),
            }
            web = 1 + int(self.env["WEB_CONCURRENCY"])
            return count == {"supervisord": 1, "gunicorn": web, "worker": 3, "beat": 1}

        wait_until(complete, START_SECONDS, "supervisord, gunicorn and its worker, celery and its pool, beat")
        return self.processes()

    def stop(self) -> None:
        """Whatever a failed test left running: SIGTERM to make, then SIGKILL to any process of this run."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(60)
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(10)


@pytest.fixture
def serve(process_env, tmp_path):
    started: list[Serve] = []

    def start(**extra: str) -> Serve:
        running = Serve(process_env, tmp_path, **extra)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
    _wait_for_database_sessions_to_end()


def stop_and_check(running: Serve, signum: int, to_group: bool) -> str:
    """Send `signum`, then check that everything stopped once, cleanly and in time; return the output."""
    before = running.processes()
    started = time.monotonic()
    if to_group:
        os.killpg(running.popen.pid, signum)
    else:
        running.popen.send_signal(signum)
    try:
        running.popen.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"make serve still running {STOP_SECONDS} s after {signum!r}:\n{running.output()[-3000:]}")
    wait_until(lambda: not running.processes(), STOP_SECONDS - (time.monotonic() - started), "every process to end")
    output = running.output()

    # GNU make ends by the signal it was sent, after its recipe ended (it re-raises it: the same with any
    # recipe). That the recipe, supervisord, exited 0 shows in make printing no "make: *** ... Error N".
    assert running.popen.returncode in (0, -signum), output[-3000:]
    assert "make: ***" not in output, output[-3000:]
    for program in ("web", "worker", "beat"):
        assert f"stopped: {program} (exit status 0)" in output, output[-3000:]
    assert "Traceback" not in output, output
    assert "RecursionError" not in output
    assert output.count("Warm shutdown") == 1, output[-3000:]
    # make, supervisord, gunicorn master and its workers, celery worker and pool of 2, beat
    assert len(before) == 7 + int(running.env["WEB_CONCURRENCY"])
    return output


@pytest.mark.parametrize(
    ("signum", "to_group"),
    [(signal.SIGTERM, True), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm-to-group", "sigterm-to-make", "sigint-to-group"],
)
def test_a_signal_stops_web_worker_and_beat_once_and_cleanly(serve, signum, to_group):
    running = serve()
    running.wait_until_up()

    output = stop_and_check(running, signum, to_group)

    # gunicorn's own lines are the app's plain key=value lines (LOG_FORMAT=plain in process_env).
    assert re.search(r"^\S+ \S+ INFO gunicorn\.error Booting worker with pid: \d+$", output, re.MULTILINE), output
    access = r"^\S+ \S+ INFO gunicorn\.access request method=GET path=/healthz status=200 bytes=\d+ duration_ms="
    assert re.search(access, output, re.MULTILINE), output


def test_a_token_in_the_query_string_never_reaches_the_logs(serve):
    running = serve(LOG_FORMAT="json")
    running.wait_until_up()

    assert _status(running.url + "/healthz?token=secret123") == 200
    assert _status(running.url + "/api/v1/projects/?page=1&token=secret123") == 401  # unknown token

    def logged() -> list[dict]:
        lines = [json.loads(line) for line in running.output().splitlines() if line.startswith('{"time"')]
        return [line for line in lines if "/api/v1/projects/" in str(line)]

    wait_until(lambda: len(logged()) >= 2, 10, "the access line and django.request's warning")
    output = stop_and_check(running, signal.SIGTERM, True)

    assert "secret123" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    paths = {(line["path"], line["status"]) for line in access}
    assert {("/healthz?token=[redacted]", 200), ("/api/v1/projects/?page=1&token=[redacted]", 401)} <= paths
    assert all(line["time"].endswith("+00:00") and line["method"] == "GET" for line in access)
    (warning,) = [line for line in lines if line["logger"] == "django.request"]
    assert warning["message"] == "Unauthorized: /api/v1/projects/"
    assert warning["request"] == "<WSGIRequest: GET '/api/v1/projects/?page=1&token=[redacted]'>"
    assert any(line["logger"] == "gunicorn.error" and line["message"].startswith("Booting worker") for line in lines)


def test_metrics_add_up_every_web_process(serve):
    """Under supervisord with two gunicorn workers, /metrics counts the requests every worker answered
    (prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR set by make serve)."""
    running = serve(WEB_CONCURRENCY="2")
    running.wait_until_up()
    for _ in range(20):
        assert _status(running.url + "/healthz") == 200
    with urllib.request.urlopen(running.url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    stop_and_check(running, signal.SIGTERM, True)
    counted = {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "insights_http_requests_total"
    }
    healthz = counted[(("method", "GET"), ("route", "healthz"), ("status", "200"))]
    assert healthz >= 20, counted


def test_a_rollup_running_when_the_signal_comes_finishes_before_the_worker_stops(serve):
    # The recompute pauses 8 s inside its transaction, after writing rollup rows, before clearing its marks.
    running = serve(ROLLUP_FAULT_PAUSE_SECONDS="8")
    running.wait_until_up()
    DirtyJobDay.objects.create(project_pk=2**40, day="2026-01-01")  # no such project: its rollup is "none"
    recompute_dirty_job_days.delay()
    wait_until(lambda: "rollup paused for fault test" in running.output(), 20, "the recompute to be under way")

    output = stop_and_check(running, signal.SIGTERM, True)

    # Not killed mid-task (no WorkerLostError): the task ran to its end and committed, clearing the mark.
    assert "rollup recomputed app=insights buckets=1" in output
    assert not DirtyJobDay.objects.exists()

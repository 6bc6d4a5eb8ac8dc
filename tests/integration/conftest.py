"""Real processes against the test database: `celery -A config worker` and gunicorn as subprocesses.

The subprocesses get DATABASE_URL of pytest's test database, so the test needs a database server
(PostgreSQL; an in-memory SQLite test database cannot be shared) and `transactional_db`, so what the
test writes is committed and what the subprocesses write is visible to it. On SQLite these tests
skip, unless REQUIRE_CELERY_WORKER=1 (`.ci/run`), where they fail. Each test gets its own
Celery queue (CELERY_TASK_DEFAULT_QUEUE), so concurrent runs sharing one Redis never steal each
other's tasks. Every wait is bounded; every process started here is stopped here.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, connections

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30
DRAIN_SECONDS = 60


def wait_until(predicate, seconds: float, what: str, step: float = 0.1):
    """Poll `predicate` until it is truthy; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(step)


def free_port() -> int:
    """A TCP port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def process_env(transactional_db):
    """Environment for subprocesses: the test database, the broker, and a queue of this test's own."""
    if connection.vendor != "postgresql":
        reason = "worker subprocesses share the test database: needs DATABASE_URL=postgres://..."
        if os.environ.get("REQUIRE_CELERY_WORKER") == "1":
            pytest.fail(f"REQUIRE_CELERY_WORKER=1 but {reason}")
        pytest.skip(reason)
    queue = f"itest-{uuid.uuid4().hex[:12]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue  # what this process enqueues goes to the test's queue too
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DB_CONN_MAX_AGE": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "plain",
    }
    env.pop("ROLLUP_FAULT_PAUSE_SECONDS", None)
    yield env
    app.conf.task_default_queue = previous
    with app.connection_for_write() as broker:  # the test's queue and its bindings, not left behind
        if broker.transport.driver_type == "redis":
            keys = (queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
            broker.default_channel.client.delete(*keys)
    connections.close_all()


class Process:
    """A subprocess whose combined output goes to a file we can search while it runs."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self._file = log.open("wb")
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._file, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, seconds: float = START_SECONDS) -> None:
        def seen():
            if self.popen.poll() is not None:
                tail = self.output()[-3000:]
                pytest.fail(f"{self.log.name} exited ({self.popen.returncode}) before {text!r}:\n{tail}")
            return text in self.output()

        wait_until(seen, seconds, f"{text!r} in {self.log.name}")

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost machine would: no cleanup of any kind."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._file.close()


@pytest.fixture
def processes(process_env, tmp_path):
    """`start_worker(**env)` and `start_web(**env)`; all of them are stopped when the test ends."""
    started: list[Process] = []

    def start_worker(**extra) -> Process:
        name = f"w{len(started)}-{uuid.uuid4().hex[:6]}"
        args = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-n", f"{name}@%h"]
        args += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"]
        worker = Process(args, {**process_env, **extra}, tmp_path / f"worker-{name}.log")
        started.append(worker)
        worker.wait_for(" ready.")
        return worker

    def start_web(**extra) -> str:
        port = free_port()
        args = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        args += ["--workers", "2", "--threads", "2", "--timeout", "60"]
        web = Process(args, {**process_env, **extra}, tmp_path / f"web-{port}.log")
        started.append(web)
        web.wait_for("Booting worker")
        wait_until(lambda: _answers(port), START_SECONDS, f"gunicorn on port {port}")
        return f"http://127.0.0.1:{port}"

    yield start_worker, start_web
    for process in started:
        process.stop()
    _wait_for_database_sessions_to_end()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for_database_sessions_to_end() -> None:
    """A killed worker's PostgreSQL session lingers a moment; the test database is flushed after us."""
    with connection.cursor() as cursor:

        def alone():
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0] == 0

        wait_until(alone, 20, "the subprocesses' database sessions to end", step=0.2)


def drain(*models, seconds: float = DRAIN_SECONDS) -> None:
    """Wait until no dirty-bucket rows of `models` are left."""
    wait_until(lambda: not any(model.objects.exists() for model in models), seconds, "the dirty buckets to drain")

"""The server under test: gunicorn started by the harness, plain HTTP requests to it, its peak memory;
and, for the sustained-ingest scenario, a Celery worker beside it.

Both are started in their own process groups and always stopped (context managers), also when a
scenario fails or the harness is interrupted.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import orjson
from volcengine.auth.SignerV4 import SignerV4
from volcengine.base.Request import Request
from volcengine.Credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
CDN_QUERY = OrderedDict(Action="DescribeCdnOriginData", Version="2021-03-01")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving config.wsgi against the benchmark database."""

    def __init__(self, env: dict[str, str], workers: int = 2, log: str = "server.log"):
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.env = env
        self.workers = workers
        self.process: subprocess.Popen | None = None
        self.log = open(ROOT / "bench" / log, "w")  # noqa: SIM115 (closed in stop)

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [
            str(gunicorn),
            "config.wsgi:application",
            "--bind",
            self.host,
            "--workers",
            str(self.workers),
            "--timeout",
            "600",
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see bench/server.log")
            try:
                status, _ = self.request("GET", "/healthz")
                if status < 500:
                    return
            except OSError:
                time.sleep(0.2)
        _stop_group(self.process)  # __exit__ does not run when __enter__ raises
        raise RuntimeError("gunicorn did not answer within 60 s; see bench/server.log")

    def stop(self) -> None:
        _stop_group(self.process)
        self.process = None
        self.log.close()

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    status = (entry / "status").read_text()
                except OSError:
                    continue
                if f"\nPPid:\t{self.process.pid}\n" in status:
                    pids.append(int(entry.name))
        return pids

    def peak_rss_mb(self) -> float:
        """The largest VmHWM (peak resident set) of the gunicorn workers, in MiB."""
        peak = 0
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        return peak / 1024

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection(self.host, timeout=600)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def get_json(self, path: str, token: str):
        status, body = self.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:500]!r}")
        return orjson.loads(body)

    def post_json(self, path: str, token: str, payload) -> dict:
        body = orjson.dumps(payload)
        status, answer = self.request(
            "POST", path, body=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
        if status not in (200, 201):
            raise RuntimeError(f"POST {path} answered {status}: {answer[:500]!r}")
        return answer

    def describe_cdn_origin_data(self, ak: str, sk: str, params: dict) -> dict:
        """POST DescribeCdnOriginData signed by the official SDK's signer, as its client does."""
        payload = json.dumps(params).encode()
        request = Request()
        request.set_method("POST")
        request.set_path("/")
        request.set_query(CDN_QUERY)
        request.set_headers(OrderedDict({"Host": self.host, "Content-Type": "application/json"}))
        request.set_body(payload)
        SignerV4.sign(request, Credentials(ak, sk, "CDN", "cn-north-1"))
        status, body = self.request("POST", "/?" + urlencode(CDN_QUERY), body=payload, headers=dict(request.headers))
        answer = orjson.loads(body)
        if status != 200:
            raise RuntimeError(f"DescribeCdnOriginData answered {status}: {answer['ResponseMetadata'].get('Error')}")
        return answer["Result"]


class Worker:
    """`celery -A config worker` (one process, as a small production worker) on `env`'s broker and queue."""

    def __init__(self, env: dict[str, str], log: str = "worker.log"):
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "bench" / log

    def __enter__(self) -> "Worker":
        celery = Path(sys.executable).with_name("celery")
        command = [str(celery), "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {self.process.returncode}; see {self.log_path}")
            if " ready." in self.log_path.read_text():
                return self
            time.sleep(0.2)
        _stop_group(self.process)  # __exit__ does not run when __enter__ raises
        raise RuntimeError(f"the Celery worker was not ready within 60 s; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        _stop_group(self.process)
        self.process = None


def _stop_group(process: subprocess.Popen | None) -> None:
    """SIGTERM to the process group, SIGKILL after 20 s."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def now_utc() -> datetime:
    return datetime.now(UTC)

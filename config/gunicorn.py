"""gunicorn's settings: `gunicorn config.wsgi:application --config config/gunicorn.py`, as `make serve`
(deploy/supervisord.conf) and deploy/insights-web.service run it.

gunicorn's own logs follow the app's: its error log (boot, worker and signal messages) and its access log
go through config/settings.py LOGGING, so they are `LOG_FORMAT` lines (plain `key=value`, or JSON with UTC
ISO times) like every other line of web, worker and beat, and pass the filter that redacts `?token=` values.
Loading the settings here also gives the master process the app's time zone (Django sets `TZ` to
`INSIGHTS_TIME_ZONE`), so plain lines of master and workers carry the same clock.

An access line is the constant message `request` with the request as fields:
`... INFO gunicorn.access request method=GET path=/healthz status=200 bytes=346 duration_ms=4.2
remote=127.0.0.1 user_agent=curl/8.5.0` (`referer` too when sent). gunicorn's `access_log_format` is not
used. The error log follows `LOG_LEVEL`; the access log is always on (level INFO), as gunicorn's is.

`BIND` (default 127.0.0.1:8000) and `WEB_CONCURRENCY` (default 3) set the address and the number of
workers; `--bind`/`--workers` on the command line win over them.
"""

import copy
import os

from django.conf import settings
from gunicorn.glogging import Logger

from config.settings import env_int

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def logging_config(app_logging: dict) -> dict:
    """The app's LOGGING, with gunicorn's two loggers printing through its handler instead of their own."""
    config = copy.deepcopy(app_logging)
    loggers = config.setdefault("loggers", {})
    for name in ("gunicorn.error", "gunicorn.access"):
        # No handlers of their own (gunicorn's are removed), propagated to the root handler: LOG_FORMAT.
        loggers[name] = {"handlers": [], "propagate": True}
    return config


class AccessLogger(Logger):
    """gunicorn's logger, writing each access line as a constant message with the request in fields."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        fields = {
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": environ.get("RAW_URI") or environ.get("PATH_INFO", "-"),
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote": environ.get("REMOTE_ADDR", "-"),
            "user_agent": environ.get("HTTP_USER_AGENT", "-"),
        }
        if environ.get("HTTP_REFERER"):
            fields["referer"] = environ["HTTP_REFERER"]
        try:
            self.access_log.info("request", extra=fields)
        except Exception:
            self.exception("access log failed")


bind = os.environ.get("BIND") or "127.0.0.1:8000"
workers = env_int("WEB_CONCURRENCY", 3)
loglevel = str(settings.LOGGING["root"]["level"]).lower()
logconfig_dict = logging_config(settings.LOGGING)
logger_class = AccessLogger
# gunicornc's control socket is not used here; by default every gunicorn of a user shares one path
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl), and a service user may have no home.
control_socket_disable = True


def child_exit(server, worker):
    """A worker that exits leaves its metrics files for /metrics to keep adding up (prometheus-client's
    multiprocess mode, PROMETHEUS_MULTIPROC_DIR): its live gauges are dropped, its counters kept."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

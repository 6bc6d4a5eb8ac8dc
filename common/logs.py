"""Log formatters that keep the `extra={...}` fields of a record, so log lines can be searched and graphed.

`LOG_FORMAT=plain` (default) appends them as `key=value` pairs to the usual line; `LOG_FORMAT=json` writes
one JSON object per line for log shippers. Callers log a short constant message plus numbers in `extra`:
`logger.info("rollup done", extra={"app": "insights", "buckets": 3, "duration_ms": 12.5})`.
"""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


def extra_fields(record: logging.LogRecord) -> dict:
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD and not key.startswith("_")}


def _value(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    if isinstance(value, str) and (not text or any(c in text for c in ' "=\n')):
        text = json.dumps(text)
    return text


class KeyValueFormatter(logging.Formatter):
    """`2026-11-22 10:00:00,000 INFO insights.tasks rollup done app=insights buckets=3 duration_ms=12.5`."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = " ".join(f"{key}={_value(value)}" for key, value in extra_fields(record).items())
        if not pairs:
            return line
        head, sep, tail = line.partition("\n")  # keep a traceback below the pairs
        return f"{head} {pairs}{sep}{tail}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, extra fields, `exc_info`."""

    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **extra_fields(record),
        }
        if record.exc_info:
            body["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)

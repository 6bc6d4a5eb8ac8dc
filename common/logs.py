"""Log formatters that keep the `extra={...}` fields of a record, so log lines can be searched and graphed.

`LOG_FORMAT=plain` (default) appends them as `key=value` pairs to the usual line; `LOG_FORMAT=json` writes
one JSON object per line for log shippers. Callers log a short constant message plus numbers in `extra`:
`logger.info("rollup done", extra={"app": "insights", "buckets": 3, "duration_ms": 12.5})`.

`RedactTokens`, a filter on the one handler (config/settings.py LOGGING), keeps API tokens sent as
`?token=...` out of every line: gunicorn's access log, Django's `django.request`/`django.security` warnings
(whose `request` field shows the path with its query string), anything else that logs a URL.
"""

import copy
import json
import logging
import re
from datetime import UTC, datetime
from urllib.parse import unquote_plus

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


REDACTED = "[redacted]"
# The name of a query parameter inside any text (a URL, a request line, the repr of a Django request),
# compared decoded, as the token authentication reads it (`%74oken=` is `token=` too); then its value.
_NAME = re.compile(r"([^\s?&;=#'\"<>]+)=")
_VALUE = re.compile(r"[^\s&;#'\"<>]*")
# The same inside a URL-encoded URL, e.g. a login redirect's `next=%2Fapi%2F%3Ftoken%3D...`.
_ENCODED = re.compile(r"(?i)token%3D(?:(?!%26)[^\s&;#'\"<>])+")


def redact(text: str) -> str:
    """`text` with the value of every `token` query parameter replaced by `[redacted]`."""
    if "=" in text:
        parts, done = [], 0
        for name in _NAME.finditer(text):
            if name.start() < done or unquote_plus(name[1]).lower() != "token":
                continue  # inside a value just redacted, or another parameter
            end = _VALUE.match(text, name.end()).end()
            if end > name.end():
                parts += [text[done : name.end()], REDACTED]
                done = end
        text = "".join(parts) + text[done:] if parts else text
    if "%3" in text:
        text = _ENCODED.sub(lambda match: match[0][:8] + REDACTED, text)
    return text


class RedactTokens(logging.Filter):
    """Rewrites `token=<value>` to `token=[redacted]` in a record's message, its args and its `extra` fields.

    String args are redacted where they are; a message that still shows a token once rendered (an object
    arg such as a request, a token split between the format and an arg) is replaced by its redacted
    rendering, without args. An `extra` field that is not a plain value and shows a token when printed
    (Django's `request`) becomes its redacted text. Records are changed in place, so the filter belongs on
    the handler that prints them, after any handler that needs the original objects.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):  # a copy of the same class: gunicorn's atoms answer "-" for a missing key
            args = copy.copy(record.args)
            for key, value in list(args.items()):
                args[key] = _redact_arg(value)
            record.args = args
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(value) for value in record.args)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it as it always does
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        for key, value in extra_fields(record).items():
            if value is None or isinstance(value, bool | int | float):
                continue
            text = value if isinstance(value, str) else str(value)
            redacted = redact(text)
            if redacted != text:
                setattr(record, key, redacted)
        return True


def _redact_arg(value):
    return redact(value) if isinstance(value, str) else value

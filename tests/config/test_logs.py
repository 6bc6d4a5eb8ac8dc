"""Log lines carry their `extra` fields, as key=value pairs (LOG_FORMAT=plain) or JSON (LOG_FORMAT=json)."""

import json
import logging
import sys

from common.logs import JsonFormatter, KeyValueFormatter


def _record(msg="rollup recomputed", exc_info=None, **extra):
    record = logging.LogRecord("insights.tasks", logging.INFO, __file__, 1, msg, (), exc_info)
    record.__dict__.update(extra)
    return record


def test_plain_lines_end_with_key_value_pairs_quoted_when_needed():
    line = KeyValueFormatter("%(levelname)s %(name)s %(message)s").format(
        _record(app="insights", buckets=3, duration_ms=12.5, note="two words")
    )
    assert line == 'INFO insights.tasks rollup recomputed app=insights buckets=3 duration_ms=12.5 note="two words"'


def test_plain_lines_without_extra_are_unchanged():
    assert KeyValueFormatter("%(message)s").format(_record("hello")) == "hello"


def test_plain_traceback_stays_below_the_pairs():
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info(), error="ValueError")
    first, rest = KeyValueFormatter("%(message)s").format(record).split("\n", 1)
    assert first == "failed error=ValueError"
    assert rest.startswith("Traceback") and "ValueError: boom" in rest


def test_json_lines_are_one_object_with_the_extra_fields():
    body = json.loads(JsonFormatter().format(_record(app="cdnorigin", buckets=7)))
    assert body["message"] == "rollup recomputed"
    assert body["level"] == "INFO" and body["logger"] == "insights.tasks"
    assert (body["app"], body["buckets"]) == ("cdnorigin", 7)
    assert body["time"].endswith("+00:00")


def test_configured_root_handler_uses_the_key_value_formatter(settings):
    assert settings.LOG_FORMAT in ("plain", "json")
    formatter = logging.getLogger().handlers[0].formatter
    assert isinstance(formatter, KeyValueFormatter if settings.LOG_FORMAT == "plain" else JsonFormatter)

"""Log lines carry their `extra` fields, as key=value pairs (LOG_FORMAT=plain) or JSON (LOG_FORMAT=json)."""

import json
import logging
import sys

import pytest

from common.logs import JsonFormatter, KeyValueFormatter, RedactTokens, redact


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


# Tokens sent as `?token=` never reach a log line (common.logs.RedactTokens, on the configured handler).


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/api/v1/projects/?token=s3cret", "/api/v1/projects/?token=[redacted]"),
        ("/x?page=2&token=s3cret&page_size=5", "/x?page=2&token=[redacted]&page_size=5"),
        ("GET /x?token=s3cret HTTP/1.1", "GET /x?token=[redacted] HTTP/1.1"),
        ("<WSGIRequest: GET '/x?token=s3cret'>", "<WSGIRequest: GET '/x?token=[redacted]'>"),
        ("/x?%74oken=s3cret", "/x?%74oken=[redacted]"),  # the API decodes the name, so does the filter
        ("/x?TOKEN=s3cret;a=1", "/x?TOKEN=[redacted];a=1"),
        ("/x?token=s3cret==&token=other", "/x?token=[redacted]&token=[redacted]"),
        ("path=/x?token=s3cret", "path=/x?token=[redacted]"),  # inside another parameter's value
        ("/admin/login/?next=/x%3Ftoken%3Ds3cret%26a%3D1", "/admin/login/?next=/x%3Ftoken%3D[redacted]%26a%3D1"),
        ("/x?token=", "/x?token="),
        ("/x?tokens=1&csrftoken=2&my_token=3", "/x?tokens=1&csrftoken=2&my_token=3"),
        ("rollup recomputed", "rollup recomputed"),
    ],
)
def test_redact_replaces_the_value_of_token_parameters_only(text, expected):
    assert redact(text) == expected


def _filtered(msg, args=(), **extra):
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    assert RedactTokens().filter(record) is True  # redacts, never drops
    return record


def test_filter_redacts_string_args_and_keeps_the_format():
    record = _filtered("%s %s took %d ms", ("GET", "/x?token=s3cret", 12))
    assert record.args == ("GET", "/x?token=[redacted]", 12)
    assert record.getMessage() == "GET /x?token=[redacted] took 12 ms"


def test_filter_redacts_mapping_args_and_keeps_their_class():
    class Atoms(dict):  # like gunicorn's: "-" for a missing key
        def __missing__(self, key):
            return "-"

    atoms = Atoms(r="GET /x?token=s3cret HTTP/1.1", s=200)
    record = _filtered("%(r)s %(s)s %(a)s", atoms)
    assert type(record.args) is Atoms and atoms["r"] == "GET /x?token=s3cret HTTP/1.1"  # a copy is redacted
    assert record.getMessage() == "GET /x?token=[redacted] HTTP/1.1 200 -"


def test_filter_freezes_a_message_that_shows_a_token_only_once_rendered():
    class Request:
        def __str__(self):
            return "<WSGIRequest: GET '/x?token=s3cret'>"

    record = _filtered("Forbidden: %s", (Request(),))
    assert (record.msg, record.args) == ("Forbidden: <WSGIRequest: GET '/x?token=[redacted]'>", ())
    split = _filtered("GET /x?token=%s 100%% done", ("s3cret",))  # the name in the format, the value in an arg
    assert split.getMessage() == "GET /x?token=[redacted] 100% done"


def test_filter_redacts_extra_fields_and_leaves_plain_values_alone():
    class Request:
        def __repr__(self):
            return "<WSGIRequest: GET '/api/v1/projects/?token=s3cret'>"

    record = _filtered("Unauthorized: %s", ("/api/v1/projects/",), status_code=401, request=Request(), ok=True)
    assert record.request == "<WSGIRequest: GET '/api/v1/projects/?token=[redacted]'>"
    assert (record.status_code, record.ok) == (401, True)
    line = KeyValueFormatter("%(levelname)s %(name)s %(message)s").format(record)
    assert line == (
        "WARNING django.request Unauthorized: /api/v1/projects/ status_code=401 "
        "request=\"<WSGIRequest: GET '/api/v1/projects/?token=[redacted]'>\" ok=true"
    )
    untouched = object()
    assert _filtered("no token here", (), obj=untouched, n=None).obj is untouched


def test_the_configured_handler_redacts_django_request_warnings(db, client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/api/v1/projects/", {"page": 1, "token": "s3cret"})
    assert response.status_code == 401
    (record,) = [record for record in caplog.records if record.name == "django.request"]
    handler = logging.getLogger().handlers[0]
    assert handler.filter(record)
    line = handler.format(record)
    assert "s3cret" not in line and "token=[redacted]" in line
    assert json.loads(JsonFormatter().format(record))["request"] == (
        "<WSGIRequest: GET '/api/v1/projects/?page=1&token=[redacted]'>"
    )

"""An operator's command prints its own lines, not library chatter: in inline mode (no broker) no kombu
"No hostname was supplied" warning and no Celery task-trace line per rollup task, and no system-check
warning about SQLite's covering indexes after every command."""

import datetime as dt
import logging
from io import StringIO

import pytest
from django.core.management import call_command

from cdnorigin.models import Domain, OriginSample
from tests.cdnorigin.test_log_import import realistic_log

pytestmark = pytest.mark.django_db(transaction=True)
CHATTY = ("kombu", "celery.app.trace")


def test_import_origin_log_in_inline_mode_logs_no_library_chatter(tmp_path, caplog, settings):
    assert not settings.CELERY_BROKER_URL
    Domain.objects.create(name="www.example.com")
    log = tmp_path / "access.log"
    log.write_text(realistic_log(3, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))[0])
    caplog.set_level(logging.DEBUG)
    out, err = StringIO(), StringIO()
    call_command("import_origin_log", "--domain", "www.example.com", str(log), stdout=out, stderr=err)
    assert OriginSample.objects.exists()
    assert "rollup recomputed" in caplog.text, "the rollup ran inline, as it should"
    assert [record.name for record in caplog.records if record.name.startswith(CHATTY)] == []
    assert "No hostname was supplied" not in err.getvalue() + caplog.text


def test_the_system_check_is_silent_about_sqlites_covering_indexes():
    out = StringIO()
    call_command("check", "--database", "default", stdout=out, stderr=out)
    assert "W040" not in out.getvalue()

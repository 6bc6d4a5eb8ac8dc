"""`ensure_admin` (run by `make run`): a laptop always ends up with a superuser to log in with, and
one printed line says how; an existing superuser's password is never touched."""

import re
import stat
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from common.tokens import create_api_token

LINE = re.compile(r"^admin login: http://127\.0\.0\.1:8000/admin/ user admin password (\S+)$")


@pytest.fixture(autouse=True)
def isolated(settings, tmp_path, monkeypatch):
    """The password file lands in a temporary BASE_DIR; passwords hash fast; no ADMIN_PASSWORD."""
    settings.BASE_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    return tmp_path


def run() -> str:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_first_run_creates_admin_with_a_random_password_kept_private(db, isolated):
    output = run()
    assert len(output.splitlines()) == 1
    password = LINE.match(output.strip()).group(1)
    assert len(password) >= 12
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password(password)
    secret_file = isolated / ".admin-password"
    assert secret_file.read_text().strip() == password
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_later_runs_print_the_same_login_and_change_nothing(db):
    first = run()
    assert run() == first
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_password_from_the_environment_is_used_and_not_stored(db, isolated, monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "correct-horse-battery")
    assert LINE.match(run().strip()).group(1) == "correct-horse-battery"
    assert get_user_model().objects.get(username="admin").check_password("correct-horse-battery")
    assert not (isolated / ".admin-password").exists()
    assert LINE.match(run().strip()).group(1) == "correct-horse-battery"


def test_existing_superuser_keeps_its_password(db, isolated):
    get_user_model().objects.create_superuser("ops", email="", password="their-own-secret")
    output = run()
    assert (
        output.strip() == "admin login: http://127.0.0.1:8000/admin/ user ops (existing superuser, password unchanged)"
    )
    assert get_user_model().objects.get(username="ops").check_password("their-own-secret")
    assert not get_user_model().objects.filter(username="admin").exists()
    assert not (isolated / ".admin-password").exists()


def test_plain_user_called_admin_is_promoted_and_keeps_its_tokens(db):
    create_api_token("admin")
    password = LINE.match(run().strip()).group(1)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert admin.api_tokens.count() == 1


def test_stale_password_file_is_not_printed(db, isolated):
    first = LINE.match(run().strip()).group(1)
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed-in-the-admin")
    admin.save()
    output = run().strip()
    assert first not in output
    assert output == "admin login: http://127.0.0.1:8000/admin/ user admin (existing superuser, password unchanged)"

"""`ensure_admin`: a superuser to log in with on a laptop (`make run`), and one line saying how.

The first run creates `admin` with ADMIN_PASSWORD or a random password kept in `.admin-password`
(mode 0600, gitignored), so every later `make run` can print the same login again.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

USERNAME = "admin"
LOGIN_URL = "http://127.0.0.1:8000/admin/"


def password_file() -> Path:
    return Path(settings.BASE_DIR) / ".admin-password"


def write_private(path: Path, text: str) -> None:
    """Create the file readable by its owner only, from the first byte on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    path.chmod(0o600)


class Command(BaseCommand):
    help = "Create the superuser 'admin' when there is no superuser, and print the admin login."

    def handle(self, *args, **options):
        users = get_user_model()
        path = password_file()
        chosen = os.environ.get("ADMIN_PASSWORD", "")
        if not users.objects.filter(is_superuser=True).exists():
            password = chosen or secrets.token_urlsafe(12)
            create_or_promote(users, password)
            if not chosen:  # a password the operator chose is theirs to keep, not ours to store
                write_private(path, password)
            self.print_login(USERNAME, password)
            return
        admin = users.objects.filter(username=USERNAME, is_superuser=True).first()
        # The file or the environment may be stale (password changed since, another database): check.
        known = [path.read_text().strip()] if path.exists() else []
        known += [chosen] if chosen else []
        password = next((candidate for candidate in known if admin and admin.check_password(candidate)), None)
        if password:
            self.print_login(USERNAME, password)
        else:
            name = (admin or users.objects.filter(is_superuser=True).order_by("pk").first()).get_username()
            self.stdout.write(f"admin login: {LOGIN_URL} user {name} (existing superuser, password unchanged)")

    def print_login(self, username: str, password: str) -> None:
        self.stdout.write(f"admin login: {LOGIN_URL} user {username} password {password}")


def create_or_promote(users, password: str) -> None:
    """A plain user already called `admin` is promoted rather than deleted (it may own tokens)."""
    user = users.objects.filter(username=USERNAME).first()
    if user is None:
        users.objects.create_superuser(USERNAME, email="", password=password)
        return
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()

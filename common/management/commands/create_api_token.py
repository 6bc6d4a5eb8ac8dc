"""`create_api_token USER [--read-only]`: prints the token alone, on one line (scripts read it)."""

from django.core.management.base import BaseCommand, CommandError

from common.tokens import create_api_token


class Command(BaseCommand):
    help = "Create an API token for USER (created if missing). The token is printed once, alone."

    def add_arguments(self, parser):
        parser.add_argument("user")
        parser.add_argument("--read-only", action="store_true", help="the token may call GET endpoints only")

    def handle(self, *args, user, read_only, **options):
        if not user.strip():
            raise CommandError("USER must not be empty")
        self.stdout.write(create_api_token(user.strip(), read_only=read_only))

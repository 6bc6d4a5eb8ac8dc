"""`create_access_key USER [--domains a.com,b.com]`: prints `AK SK` on one line (scripts read it)."""

from django.core.management.base import BaseCommand, CommandError

from cdnorigin.access_keys import UnknownDomains, create_access_key


class Command(BaseCommand):
    help = (
        "Create a CDN AK/SK pair for USER (user and CDN account created if missing) and print `AK SK`. "
        "Run again, it adds another pair. --domains makes the account a sub-account limited to exactly "
        "those existing domains (replacing earlier grants); without it the account keeps its scope."
    )

    def add_arguments(self, parser):
        parser.add_argument("user")
        parser.add_argument(
            "--domains",
            help="comma-separated domain names; the account becomes a sub-account that sees only these",
        )

    def handle(self, *args, user, domains, **options):
        names = None if domains is None else domains.split(",")
        try:
            ak, sk = create_access_key(user, names)
        except UnknownDomains as exc:
            raise CommandError(f"No such domain(s): {', '.join(exc.names)}. Nothing was changed.") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{ak} {sk}")

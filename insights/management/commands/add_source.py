"""`add_source github|gitlab|zadig NAME [--project KEY] [--url URL --token TOKEN] [--rotate]`.

The last line is what to paste into the other system: `URL SECRET` for a webhook source (the secret is
shown this once: only its encrypted or hashed form is stored), the Zadig server's URL for a zadig source.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from insights.sources.models import Source
from insights.sources.services import add_source, hook_url

EVENTS = {
    Source.Kind.GITHUB: "GitHub: Settings > Webhooks > Add webhook; content type application/json; events: "
    "Workflow runs, Workflow jobs, Deployment statuses, Pushes.",
    Source.Kind.GITLAB: "GitLab: Settings > Webhooks > Add new webhook; the secret is the Secret token; "
    "triggers: Push events, Pipeline events, Deployment events.",
}


class Command(BaseCommand):
    help = "Connect a GitHub or GitLab webhook, or a Zadig server to sync from. Prints URL and secret last."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=Source.Kind.values)
        parser.add_argument("name", help="letters, digits, - and _: the webhook URL's last part")
        parser.add_argument("--project", help="the project key every run goes to (default: one per repository)")
        parser.add_argument("--url", default="", help="zadig: the server's address")
        parser.add_argument("--token", default="", help="zadig: an API token of the server")
        parser.add_argument("--rotate", action="store_true", help="replace an existing source's secret")

    def handle(self, *args, kind, name, project, url, token, rotate, **options):
        try:
            source, clear = add_source(kind, name, project, url.strip(), token.strip(), rotate)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if kind == Source.Kind.ZADIG:
            self.stdout.write(
                f"Source {source.name}: syncs every 5 minutes (beat), or now with: "
                f"python manage.py sync_zadig --source {source.name}"
            )
            self.stdout.write(source.url)
            return
        self.stdout.write(EVENTS[kind])
        self.stdout.write(f"{hook_url(source)} {clear}")

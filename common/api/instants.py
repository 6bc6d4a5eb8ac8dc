"""The one reading of an ISO 8601 date-time that every endpoint shares.

Python's `fromisoformat` reads any Unicode digit ("２０２２-08-01" is 2022-08-01) and Django's
fallback regex stops matching sensibly at a NUL; a client that sends either has a bug we should
report, not guess around. So the text must be printable ASCII before it is parsed at all.
"""

from datetime import datetime

from django.utils.dateparse import parse_datetime


def parse_iso_datetime(text: str) -> datetime | None:
    """The date-time (aware or naive, as written), or None when `text` is not one."""
    if not text.isascii() or not text.isprintable():
        return None
    try:
        return parse_datetime(text)
    except ValueError:
        return None

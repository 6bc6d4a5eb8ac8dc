"""Request body parsing."""

from rest_framework import parsers


class AnyContentTypeJSONParser(parsers.JSONParser):
    """Parses a body as JSON whatever its Content-Type, so `curl -d '{...}'` works as expected."""

    media_type = "*/*"

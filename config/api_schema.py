"""The schema's description of the API as a whole (a drf-spectacular postprocessing hook in settings)."""

API_DESCRIPTION = """\
The insights service's REST API: the ingest and management resources under `/api/v1/` and the
Zadig-compatible statistics under `/openapi/statistics/`.

**Authentication**: a token from `python manage.py create_api_token USER [--read-only]`, sent as
`Authorization: Bearer <token>` or as the query parameter `?token=<token>`. Prefer the header: a
query string ends up in access logs. A read-only token may only GET (a POST answers 403). This
schema and the page showing it are public: they describe the API and reveal no data.

**Ingest**: every POST takes one object or a JSON list of at most 10,000 objects, all-or-nothing.
The answer mirrors the input (an object or a list in input order; origin samples answer
`{"count": N}`): 201 when anything was created, 200 when every item updated or replaced a stored
row (keyed resources are idempotent). Errors under `/api/v1/` are Django REST framework's usual
shape: field -> list of messages; for a list, one entry per item (`{}` for a valid one).

**Zadig statistics**: every error, 400/401/404 alike, is Zadig's envelope
`{"type": "error", "message", "code", "description", "extra"}`; unknown paths under `/openapi/`
answer 404 in it too.

The Volcengine-compatible `DescribeCdnOriginData` action at `/?Action=...` is signed with an AK/SK
and is not part of this schema; its reference is `docs/api/cdn.md` in the service's repository
(`docs/api/` describes all three API families).
"""


def describe_api(result, generator, request, public):
    """The long description lives here rather than in settings."""
    result["info"]["description"] = API_DESCRIPTION
    return result

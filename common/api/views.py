"""View behaviour shared by both apps' viewsets."""

from rest_framework import exceptions

from common import metrics


class NulSafeLookupMixin:
    """A NUL (%00) in a URL key names no stored row, and PostgreSQL refuses it in a query: 404."""

    def get_object(self):
        if "\x00" in str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")):
            raise exceptions.NotFound()
        return super().get_object()


class IngestCountingMixin:
    """Counts the items of every POST as accepted or refused (`insights_ingest_rows_total`, by
    `ingest_kind`). A request refused before its input is looked at (no token, read-only token) is not
    an ingest refusal and is not counted; a body that cannot be read counts as one refused item."""

    ingest_kind = ""
    NOT_INPUT_REFUSALS = frozenset({401, 403, 405, 429})

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "POST" and response.status_code not in self.NOT_INPUT_REFUSALS:
            try:
                data = request.data
            except Exception:  # unreadable or oversized body (already answered): one refused item
                data = None
            items = len(data) if isinstance(data, list) else 1
            metrics.ingest_rows(self.ingest_kind, "accepted" if response.status_code < 400 else "refused", items)
        return response

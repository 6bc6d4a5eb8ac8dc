"""View behaviour shared by both apps' viewsets."""

from rest_framework import exceptions


class NulSafeLookupMixin:
    """A NUL (%00) in a URL key names no stored row, and PostgreSQL refuses it in a query: 404."""

    def get_object(self):
        if "\x00" in str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")):
            raise exceptions.NotFound()
        return super().get_object()

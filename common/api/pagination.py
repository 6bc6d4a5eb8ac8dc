"""Page-number paging for every list: `?page=` and `?page_size=` (at most 1000)."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

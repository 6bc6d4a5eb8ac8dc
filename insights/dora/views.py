"""`/api/v1/dora/metrics` and `/api/v1/dora/summary`: parse, call a selector, answer. Any valid token reads
(the `/api/v1/` authentication and permission defaults); authentication runs before `get`, so a request
without a token is a 401 whatever its parameters."""

from rest_framework.response import Response
from rest_framework.views import APIView

from insights.dora import params, selectors


class DoraMetricsView(APIView):
    def get(self, request):
        query = params.parse(request.query_params, series=True)
        return Response(selectors.metric_series(query.metric, query.start, query.end, query.interval, query.scope))


class DoraSummaryView(APIView):
    def get(self, request):
        query = params.parse(request.query_params, series=False)
        return Response(selectors.summary(query.start, query.end, query.scope))

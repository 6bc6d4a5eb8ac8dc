"""`/api/v1/dora/metrics`, `/summary`, `/deployments` and `/changes`: parse, call a selector, answer. Any
valid token reads (the `/api/v1/` authentication and permission defaults); authentication runs before `get`,
so a request without a token is a 401 whatever its parameters. The two lists are paged like every
`/api/v1/` list (`?page=`, `?page_size=`), after the parameters are checked (a bad one is a 400 first)."""

from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from insights.dora import params, selectors
from insights.dora.serializers import DoraChangeSerializer, DoraDeploymentSerializer


class DoraMetricsView(APIView):
    def get(self, request):
        query = params.parse(request.query_params, series=True)
        return Response(selectors.metric_series(query.metric, query.start, query.end, query.interval, query.scope))


class DoraSummaryView(APIView):
    def get(self, request):
        query = params.parse(request.query_params, series=False)
        return Response(selectors.summary(query.start, query.end, query.scope))


class _DoraListView(GenericAPIView):
    """A selector's rows, computed whole and paged (their order is the selector's)."""

    filter_backends = []  # the range and scope are parsed by `params`, not filter sets
    selector = None

    def get(self, request):
        query = params.parse(request.query_params, series=False)
        rows = self.selector(query.start, query.end, query.scope)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class DoraDeploymentsView(_DoraListView):
    serializer_class = DoraDeploymentSerializer
    selector = staticmethod(selectors.deployments)


class DoraChangesView(_DoraListView):
    serializer_class = DoraChangeSerializer
    selector = staticmethod(selectors.changes)

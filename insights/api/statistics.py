"""The six Zadig-compatible statistics endpoints: parse the query, call a selector, answer JSON.

Authentication runs in `APIView.initial`, before `get`, so a request without a valid token is a 401
whatever its parameters.
"""

from rest_framework.response import Response
from rest_framework.views import APIView

from insights import rollback_records, selectors
from insights.api import zadig_params


class OverviewView(APIView):
    def get(self, request):
        return Response(selectors.overview())


class BuildStatsView(APIView):
    def get(self, request):
        query = zadig_params.daily_query(request.query_params)
        return Response(selectors.build_stats(query.project_keys, query.first_day, query.last_day))


class DeployStatsView(APIView):
    def get(self, request):
        query = zadig_params.daily_query(request.query_params)
        return Response(selectors.deploy_stats(query.project_keys, query.first_day, query.last_day))


class TestStatsView(APIView):
    def get(self, request):
        query = zadig_params.daily_query(request.query_params)
        return Response(selectors.test_stats(query.project_keys, query.first_day, query.last_day))


class ReleaseStatsView(APIView):
    def get(self, request):
        query = zadig_params.release_query(request.query_params)
        return Response(selectors.release_stats(query.project_keys, query.start, query.end))


class RollbackDetailView(APIView):
    def get(self, request):
        query = zadig_params.rollback_query(request.query_params)
        return Response(rollback_records.rollback_detail(**vars(query)))

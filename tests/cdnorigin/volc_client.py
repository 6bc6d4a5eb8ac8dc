"""Requests to `/` signed by the official SDK's signer, sent through Django's test client.

Signing with `volcengine.auth.SignerV4` (not with our own code) keeps the tests honest: the server
must accept exactly what the SDK produces. `SignedRequest` can be tampered with after signing.
"""

import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import urlencode

import orjson
from volcengine.auth.SignerV4 import SignerV4
from volcengine.base.Request import Request
from volcengine.Credentials import Credentials

ACTION_QUERY = {"Action": "DescribeCdnOriginData", "Version": "2021-03-01"}


@dataclass
class SignedRequest:
    method: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    content_type: str = "application/json"

    def send(self, client):
        headers = {name: value for name, value in self.headers.items() if name.lower() != "content-type"}
        return client.generic(
            self.method,
            "/?" + urlencode(self.query),
            data=self.body,
            content_type=self.content_type,
            headers=headers,
        )


def sign(
    ak: str,
    sk: str,
    *,
    method: str = "POST",
    params: dict | None = None,
    query: dict | None = None,
    body: bytes | None = None,
    host: str = "testserver",
    region: str = "cn-north-1",
    service: str = "CDN",
    at: datetime | None = None,
    content_type: str | None = "application/json",
) -> SignedRequest:
    """Sign like `CDNService.describe_cdn_origin_data` does: POST puts `params` in a JSON body,
    GET puts them in the query string (as strings) and sends `{}`."""
    params = params or {}
    query_params = OrderedDict(ACTION_QUERY if query is None else query)
    if method == "GET":
        query_params.update({name: str(value) for name, value in params.items()})
        payload = b"{}" if body is None else body
    else:
        payload = json.dumps(params).encode() if body is None else body  # as the SDK does
    request = Request()
    request.set_method(method)
    request.set_path("/")
    request.set_query(query_params)
    headers = OrderedDict({"Host": host})
    if content_type is not None:
        headers["Content-Type"] = content_type
    request.set_headers(headers)
    request.set_body(payload)
    x_date = (at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    with mock.patch.object(SignerV4, "get_current_format_date", return_value=x_date):
        SignerV4.sign(request, Credentials(ak, sk, service, region))
    sent_headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
    sent_headers["Host"] = host
    pairs = [
        (name, item) for name, value in query_params.items() for item in (value if isinstance(value, list) else [value])
    ]
    return SignedRequest(method, pairs, sent_headers, payload, content_type or "")


def error_code(response) -> str:
    return orjson.loads(response.content)["ResponseMetadata"]["Error"]["Code"]

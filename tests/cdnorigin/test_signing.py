"""The signature arithmetic agrees with the official SDK's signer, and the header parser refuses junk."""

import hashlib
from collections import OrderedDict
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from volcengine.auth.MetaData import MetaData
from volcengine.auth.SignerV4 import SignerV4
from volcengine.base.Request import Request
from volcengine.Credentials import Credentials

from cdnorigin import signing

AK, SK = "AKLTexample", "secret-key"
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def sdk_signed(method, query, headers, body, region="cn-north-1", service="CDN"):
    request = Request()
    request.set_method(method)
    request.set_path("/")
    request.set_query(OrderedDict(query))
    request.set_headers(OrderedDict(headers))
    request.set_body(body)
    SignerV4.sign(request, Credentials(AK, SK, service, region))
    return request


def verify_like_the_server(request, secret=SK) -> bool:
    authorization = signing.parse_authorization(request.headers["Authorization"])
    lower = {name.lower(): value for name, value in request.headers.items()}
    canonical = signing.canonical_request(
        request.method,
        request.path,
        list(request.query.items()),
        {name: lower[name] for name in authorization.signed_headers},
        authorization.signed_headers,
        signing.body_sha256(request.body if isinstance(request.body, bytes) else request.body.encode()),
    )
    return signing.verify(secret, authorization, request.headers["X-Date"], canonical)


@settings(max_examples=60, deadline=None)
@given(
    query=st.dictionaries(TEXT.filter(bool), TEXT, max_size=5),
    body=st.binary(max_size=64),
    method=st.sampled_from(["GET", "POST"]),
    region=st.sampled_from(["cn-north-1", "cn-beijing", "ap-southeast-1"]),
    service=st.sampled_from(["CDN", "cdn", "iam"]),
)
def test_what_the_sdk_signs_verifies(query, body, method, region, service):
    request = sdk_signed(
        method, query, {"Host": "cdn.example.com", "Content-Type": "application/json"}, body, region, service
    )
    assert verify_like_the_server(request)
    assert not verify_like_the_server(request, secret=SK + "x")


@settings(max_examples=40, deadline=None)
@given(query=st.dictionaries(TEXT.filter(bool), TEXT, max_size=5), body=st.binary(max_size=64))
def test_canonical_request_is_the_sdks(query, body):
    headers = OrderedDict(
        {"Host": "cdn.example.com:8080", "Content-Type": "application/json", "X-Date": "20240102T030405Z"}
    )
    request = Request()
    request.set_method("POST")
    request.set_path("/")
    request.set_query(OrderedDict(query))
    request.set_headers(headers)
    request.set_body(body)
    meta = MetaData()
    expected_hash = SignerV4.hashed_canonical_request_v4(request, meta)  # also adds X-Content-Sha256
    names = meta.signed_headers.split(";")
    lower = {name.lower(): value for name, value in request.headers.items()}
    ours = signing.canonical_request("POST", "/", list(query.items()), lower, names, signing.body_sha256(body))
    assert hashlib.sha256(ours.encode()).hexdigest() == expected_hash


def test_signing_key_chain_is_the_sdks():
    assert signing.signing_key(SK, "20240102", "cn-north-1", "CDN") == SignerV4.get_signing_secret_key_v4(
        SK, "20240102", "cn-north-1", "CDN"
    )


def test_query_is_sorted_by_key_and_encoded_with_percent_twenty():
    pairs = [("b", "x y"), ("a", "1/2"), ("a", "0"), ("c", "é~")]
    assert signing.canonical_query(pairs) == "a=1%2F2&a=0&b=x%20y&c=%C3%A9~"


def test_default_ports_are_dropped_from_the_signed_host_like_the_sdk_does():
    assert signing.canonical_header_value("host", "cdn.example.com:443") == "cdn.example.com"
    assert signing.canonical_header_value("host", "cdn.example.com:8000") == "cdn.example.com:8000"
    assert signing.canonical_header_value("x-date", "  20240102T030405Z ") == "20240102T030405Z"


def test_parse_reads_region_service_and_signed_headers_from_the_header():
    header = (
        "HMAC-SHA256 Credential=AKLTabc/20240102/cn-beijing/cdn/request, "
        "SignedHeaders=content-type;Host;x-date, Signature=" + "Ab" * 32
    )
    parsed = signing.parse_authorization(header)
    assert parsed == signing.Authorization(
        "AKLTabc", "20240102", "cn-beijing", "cdn", ("content-type", "host", "x-date"), "ab" * 32
    )
    assert parsed.scope == "20240102/cn-beijing/cdn/request"


GOOD_SIGNATURE = "0" * 64


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer abc",
        "HMAC-SHA1 Credential=AK/20240102/cn-north-1/CDN/request, SignedHeaders=host, Signature=" + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=AK/20240102/cn-north-1/CDN/request, SignedHeaders=host",
        "HMAC-SHA256 Credential=AK/20240102/cn-north-1/CDN, SignedHeaders=host, Signature=" + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=AK/20240102/cn-north-1/CDN/other, SignedHeaders=host, Signature=" + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=AK/2024-01-02/cn-north-1/CDN/request, SignedHeaders=host, Signature=" + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=AK//cn-north-1/CDN/request, SignedHeaders=host, Signature=" + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=A\x00K/20240102/cn-north-1/CDN/request, SignedHeaders=host, Signature="
        + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=AK/20240102/cn north/CDN/request, SignedHeaders=host, Signature=" + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=AK/20240102/cn-north-1/CDN/request, SignedHeaders=host;;x-date, Signature="
        + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=AK/20240102/cn-north-1/CDN/request, SignedHeaders=host;host, Signature="
        + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=AK/20240102/cn-north-1/CDN/request, SignedHeaders=host, Signature=xyz",
        "HMAC-SHA256 Credential=AK/20240102/cn-north-1/CDN/request, Credential=AK/20240102/cn-north-1/CDN/request, "
        "Signature=" + GOOD_SIGNATURE,
        "HMAC-SHA256 Credential=AK/20240102/cn-north-1/CDN/request, SignedHeaders=host, Signature="
        + GOOD_SIGNATURE
        + ", Extra=1",
    ],
)
def test_malformed_authorization_is_refused(header):
    with pytest.raises(signing.MalformedAuthorization):
        signing.parse_authorization(header)


def test_x_date_must_be_the_compact_utc_form():
    assert signing.parse_x_date("20240102T030405Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    for bad in ("2024-01-02T03:04:05Z", "20240102T030405", "20241302T030405Z", ""):
        with pytest.raises(ValueError):
            signing.parse_x_date(bad)


def test_body_hash_match_ignores_case_but_not_content():
    digest = signing.body_sha256(b"{}")
    assert signing.body_hash_matches(digest.upper(), digest)
    assert not signing.body_hash_matches(signing.body_sha256(b"{ }"), digest)

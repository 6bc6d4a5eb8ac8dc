"""Volcengine's HMAC-SHA256 request signature (V4 style), as pure functions.

Mirrors what the official `volcengine` SDK computes (`volcengine.auth.SignerV4`), so a request the
SDK signed verifies here byte for byte:

    canonical request = METHOD \\n path \\n sorted query \\n "name:value\\n" per signed header \\n
                        signed header names \\n hex SHA-256 of the body
    string to sign    = "HMAC-SHA256" \\n X-Date \\n date/region/service/request \\n hex SHA-256(canonical)
    signing key       = HMAC(HMAC(HMAC(HMAC(SK, date), region), service), "request")

Region, service and the signed header names come from the client's Authorization header: the
signature pins them, so nothing here assumes a value. No Django in this module.
"""

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "HMAC-SHA256"
SCOPE_TERMINATOR = "request"

_X_DATE = re.compile(r"\d{8}T\d{6}Z")
_SCOPE_DATE = re.compile(r"\d{8}")
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
# Printable ASCII without spaces: what an AK, a region or a service name can be.
_SCOPE_PART = re.compile(r"[\x21-\x7e]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
# The SDK drops a default port from the Host value it signs while still sending it.
_DEFAULT_PORTS = (":80", ":443")


class MalformedAuthorization(ValueError):
    """The Authorization header is not `HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`."""


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]  # lower-case, in the client's order
    signature: str  # lower-case hex

    @property
    def scope(self) -> str:
        return "/".join((self.date, self.region, self.service, SCOPE_TERMINATOR))


def parse_authorization(value: str) -> Authorization:
    """Split the header into its parts; raise MalformedAuthorization saying what is wrong."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise MalformedAuthorization(f"the algorithm must be {ALGORITHM}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, field_value = part.strip().partition("=")
        if not equals or name not in ("Credential", "SignedHeaders", "Signature") or name in fields:
            raise MalformedAuthorization("expected Credential=..., SignedHeaders=..., Signature=... once each")
        fields[name] = field_value.strip()
    if len(fields) != 3:
        raise MalformedAuthorization("expected Credential=..., SignedHeaders=..., Signature=... once each")

    credential = fields["Credential"].split("/")
    if (
        len(credential) != 5
        or not all(_SCOPE_PART.fullmatch(part) for part in credential)
        or credential[4] != SCOPE_TERMINATOR
    ):
        raise MalformedAuthorization("Credential must be AK/YYYYMMDD/region/service/request")
    access_key_id, date, region, service, _ = credential
    if not _SCOPE_DATE.fullmatch(date):
        raise MalformedAuthorization("the credential date must be YYYYMMDD")

    signed_headers = tuple(name.lower() for name in fields["SignedHeaders"].split(";"))
    if not all(_HEADER_NAME.fullmatch(name) for name in signed_headers):
        raise MalformedAuthorization("SignedHeaders must be header names separated by ';'")
    if len(set(signed_headers)) != len(signed_headers):
        raise MalformedAuthorization("SignedHeaders names a header twice")

    if not _HEX_SIGNATURE.fullmatch(fields["Signature"]):
        raise MalformedAuthorization("Signature must be 64 hex digits")
    return Authorization(access_key_id, date, region, service, signed_headers, fields["Signature"].lower())


def parse_x_date(value: str) -> datetime:
    """`YYYYMMDD'T'HHMMSS'Z'` -> aware UTC datetime; ValueError otherwise."""
    if not _X_DATE.fullmatch(value):
        raise ValueError("X-Date must be YYYYMMDD'T'HHMMSS'Z'")
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Keys sorted, each key's values in the order sent, RFC 3986 encoded (space as %20)."""
    by_key: dict[str, list[str]] = {}
    for key, value in pairs:
        by_key.setdefault(key, []).append(value)
    return "&".join(f"{_encode(key)}={_encode(value)}" for key in sorted(by_key) for value in by_key[key])


def canonical_path(path: str) -> str:
    return quote(path or "/").replace("%2F", "/")


def canonical_header_value(name: str, value: str) -> str:
    value = value.strip()
    if name == "host":
        for port in _DEFAULT_PORTS:
            if value.endswith(port):
                return value[: -len(port)]
    return value


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    body_hash: str,
) -> str:
    """`headers` maps each signed (lower-case) name to the value received."""
    names = list(signed_headers)
    header_lines = "".join(f"{name}:{canonical_header_value(name, headers[name])}\n" for name in names)
    return "\n".join(
        (method.upper(), canonical_path(path), canonical_query(query), header_lines, ";".join(names), body_hash)
    )


def string_to_sign(x_date: str, scope: str, canonical: str) -> str:
    return "\n".join((ALGORITHM, x_date, scope, hashlib.sha256(canonical.encode()).hexdigest()))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(secret.encode(), date)
    for part in (region, service, SCOPE_TERMINATOR):
        key = _hmac(key, part)
    return key


def signature(secret: str, authorization: Authorization, x_date: str, canonical: str) -> str:
    key = signing_key(secret, authorization.date, authorization.region, authorization.service)
    return hmac.new(key, string_to_sign(x_date, authorization.scope, canonical).encode(), hashlib.sha256).hexdigest()


def body_hash_matches(declared: str, body_hash: str) -> bool:
    """Whether a client's X-Content-Sha256 names this body (hex, either case)."""
    return hmac.compare_digest(declared.strip().lower().encode(), body_hash.encode())


def verify(secret: str, authorization: Authorization, x_date: str, canonical: str) -> bool:
    """Whether the client's signature is the one `secret` gives; constant-time, so timing does not
    reveal how much of a guess was right."""
    expected = signature(secret, authorization, x_date, canonical)
    return hmac.compare_digest(expected.encode(), authorization.signature.encode())

"""Errors of the Volcengine-compatible action, as values: raised anywhere, rendered in one place.

The envelope is `ResponseMetadata.Error = {"CodeN", "Code", "Message"}` (API.md section 4).
"""

# Numeric codes: the common ones as Volcengine/BytePlus publish them (MissingAuthenticationToken
# 100003, InvalidTimestamp 100006, InvalidActionOrVersion 100008, InvalidAccessKey 100009,
# SignatureDoesNotMatch 100010, AccessDenied 100013, FlowLimitExceeded 100018); the product-level
# ones (parameters, domains) have no published number, so they share the generic 100004.
CODE_NUMBERS = {
    "InternalError": 100001,
    "MissingAuthenticationToken": 100003,
    "InvalidParameter": 100004,
    "InvalidAuthorization": 100005,
    "InvalidTimestamp": 100006,
    "InvalidActionOrVersion": 100008,
    "MethodNotAllowed": 100008,
    "InvalidAccessKey": 100009,
    "SignatureDoesNotMatch": 100010,
    "AccessDenied.IAMUnauthorized": 100013,
    "NotFound.Domain": 100004,
    "FlowLimitExceeded": 100018,
}


class VolcError(Exception):
    """An error answered in Volcengine's envelope with HTTP `status`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @property
    def code_n(self) -> int:
        return CODE_NUMBERS.get(self.code, CODE_NUMBERS.get(self.code.split(".")[0], 100004))


def invalid_parameter(name: str, message: str) -> VolcError:
    return VolcError(400, f"InvalidParameter.{name}", message)

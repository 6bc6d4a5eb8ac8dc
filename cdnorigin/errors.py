"""Errors of the Volcengine-compatible action, as values: raised anywhere, rendered in one place.

The envelope is `ResponseMetadata.Error = {"CodeN", "Code", "Message"}` (API.md section 4).
"""

# Volcengine's numeric codes for the documented string codes.
CODE_NUMBERS = {
    "MissingAuthenticationToken": 100009,
    "InvalidAccessKey": 100010,
    "SignatureDoesNotMatch": 100010,
    "InvalidTimestamp": 100011,
    "InvalidActionOrVersion": 100008,
    "FlowLimitExceeded": 100018,
    "InvalidParameter": 100004,
    "NotFound.Domain": 100017,
    "AccessDenied.IAMUnauthorized": 100013,
    "InternalError": 100001,
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

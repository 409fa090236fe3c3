"""A bad client event becomes one ClientError: the Realtime error code, a message naming
what is wrong, and the offending param as a dotted path (`item.call_id`,
`response.input[0]`). Pydantic's validation errors are mapped onto the same codes."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError


class ClientError(Exception):
    def __init__(
        self, code: str, message: str, param: str | None = None, event_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param
        self.event_id = event_id  # the client's event_id, echoed in the error


def fail(code: str, message: str) -> PydanticCustomError:
    """Raised inside a model's validator: `code` is the Realtime error code it becomes."""
    return PydanticCustomError(code, message)


# pydantic's own error types -> Realtime error codes (custom ones carry their code as type)
_VALUE_ERRORS = {
    "literal_error",
    "enum",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
    "string_too_short",
    "string_too_long",
}


def _param(loc: tuple[int | str, ...], tags: frozenset[str]) -> str | None:
    """pydantic's error location as a dotted param, without the union tags it contains."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in tags:
            out += ("." if out else "") + part
    return out or None


def _code(err: ErrorDetails) -> str | None:
    """The Realtime code for one of pydantic's own error types; None for a custom error."""
    kind = err["type"]
    if kind == "missing" or (err.get("input", ...) is None and kind.endswith("_type")):
        return "missing_required_parameter"  # an absent field and a null one alike
    if kind in _VALUE_ERRORS:
        return "invalid_value"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "union_tag_invalid":
        return "invalid_type"
    return None


def from_validation(event_type: str, exc: ValidationError, tags: frozenset[str]) -> ClientError:
    """The first problem of a ValidationError as the client's error; `tags` are the
    discriminated unions' tags (pydantic puts them into the location)."""
    err = exc.errors(include_url=False)[0]
    param = _param(err["loc"], tags)
    code = _code(err)
    if code is None:  # raised by a validator with fail(): its type is the code
        return ClientError(err["type"], err["msg"], param)
    if code == "missing_required_parameter":
        return ClientError(code, f"{event_type} requires '{param}'", param)
    return ClientError(code, f"'{param}' of {event_type}: {err['msg']}", param)

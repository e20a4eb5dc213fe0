"""Request validation shared by the protocol adapters: every failure is an `APIError`
(400) that names the field and says what was expected, never a 500."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .errors import APIError

_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
               dict: "an object"}


def _got(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)


async def json_body(request: Request) -> dict:
    """The request body as a JSON object, or a 400 saying why it is not one."""
    raw = await request.body()
    if not raw.strip():
        raise APIError(400, "The request body is empty: send a JSON object.", code="invalid_json")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise APIError(400, f"The request body is not valid JSON ({e}).", code="invalid_json") from None
    if not isinstance(body, dict):
        raise APIError(400, f"The request body must be a JSON object, got {_got(body)}.", code="invalid_json")
    return body


def field(body: dict, name: str, kind: type | tuple, default: Any = None, *, required: bool = False,
          minimum: float | None = None, maximum: float | None = None, choices: tuple | None = None,
          nullable: bool = True, label: str | None = None) -> Any:
    """Read `body[name]` checking its type, range and allowed values."""
    label = label or name
    if name not in body or (body[name] is None and nullable):
        if required:
            raise APIError(400, f"Missing required parameter: '{label}'.", param=label, code="missing_required_parameter")
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok and float in kinds and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        want = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise APIError(400, f"Invalid type for '{label}': expected {want}, but got {_got(value)} instead.",
                       param=label, code="invalid_type")
    if minimum is not None and value < minimum:
        raise APIError(400, f"Invalid '{label}': {value} is below the minimum of {minimum}.",
                       param=label, code="invalid_value")
    if maximum is not None and value > maximum:
        raise APIError(400, f"Invalid '{label}': {value} is above the maximum of {maximum}.",
                       param=label, code="invalid_value")
    if choices is not None and value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise APIError(400, f"Invalid value for '{label}': {value!r}. Supported values are: {allowed}.",
                       param=label, code="invalid_value")
    return value


def stop_list(value: Any, label: str = "stop", limit: int = 4) -> list[str]:
    """A stop parameter given as a string or a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        if len(value) > limit:
            raise APIError(400, f"Invalid '{label}': at most {limit} stop sequences are allowed, got {len(value)}.",
                           param=label, code="invalid_value")
        return list(value)
    raise APIError(400, f"Invalid type for '{label}': expected a string or an array of strings, but got {_got(value)} instead.",
                   param=label, code="invalid_type")


def sampling_numbers(body: dict, *, temperature: str = "temperature", top_p: str = "top_p",
                     top_k: str | None = None, prefix: str = "") -> dict:
    """temperature 0..2, top_p 0..1, top_k >= 0 under this protocol's field names."""
    out = {
        "temperature": field(body, temperature, float, None, minimum=0, maximum=2, label=prefix + temperature),
        "top_p": field(body, top_p, float, None, minimum=0, maximum=1, label=prefix + top_p),
    }
    if top_k:
        out["top_k"] = field(body, top_k, int, None, minimum=0, label=prefix + top_k)
    return out


def message(m, label: str, roles: tuple[str, ...]) -> str:
    """Check one chat message is an object with a known role; returns the role."""
    if not isinstance(m, dict):
        raise APIError(400, f"Invalid type for '{label}': expected an object.", param=label, code="invalid_type")
    role = m.get("role")
    if role not in roles:
        if role is None:
            raise APIError(400, f"Missing required parameter: '{label}.role'.", param=f"{label}.role",
                           code="missing_required_parameter")
        allowed = ", ".join(f"'{r}'" for r in roles[:-1]) + f" and '{roles[-1]}'"
        raise APIError(400, f"Invalid value for '{label}.role': {json.dumps(role)}. Supported values are: {allowed}.",
                       param=f"{label}.role", code="invalid_value")
    return role

"""Request validation shared by the protocol adapters: every failure is an `APIError`
(400) that names the field and says what was expected, never a 500.

Hostile bodies are refused before any work: `json_body` enforces the body-size limit
(413), parses large bodies off the event loop, and rejects what Python's json accepts
but nothing downstream can use: NaN/Infinity, nesting deeper than `MAX_DEPTH`, lone
UTF-16 surrogates. The limits on per-request work (stop sequences, embedding inputs)
live here too, so every protocol applies the same ones.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from anyio import to_thread
from starlette.requests import Request

from .errors import APIError

MAX_DEPTH = 64  # JSON nesting; real requests stay under ~10 (content parts inside messages)
MAX_STOP_CHARS = 500  # characters in one stop sequence
MAX_EMBED_INPUTS = 100  # inputs per embeddings call (Gemini's own batch limit; OpenAI allows 2,048)
_INLINE_PARSE = 256 * 1024  # bodies above this are parsed in a worker thread
_SURROGATE = re.compile("[\ud800-\udfff]")

_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
               dict: "an object"}


def _got(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)


def _path(parts: list) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def check_json(value: Any) -> None:
    """Reject NaN/Infinity, nesting deeper than MAX_DEPTH and lone surrogates, naming the
    field. Iterative, so a hostile body cannot exhaust the stack here either."""
    todo = [(value, [], 0)]
    while todo:
        v, where, depth = todo.pop()
        if isinstance(v, float):
            if not math.isfinite(v):
                label = _path(where)
                raise APIError(400, f"Invalid '{label}': {json.dumps(v)} is not a finite number (JSON has no NaN "
                                    "or Infinity).",
                               param=label, code="invalid_value")
        elif isinstance(v, str):
            if _SURROGATE.search(v):
                label = _path(where)
                raise APIError(400, f"Invalid '{label}': the string holds a lone UTF-16 surrogate, which is not "
                                    "valid Unicode.", param=label, code="invalid_value")
        elif isinstance(v, (dict, list)):
            if depth >= MAX_DEPTH:
                label = _path(where)
                raise APIError(400, f"Invalid '{label}': the JSON is nested more than {MAX_DEPTH} levels deep.",
                               param=label, code="invalid_value")
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for k, item in items:
                if isinstance(k, str) and _SURROGATE.search(k):
                    raise APIError(400, f"Invalid '{_path(where)}': a key holds a lone UTF-16 surrogate.",
                                   param=_path(where), code="invalid_value")
                if isinstance(item, (dict, list, str, float)):
                    todo.append((item, where + [k], depth + 1))


def parse_json(raw: bytes) -> Any:
    """Parse and check a JSON document; every failure is a 400."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise APIError(400, f"The request body is nested too deeply (more than {MAX_DEPTH} levels).",
                       code="invalid_json") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise APIError(400, f"The request body is not valid JSON ({e}).", code="invalid_json") from None
    check_json(value)
    return value


async def json_body(request: Request) -> dict:
    """The request body as a JSON object, or a 400 saying why it is not one (413 when it is
    over the gateway's body limit: enforced while reading, in app.GatewayMiddleware)."""
    raw = await request.body()
    if not raw.strip():
        raise APIError(400, "The request body is empty: send a JSON object.", code="invalid_json")
    body = parse_json(raw) if len(raw) <= _INLINE_PARSE else await to_thread.run_sync(parse_json, raw)
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
    if ok and isinstance(value, float) and not math.isfinite(value):
        raise APIError(400, f"Invalid '{label}': {json.dumps(value)} is not a finite number.", param=label,
                       code="invalid_value")
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


def stop_list(value: Any, label: str = "stop", limit: int = 4, sep: str = "[]") -> list[str]:
    """A stop parameter given as a string or a list of strings: at most `limit` of them, each
    at most MAX_STOP_CHARS long (every generated token is checked against each one)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    elif not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
        raise APIError(400, f"Invalid type for '{label}': expected a string or an array of strings, but got "
                            f"{_got(value)} instead.", param=label, code="invalid_type")
    if len(value) > limit:
        raise APIError(400, f"Invalid '{label}': at most {limit} stop sequences are allowed, got {len(value)}.",
                       param=label, code="invalid_value")
    for i, s in enumerate(value):
        if len(s) > MAX_STOP_CHARS:
            where = f"{label}[{i}]" if sep == "[]" else f"{label}.{i}"
            raise APIError(400, f"Invalid '{where}': a stop sequence may be at most {MAX_STOP_CHARS} characters, "
                                f"got {len(s)}.", param=where, code="invalid_value")
    return list(value)


def embed_count(n: int, label: str = "input", limit: int = MAX_EMBED_INPUTS) -> None:
    """At most `limit` inputs per embeddings call: each is a full pass of the model."""
    if n > limit:
        raise APIError(400, f"Invalid '{label}': at most {limit} inputs per request, got {n}; send them in "
                            "several requests.", param=label, code="invalid_value")


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


def json_schema(value: Any, label: str, lenient: bool = False) -> dict:
    """A structured-output JSON schema: an object the engine's grammar compiler accepts (compiled
    once and cached, so checking it here costs nothing later); else a 400 naming `label`.
    `lenient`: keywords the grammar cannot honour (uniqueItems, not, if/then...) are ignored, not
    refused, as Ollama's own schema-to-grammar conversion ignores them."""
    if not isinstance(value, dict):
        raise APIError(400, f"Invalid '{label}': expected a JSON schema object, got {_got(value)}.", param=label,
                       code="invalid_type")
    if lenient:
        guidance = value.get("x-guidance") if isinstance(value.get("x-guidance"), dict) else {}
        value = {**value, "x-guidance": {**guidance, "lenient": True}}
    from ..engine import constrain

    loop = ref_loop(value)
    if loop:
        raise APIError(400, f"Invalid schema in '{label}': circular reference {' -> '.join(loop)}: a $ref that leads "
                            "back to itself through nothing but $refs describes no value.", param=label,
                       code="invalid_json_schema")
    if not finite(value):
        raise APIError(400, f"Invalid schema in '{label}': Unsatisfiable schema: it has no finite instance (a "
                            "required property or a non-empty array recurses through $ref with no way to end).",
                       param=label, code="invalid_json_schema")
    try:
        constrain.compile(value)
    except ValueError as e:
        raise APIError(400, f"Invalid schema in '{label}': {e}.", param=label, code="invalid_json_schema") from None
    return value


def _pointer(root: dict, ref: str):
    """What a local `$ref` ("#", "#/$defs/A") points at in `root`, or None."""
    node = root
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _objects(root):
    """Every object (dict) inside a schema, the root included, each once."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            yield node
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))


def ref_loop(root: dict) -> list[str] | None:
    """The refs of a chain of `$ref`s that comes back to where it started (A -> B -> A, or
    {"$ref": "#"} at the root), which the grammar compiler accepts as a grammar that matches
    nothing (the reply would be empty, not JSON); None when there is none. Recursion through
    properties or items (a tree) is fine and is not one."""
    for node in _objects(root):
        chain, cur = [], node
        while isinstance(cur, dict) and isinstance(cur.get("$ref"), str) and cur["$ref"].startswith("#"):
            ref = cur["$ref"]
            if ref in chain:
                return chain[chain.index(ref):] + [ref]
            chain.append(ref)
            cur = _pointer(root, ref)
    return None


def finite(root: dict) -> bool:
    """Whether the schema has a finite instance, as far as recursion through `$ref` goes: an
    object whose required property is that object again (with no null or other way out) has
    none, and the grammar compiler accepts it, then fails mid-reply. The least fixed point over
    the local refs; keywords not read here count as satisfiable (never a false refusal)."""
    targets: dict[str, object] = {}
    for node in _objects(root):  # every local $ref and what it points at
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#") and ref not in targets:
            target = _pointer(root, ref)
            targets[ref] = True if target is None else target  # a dangling ref: compile() says so
    env = {ref: False for ref in targets}

    def ok(node) -> bool:
        if not isinstance(node, dict):
            return node is not False
        ref = node.get("$ref")
        if isinstance(ref, str) and not env.get(ref, True):
            return False
        for key in ("anyOf", "oneOf"):
            if isinstance(node.get(key), list) and node[key] and not any(ok(n) for n in node[key]):
                return False
        if isinstance(node.get("allOf"), list) and not all(ok(n) for n in node["allOf"]):
            return False
        kinds = node.get("type")
        kinds = [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else None
        if kinds is not None and any(k not in ("object", "array") for k in kinds):
            return True  # a scalar or null ends it
        props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        required = node.get("required") if isinstance(node.get("required"), list) else []
        if kinds in (None, ["object"]) and not all(ok(props[r]) for r in required if isinstance(r, str) and r in props):
            return False
        if kinds == ["array"] and isinstance(node.get("minItems"), int) and node["minItems"] > 0:
            return ok(node.get("items", True))
        return True

    changed = True
    while changed:  # refs only ever turn satisfiable: at most len(env) passes
        changed = False
        for ref, target in targets.items():
            if not env[ref] and ok(target):
                env[ref] = changed = True
    return ok(root)

"""Tool calling in the offline engine: checking tool definitions, showing them to the model, and
the text format of a call.

`check_tools(tools, tool_choice)` is what the protocol adapters call (through the engine) before
generating: a bad definition is an `EngineInputError` whose `param` names the neutral field
("tools[i].parameters", "tool_choice"), which each adapter maps to its own field name.
"""

from __future__ import annotations

import json
import re

from .base import EngineInputError, ToolSpec

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")  # OpenAI's rule for function names (plus a leading letter)


def as_spec(t, i: int = 0) -> ToolSpec:
    """A ToolSpec from a ToolSpec or a plain dict {"name", "description", "parameters"}."""
    if isinstance(t, ToolSpec):
        return t
    if isinstance(t, dict):
        return ToolSpec(name=t.get("name"), description=t.get("description") or "",
                        parameters=t.get("parameters") if t.get("parameters") is not None
                        else {"type": "object", "properties": {}})
    raise EngineInputError(f"tools[{i}] must be a tool definition (name, description, parameters)",
                           param=f"tools[{i}]", code="invalid_tool")


def check_tools(tools, tool_choice="auto") -> list[ToolSpec]:
    """The tools as ToolSpecs, checked: names valid and unique, each `parameters` a JSON schema of
    an object that the grammar engine can follow, and `tool_choice` one of "auto", "none",
    "required" or {"name": <one of the tools>}. Raises EngineInputError naming the field."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    from . import constrain

    if tools is None:
        tools = []
    if not isinstance(tools, (list, tuple)):
        raise EngineInputError("tools must be a list of tool definitions", param="tools", code="invalid_tools")
    specs, seen = [], set()
    for i, t in enumerate(tools):
        s = as_spec(t, i)
        if not isinstance(s.name, str) or not NAME.match(s.name):
            raise EngineInputError(f"tools[{i}].name must be 1-64 letters, digits, '_', '.' or '-' "
                                   f"starting with a letter or '_', got {s.name!r}",
                                   param=f"tools[{i}].name", code="invalid_tool_name")
        if s.name in seen:
            raise EngineInputError(f"tools[{i}].name {s.name!r} is given twice: tool names must be unique",
                                   param=f"tools[{i}].name", code="duplicate_tool_name")
        seen.add(s.name)
        if not isinstance(s.description, str):
            raise EngineInputError(f"tools[{i}].description must be a string",
                                   param=f"tools[{i}].description", code="invalid_tool")
        p = s.parameters
        where = f"tools[{i}].parameters"
        if not isinstance(p, dict):
            raise EngineInputError(f"{where} must be a JSON schema object, got {type(p).__name__}",
                                   param=where, code="invalid_tool_parameters")
        if p.get("type", "object") != "object":
            raise EngineInputError(f"{where} must describe an object (\"type\": \"object\"), got type {p.get('type')!r}",
                                   param=where, code="invalid_tool_parameters")
        try:
            Draft202012Validator.check_schema(p)
        except SchemaError as e:
            path = "".join(f"[{x!r}]" if isinstance(x, int) else f".{x}" for x in e.path)
            raise EngineInputError(f"{where} is not a valid JSON schema: {e.message}"
                                   + (f" (at {path.lstrip('.')})" if path else ""),
                                   param=where, code="invalid_tool_parameters") from None
        try:
            constrain.compile(args_schema(p))
        except ValueError as e:
            raise EngineInputError(f"{where}: {e}", param=where, code="invalid_tool_parameters") from None
        specs.append(s)
    check_choice(tool_choice, specs)
    return specs


def check_choice(tool_choice, specs: list[ToolSpec]) -> None:
    if tool_choice is None or tool_choice in ("auto", "none"):
        return
    if tool_choice == "required":
        if not specs:
            raise EngineInputError('tool_choice "required" needs at least one tool in tools',
                                   param="tool_choice", code="invalid_tool_choice")
        return
    if isinstance(tool_choice, dict) and set(tool_choice) == {"name"}:
        name = tool_choice["name"]
        if not any(s.name == name for s in specs):
            raise EngineInputError(f"tool_choice names the tool {name!r}, which is not in tools "
                                   f"({', '.join(s.name for s in specs) or 'none given'})",
                                   param="tool_choice", code="invalid_tool_choice")
        return
    raise EngineInputError('tool_choice must be "auto", "none", "required" or {"name": "<tool>"}, '
                           f"got {tool_choice!r}", param="tool_choice", code="invalid_tool_choice")


def args_schema(parameters: dict) -> dict:
    """The arguments' schema as given, with "type": "object" made explicit."""
    p = dict(parameters or {})
    p.setdefault("type", "object")
    p.setdefault("properties", {})
    return p


# -- the text format (no new special tokens: the HF and GGUF exports keep the 5 the tokenizer has) --
# The layout of Qwen 2.5 / Hermes tool calling, shortened for a small context: the tools are a
# block of the system turn, one signature line per tool; a call is the text marker <tool_call>, a
# JSON object {"name", "arguments"} and </tool_call>; a tool's result is a user turn holding
# <tool_response> blocks. The model's first token decides: "<" starts a call, anything else is text.
TOOLS_HEADER = "# Tools"
TOOLS_FOOTER = 'To call a tool, reply <tool_call>{"name": ..., "arguments": {...}}</tool_call>'
CALL_OPEN, CALL_CLOSE = "<tool_call>\n", "\n</tool_call>"
RESULT_OPEN, RESULT_CLOSE = "<tool_response>\n", "\n</tool_response>"
CALL_SEP = "\n"  # between two calls of one reply


def _type_text(s: dict) -> str:
    if not isinstance(s, dict):
        return "any"
    if "enum" in s:
        return "|".join(json.dumps(v, ensure_ascii=False) for v in s["enum"])
    if "const" in s:
        return json.dumps(s["const"], ensure_ascii=False)
    t = s.get("type")
    if isinstance(t, list):
        return "|".join(map(str, t))
    if t == "array":
        return f"array of {_type_text(s.get('items') or {})}"
    if t == "object" and s.get("properties"):
        return "{" + signature_args(s) + "}"
    for k in ("anyOf", "oneOf"):
        if k in s:
            return "|".join(_type_text(x) for x in s[k])
    return t or "any"


def signature_args(schema: dict) -> str:
    """`city: string, unit?: "celsius"|"fahrenheit"`: the arguments as the model reads them."""
    props = schema.get("properties") or {}
    req = set(schema.get("required") or [])
    return ", ".join(f"{k}{'' if k in req else '?'}: {_type_text(v)}" for k, v in props.items())


def signature(spec) -> str:
    """One line per tool: `get_weather(city: string): Current weather in a city.`"""
    s = as_spec(spec)
    line = f"{s.name}({signature_args(s.parameters or {})})"
    desc = " ".join((s.description or "").split())
    return f"{line}: {desc}" if desc else line


def tools_block(tools) -> str:
    return "\n".join([TOOLS_HEADER, *(signature(t) for t in tools), TOOLS_FOOTER])


def dumps(obj) -> str:
    """JSON in the layout the model writes (json.dumps' default separators, UTF-8 kept)."""
    return json.dumps(obj, ensure_ascii=False)


def call_text(name: str, arguments) -> str:
    args = arguments if isinstance(arguments, str) else dumps(arguments)
    return f'{CALL_OPEN}{{"name": {dumps(name)}, "arguments": {args}}}{CALL_CLOSE}'


def _content_text(c) -> str:
    if c is None:
        return ""
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "".join(str(p.get("text") or "") if isinstance(p, dict) else str(p) for p in c)
    return dumps(c)


def to_plain(messages: list[dict], tools=None) -> list[dict]:
    """Neutral messages (assistant `tool_calls`, `tool` results) and tools as the plain
    role/content turns the tokenizer's chat template renders: the tools block joins (or becomes)
    the system turn, a call is its text, consecutive tool results become one user turn."""
    out: list[dict] = []
    specs = [as_spec(t, i) for i, t in enumerate(tools or [])]
    for m in messages:
        role = m.get("role")
        if role == "tool":
            block = f"{RESULT_OPEN}{_content_text(m.get('content'))}{RESULT_CLOSE}"
            if out and out[-1].get("_tool"):
                out[-1]["content"] += "\n" + block
            else:
                out.append({"role": "user", "content": block, "_tool": True})
            continue
        if role == "assistant" and m.get("tool_calls"):
            calls = CALL_SEP.join(call_text(c.get("name", ""), c.get("arguments") or {}) for c in m["tool_calls"])
            text = _content_text(m.get("content")).strip()
            out.append({"role": "assistant", "content": f"{text}\n{calls}" if text else calls})
            continue
        out.append({**m})
    out = [{k: v for k, v in m.items() if k != "_tool"} for m in out]
    if specs:
        block = tools_block(specs)
        if out and out[0].get("role") == "system":
            sys_text = _content_text(out[0].get("content"))
            out[0] = {**out[0], "content": f"{sys_text}\n\n{block}" if sys_text.strip() else block}
        else:
            out.insert(0, {"role": "system", "content": block})
    return out

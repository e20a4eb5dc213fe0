"""Tool calling in the offline engine: checking tool definitions, showing them to the model, and
the text format of a call.

`check_tools(tools, tool_choice)` is what the protocol adapters call (through the engine) before
generating: a bad definition is an `EngineInputError` whose `param` names the neutral field
("tools[i].parameters", "tool_choice"), which each adapter maps to its own field name.
"""

from __future__ import annotations

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

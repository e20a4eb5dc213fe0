"""Tool calling in no protocol's words: what every protocol adapter shares.

Each adapter reads its own wire format (OpenAI `tools`/`tool_choice`, Anthropic `tools`/
`tool_use`, Gemini `functionDeclarations`/`functionCall`, Ollama `tools`/`tool_calls`) into
the engine's neutral contract (engine/base.py: `ToolSpec`, `SamplingParams.tools` and
`.tool_choice`, assistant turns with `tool_calls`, `tool` turns with `tool_call_id` and
`name`) and renders `Generation.tool_calls` / streamed tool tokens back. Here:

- `check`: the tools and the choice checked before any work (the engine's own rules, then
  ours: unique names, a named choice that exists); a failure is a 400 whose `param` is the
  protocol's own field, never a 500;
- `fill_names`: a tool result that names only its call's id gets the function's name from
  the earlier call (OpenAI and Anthropic send only the id);
- `Calls`: follows a stream's tokens and says when a call starts, what each argument
  fragment is, and what the calls were, so each adapter emits its protocol's events.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field as dc_field
from typing import Callable

from ..engine import EngineInputError, Token
from ..engine.base import ToolSpec
from .errors import APIError
from .validate import finite, ref_loop

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # OpenAI's and Anthropic's rule for a function's name
Rename = Callable[[str], str]  # a neutral field name ("tools[0].parameters") -> the protocol's own


def new_id(prefix: str = "call_") -> str:
    return prefix + uuid.uuid4().hex[:24]


def arguments_json(arguments) -> str:
    """A call's arguments as the JSON text OpenAI-style protocols carry."""
    return json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)


def parse_arguments(text, label: str, make_error: Callable[[str, str], Exception]) -> dict:
    """Arguments sent back as JSON text (OpenAI's `function.arguments`) as the object they hold."""
    if isinstance(text, dict):
        return text
    if text is None or (isinstance(text, str) and not text.strip()):
        return {}
    if not isinstance(text, str):
        raise make_error(label, f"expected a string holding a JSON object, got {type(text).__name__}")
    try:
        value = json.loads(text)
    except ValueError as e:
        raise make_error(label, f"the arguments are not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise make_error(label, "the arguments must be a JSON object")
    return value


async def check(tools: list[ToolSpec] | None, choice, rename: Rename,
                make_error: Callable[[str, str], Exception]) -> None:
    """The tools and the choice as the engine will read them; else the protocol's 400.

    `rename` maps a neutral field name to the protocol's; `make_error(param, message)` builds
    that protocol's APIError. The engine's check compiles each schema's grammar (the first one
    in a process builds the grammar library's view of the vocabulary: seconds), so it runs in a
    worker thread, and a tool set that passed is remembered."""
    if not tools and choice in ("auto", "none"):
        return  # nothing to check (most requests): no work on the event loop
    seen: dict[str, int] = {}
    for i, t in enumerate(tools or []):
        if not NAME.match(t.name):
            raise make_error(rename(f"tools[{i}].name"), f"Invalid function name {t.name!r}: it must be 1 to 64 "
                             "letters, digits, underscores or dashes (^[a-zA-Z0-9_-]{1,64}$)")
        if t.name in seen:
            raise make_error(rename(f"tools[{i}].name"), f"Tool names must be unique: {t.name!r} is also "
                             f"tools[{seen[t.name]}]")
        seen[t.name] = i
        if not isinstance(t.parameters, dict):
            raise make_error(rename(f"tools[{i}].parameters"), "expected a JSON schema object")
        kind = t.parameters.get("type", "object")
        if kind != "object":
            raise make_error(rename(f"tools[{i}].parameters"),
                             f"a function's parameters must be a JSON schema of type 'object', got {kind!r}")
        loop = ref_loop(t.parameters)
        if loop:
            raise make_error(rename(f"tools[{i}].parameters"), f"circular reference {' -> '.join(loop)}: a $ref "
                             "that leads back to itself through nothing but $refs describes no value")
        if not finite(t.parameters):
            raise make_error(rename(f"tools[{i}].parameters"), "Unsatisfiable schema: it has no finite instance (a "
                             "required property or a non-empty array recurses through $ref with no way to end)")
    if isinstance(choice, dict):
        name = choice.get("name")
        if name not in seen:
            known = ", ".join(repr(n) for n in seen) or "none"
            raise make_error(rename("tool_choice"), f"Tool {name!r} named in tool_choice is not among the tools "
                             f"given (tools: {known})")
    elif choice == "required" and not tools:
        raise make_error(rename("tool_choice"), "tool_choice asks for a tool call, but no tools were given")
    key = _key(tools, choice)
    if key in _checked:
        return
    from ..engine import tools as engine_tools
    from .common import off_loop

    try:
        await off_loop(engine_tools.check_tools, tools, choice)
    except EngineInputError as e:
        param = e.param or "tools"
        raise make_error(rename(param), str(e).replace(param, rename(param))) from None
    _checked[key] = True
    while len(_checked) > MAX_CHECKED:
        _checked.pop(next(iter(_checked)))


MAX_CHECKED = 256  # tool sets known good: an app sends the same tools on every request
_checked: dict[str, bool] = {}


def _key(tools, choice) -> str:
    return json.dumps([[t.name, t.description, t.parameters] for t in tools or []] + [choice], sort_keys=True,
                      ensure_ascii=False, default=str)


def set_parallel(params, parallel) -> None:
    """`parallel_tool_calls: false` (Anthropic: disable_parallel_tool_use) -> at most one call in
    the reply: the engine's call grammar then ends after the first call."""
    params.parallel_tool_calls = parallel is not False


def fill_names(messages: list[dict]) -> list[dict]:
    """Tool results that carry only a call id get the name of the function that call named."""
    names: dict[str, str] = {}
    for m in messages:
        for c in m.get("tool_calls") or []:
            names[c["id"]] = c["name"]
        if m.get("role") == "tool" and not m.get("name"):
            m["name"] = names.get(m.get("tool_call_id") or "", "")
    return messages


@dataclass
class Call:
    index: int
    id: str
    name: str
    arguments: str = ""  # the JSON text, as streamed


@dataclass
class Calls:
    """A stream's tool calls as its tokens arrive: `feed(token)` -> ("start", call) when a call
    begins (then ("args", call, fragment) if its first token carries text), ("args", call,
    fragment) for each later fragment, () for a text token. Ids use `prefix`."""

    prefix: str = "call_"
    calls: list[Call] = dc_field(default_factory=list)

    def feed(self, t: Token) -> list[tuple]:
        if t.tool_call is None:
            return []
        out: list[tuple] = []
        while len(self.calls) <= t.tool_call:
            given = getattr(t, "tool_id", None)
            call = Call(len(self.calls), self._id(given), t.tool_name or "")
            self.calls.append(call)
            out.append(("start", call))
        call = self.calls[t.tool_call]
        if t.tool_name and not call.name:
            call.name = t.tool_name
        if t.text:
            call.arguments += t.text
            out.append(("args", call, t.text))
        return out

    def _id(self, given: str | None) -> str:
        if given:
            return self.prefix + given.removeprefix("call_") if not given.startswith(self.prefix) else given
        return new_id(self.prefix)

    def final(self, gen) -> list[dict]:
        """The calls as [{"id", "name", "arguments": dict}]: the engine's parsed arguments where it
        has them (same order), else the streamed text parsed; ids are this stream's."""
        done = list(getattr(gen, "tool_calls", None) or [])
        out = []
        for c in self.calls:
            args = done[c.index]["arguments"] if c.index < len(done) else loads_object(c.arguments)
            out.append({"id": c.id, "name": c.name or (done[c.index]["name"] if c.index < len(done) else ""),
                        "arguments": args})
        return out


def replay(tokens, gen, prefix: str = "call_") -> list[Call]:
    """A finished reply's calls from its tokens, the last one possibly cut short by max_tokens
    (as providers return it: the arguments so far). Complete calls keep the engine's ids."""
    calls = Calls(prefix)
    for t in tokens:
        calls.feed(t)
    done = list(getattr(gen, "tool_calls", None) or [])
    for c in calls.calls:
        if c.index < len(done):
            c.id = with_prefix(done[c.index]["id"], prefix)
            c.name = c.name or done[c.index]["name"]
    return calls.calls


def partial_object(text: str) -> dict:
    """Arguments JSON, possibly cut short, as the object it holds so far (what a provider shows
    for a tool_use cut by max_tokens)."""
    from pydantic_core import from_json

    try:
        value = from_json(text or "{}", allow_partial="trailing-strings")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def loads_object(text: str) -> dict:
    """Streamed arguments JSON as the object it holds ({} if it is cut short)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def with_prefix(call_id: str, prefix: str) -> str:
    """The engine's `call_<hex>` id in a protocol's spelling (`toolu_<hex>`, `fc_<hex>`)."""
    return call_id if call_id.startswith(prefix) else prefix + call_id.removeprefix("call_")


def openai_error(param: str, message: str) -> APIError:
    return APIError(400, f"Invalid '{param}': {message}.", param=param, code="invalid_value")

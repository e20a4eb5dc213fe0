"""Tool calling in the offline engine: checking tool definitions, showing them to the model, and
the text format of a call.

`check_tools(tools, tool_choice)` is what the protocol adapters call (through the engine) before
generating: a bad definition is an `EngineInputError` whose `param` names the neutral field
("tools[i].parameters", "tool_choice"), which each adapter maps to its own field name.
"""

from __future__ import annotations

import functools
import json
import re
import uuid

import numpy as np

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
            constrain.check_schema(p)
        except ValueError as e:
            raise EngineInputError(f"{where} is {e}", param=where, code="invalid_tool_parameters") from None
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


def json_block(schema: dict) -> str:
    """What a structured-output request says in the system turn to a model trained with it (its
    info.json has "json_marker"): that the reply is JSON, and its keys. Without it the network has
    nothing in its prompt that says a schema is asked for, and JSON learned for extraction leaks
    into plain chat."""
    keys = [k for k in (schema.get("properties") or {})] if isinstance(schema, dict) else []
    return "Reply with a JSON object" + (f" with the keys {', '.join(keys)}." if keys else ".")


def to_plain(messages: list[dict], tools=None, json_schema: dict | None = None) -> list[dict]:
    """Neutral messages (assistant `tool_calls`, `tool` results) and tools as the plain
    role/content turns the tokenizer's chat template renders: the tools block joins (or becomes)
    the system turn, a call is its text, consecutive tool results become one user turn.
    `json_schema`: the structured-output block (`json_block`) joins the system turn too."""
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
    for block in ([tools_block(specs)] if specs else []) + ([json_block(json_schema)] if json_schema is not None else []):
        if out and out[0].get("role") == "system":
            sys_text = _content_text(out[0].get("content"))
            out[0] = {**out[0], "content": f"{sys_text}\n\n{block}" if sys_text.strip() else block}
        else:
            out.insert(0, {"role": "system", "content": block})
    return out


def retrieval_mode(messages: list[dict], params) -> str:
    """How much of the reply retrieval (transformer.py's guide) may write: "all" when no tool is in
    play; "text" when tools are offered with "auto" (whether to call is the network's decision, made
    on its own odds; a reply that is text is retrieval's, as any other); "none" when the request
    requires a call or the last turn is a tool's result (the answer reads the result)."""
    if messages and messages[-1].get("role") == "tool":
        return "none"
    choice = getattr(params, "tool_choice", "auto")
    if not getattr(params, "tools", None) or choice == "none":
        return "all"
    return "text" if choice in ("auto", None) else "none"


# -- generation: the grammar of calls and what a call's tokens emit ---------------------------
def _lark_str(s: str) -> str:
    return json.dumps(s)  # a Lark string literal: JSON's escaping is Lark's


ANOTHER = 1.0  # the probability moved to another call where the user listed items not yet asked for (at 0.9,
# temperature 1 ended one reply in ten an item short, as extraction's lists are held to their items: all of it)
MAX_CALLS = 4  # calls in one reply ("required" / "auto"); a named tool_choice is exactly one call


def call_grammar(specs: list[ToolSpec], max_calls: int = MAX_CALLS):
    """One or more calls, each to one of `specs` with arguments following its schema (every
    declared property written, as structured outputs do: constrain._declared_only). Compiled
    once per tool set (constrain's cache)."""
    from . import constrain

    alts = []
    for s in specs:
        schema = _bounded(constrain._declared_only(args_schema(s.parameters)))
        schema = {**schema, "x-guidance": {"whitespace_flexible": False, "item_separator": ", ",
                                           "key_separator": ": "}}
        head = f"{dumps(s.name)}, \"arguments\": "
        alts.append(f"{_lark_str(head)} %json {json.dumps(schema, ensure_ascii=False)}")
    rules = "\n".join(f"c{i}: {a}" for i, a in enumerate(alts))
    names = " | ".join(f"c{i}" for i in range(len(alts)))
    head, tail, sep = _lark_str(_HEAD), _lark_str("}" + CALL_CLOSE), _lark_str(CALL_SEP)
    seqs = " | ".join(f" {sep} ".join(["call"] * k) for k in range(1, max_calls + 1))
    lark = f"start: {seqs}\ncall: {head} ({names}) {tail}\n{rules}\n"
    return constrain.compile(lark=lark)


MAX_STRING = 120  # characters of a string argument whose schema sets no bound (a small model may not close it)


def _bounded(node):
    """The schema with a maxLength on every free string (no enum, const, pattern, format or
    maxLength of its own): every instance is still one of the original schema."""
    if isinstance(node, list):
        return [_bounded(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("enum", "const", "default", "examples", "required") else _bounded(v)) for k, v in node.items()}
    if node.get("type") == "string" and not any(k in node for k in ("enum", "const", "pattern", "format", "maxLength")):
        out["maxLength"] = MAX_STRING
    return out


_starts_cache: dict = {}


def marker_starts(tok) -> np.ndarray:
    """Token ids whose text is a non-empty prefix of the call marker ("<", "<tool", ...): the
    tokens with which a reply starts a call."""
    key = id(tok)
    got = _starts_cache.get(key)
    if got is None or got[0] is not tok:
        ids = [i for i in range(tok.vocab_size) if (t := tok.decode([i])) and CALL_OPEN.startswith(t)]
        got = _starts_cache[key] = (tok, np.array(ids, dtype=np.int64))
    return got[1]


@functools.lru_cache(maxsize=4)
def marker_rest(tok) -> tuple[frozenset, np.ndarray, frozenset, np.ndarray]:
    """(tokens whose text ends with "<"; tokens that go on from "<" into either call marker: "tool",
    "tool_"..., "/tool"...; tokens whose text ends with "</", or is "/"; tokens that go on from "</"
    into the closing marker: "tool"...): a text reply never writes a marker, opening or closing (a
    model that has learned calls would otherwise write one as text, with no call open). An answer's
    HTML ("</div>", "<b>") is still written."""
    texts = [tok.decode([i]) for i in range(tok.vocab_size)]
    rest = CALL_OPEN[1:]
    on = [i for i, t in enumerate(texts) if len(t) >= 4 and (rest.startswith(t) or t.startswith(rest[:4]))]
    slash_on = [i for i, t in enumerate(texts) if len(t) >= 5 and (("/" + rest).startswith(t) or t.startswith("/" + rest[:4]))]
    return (frozenset(i for i, t in enumerate(texts) if t.endswith("<")), np.array(on + slash_on, dtype=np.int64),
            frozenset(i for i, t in enumerate(texts) if t.endswith("</") or t == "/"), np.array(on, dtype=np.int64))


class CallWriter:
    """A reply's tool calls as the decode loop writes them (sampling.decode).

    "auto": the first token decides, sampled from the network's own distribution: a token that
    starts the marker begins a call (the grammar then masks every token), any other is text.
    "none": the marker's first tokens are masked at the first step. "required" / {"name"}: the
    grammar (one of the tools / that tool) masks from the first token. A call's tokens are not
    text: they come out as `Token`s with `tool_call` set, whose texts are the arguments JSON."""

    def __init__(self, specs: list[ToolSpec], choice, tok, parallel: bool = True, priors: dict | None = None):
        self.tok = tok
        # the training data's probability of a call of each tool (engine/decision.py); a call's is the largest
        self.priors = priors or {}
        self.prior = max(self.priors.values()) if self.priors else None
        self.choice = choice if choice is not None else "auto"
        if isinstance(self.choice, dict):
            specs = [s for s in specs if s.name == self.choice.get("name")]
        self.specs = specs
        # a named tool is exactly one call; without parallel calls the grammar ends after the
        # first one (only the end token may follow its </tool_call>)
        self.max_calls = 1 if isinstance(self.choice, dict) or not parallel else MAX_CALLS
        self.active = False  # writing calls
        self.deciding = self.choice in ("auto", "none")  # the first token is still to come
        self.starts = marker_starts(tok)
        self.text = ""
        self._ids: list[int] = []
        self.emitted: list[tuple[str | None, int]] = []  # per call: (name emitted, args chars emitted)

    @classmethod
    def for_params(cls, params, tok) -> "CallWriter | None":
        tools = getattr(params, "tools", None)
        if not tools:
            return None
        specs = check_tools(tools, params.tool_choice)
        return cls(specs, params.tool_choice, tok, getattr(params, "parallel_tool_calls", True) is not False,
                   getattr(params, "call_prior", None))

    def matcher(self):
        """The grammar's matcher, when calls are written from the first token (required / named)."""
        if self.choice in ("auto", "none"):
            return None
        self.active = True
        return call_grammar(self.specs, self.max_calls).matcher(self.tok)

    def first_step(self, probs: np.ndarray) -> np.ndarray:
        """The first token's distribution: for "auto" the model decides, its probability of a call mixed
        with the training data's (`prior`, decision.MIX of it, or MIX_EXACT; the network's odds among the call's first
        tokens and among the text's kept); the marker's first tokens removed for "none"."""
        if self.choice == "auto" and self.prior is not None and len(self.starts):
            share = self._share()
            net = float(probs[self.starts].sum())
            want = (1.0 - share) * net + share * self.prior
            probs = probs.copy()
            if net > 0:
                probs[self.starts] *= want / net
            else:  # the network gave a call nothing: the marker's own first token carries the prior's share
                probs[self.tok.encode(CALL_OPEN)[0]] = want
            rest = np.ones(len(probs), dtype=bool)
            rest[self.starts] = False
            text = float(probs[rest].sum())
            if text > 0:
                probs[rest] *= (1.0 - want) / text
            return probs
        if self.choice == "none" and len(self.starts):
            probs = probs.copy()
            probs[self.starts] = 0.0
            s = probs.sum()
            if s > 0:
                probs /= s
        return probs

    def decide(self, nid: int):
        """After the first token: a matcher when it began a call (None: the reply is text)."""
        self.deciding = False
        if self.choice == "auto" and nid in set(self.starts.tolist()):
            self.active = True
            return call_grammar(self.specs, self.max_calls).matcher(self.tok)
        return None

    def another(self, probs: np.ndarray, lists: list[list[str]]) -> np.ndarray:
        """Between two calls (after a call's close, where the grammar allows another): where the user
        listed items and each call so far asked for one of them, another call for the items still
        unasked gets `ANOTHER` of the probability (copying.uncovered). The network wrote a second
        call for two items (training's parallel case) but ended after one for three, or with a
        second argument (the OpenAI cookbook's weather in three cities, with a unit)."""
        sep = self.tok.encode(CALL_SEP)[0]
        if not lists or probs[sep] <= 0 or not self.text.endswith(CALL_CLOSE):
            return probs
        from .copying import uncovered

        done = []
        for name, args, complete in parse_calls(self.text):
            if complete:
                try:
                    done.append((name, json.loads(args)))
                except ValueError:
                    return probs
        if not uncovered(lists, [(n, a) for n, a in done if isinstance(a, dict)]):
            return probs
        probs = probs * (1.0 - ANOTHER)
        probs[sep] += ANOTHER
        return probs

    def name_step(self, probs: np.ndarray) -> np.ndarray:
        """While a call's name is written: each tool still spelled by the name so far gets its share of the
        priors, spread over the tokens that go on spelling it as the network spreads it, and that is
        the priors' share of the step (`_share`; the network has the rest). Where the priors do not tell the tools apart
        (one left, or none has a prior), the network's alone."""
        at = self.text.rfind(_HEAD)
        if at < 0 or len(self.priors) < 1:
            return probs
        written = self.text[at + len(_HEAD):]
        names = [s.name for s in self.specs if dumps(s.name).startswith(written) and len(written) < len(dumps(s.name))]
        if len(names) < 2 or not any(self.priors.get(n) for n in names):
            return probs
        share = self._share()
        allowed = np.flatnonzero(probs > 0)
        texts = {int(i): written + self.tok.decode([int(i)]) for i in allowed}
        total = sum(self.priors.get(n, 0.0) for n in names)
        guide = np.zeros_like(probs)
        for n in names:
            spelled = dumps(n)
            mine = [i for i, t in texts.items() if spelled.startswith(t) or t.startswith(spelled)]
            mass = probs[mine].sum() if mine else 0.0
            if mass > 0:
                guide[mine] += self.priors.get(n, 0.0) / total * probs[mine] / mass
        if guide.sum() <= 0:
            return probs
        return (1.0 - share) * probs + share * guide / guide.sum()

    def _share(self) -> float:
        """The priors' share of a step: decision.MIX, or MIX_EXACT for a question the training data has."""
        from .decision import MIX

        return getattr(self.priors, "share", MIX)

    def feed(self, nid: int, lp=None, top=None) -> list:
        """The Tokens one more token of the calls' text emits: the first of a call carries its
        name (text ""), then fragments of its arguments JSON."""
        from .base import Token

        self._ids.append(nid)
        self.text = self.tok.decode(self._ids)
        out = []
        if self.text.endswith("\ufffd"):  # a character split across tokens: wait for its end
            return out
        for i, (name, args, _) in enumerate(parse_calls(self.text)):
            while len(self.emitted) <= i:
                self.emitted.append((None, 0))
            got_name, n = self.emitted[i]
            if name is None:
                break
            if got_name is None:
                out.append(Token("", nid, lp, top, tool_call=i, tool_name=name))
                got_name = name
            if len(args) > n:
                out.append(Token(args[n:], nid, lp, top, tool_call=i))
                n = len(args)
            self.emitted[i] = (got_name, n)
        return out

    def finish(self, gen, reason: str) -> None:
        """The complete calls into gen.tool_calls; finish reason "tool_calls" when the reply ended
        with them (a reply cut by max_tokens stays "length")."""
        calls = []
        for name, args, complete in parse_calls(self.text):
            if complete:
                calls.append({"id": "call_" + uuid.uuid4().hex[:24], "name": name, "arguments": json.loads(args)})
        gen.tool_calls = calls
        if reason == "stop" and calls:
            gen.finish_reason = "tool_calls"
        else:
            gen.finish_reason = reason


_HEAD = CALL_OPEN + '{"name": '


def parse_calls(text: str) -> list[tuple[str | None, str, bool]]:
    """(name or None while unfinished, arguments JSON so far, complete) per call in `text`,
    which follows the call grammar (as far as it has been written)."""
    out = []
    pos = 0
    dec = json.JSONDecoder()
    while pos < len(text):
        if text.startswith(CALL_SEP, pos) and out:
            pos += len(CALL_SEP)
        if not text.startswith(_HEAD, pos):
            if _HEAD.startswith(text[pos:]):
                out.append((None, "", False))
            break
        pos += len(_HEAD)
        try:
            name, end = dec.raw_decode(text, pos)
        except ValueError:
            out.append((None, "", False))
            break
        sep = ', "arguments": '
        if not text.startswith(sep, end):
            out.append((None, "", False))
            break
        a0 = end + len(sep)
        a1 = _json_end(text, a0)
        if a1 is None:
            out.append((name, text[a0:], False))
            break
        tail = "}" + CALL_CLOSE
        complete = text.startswith(tail, a1)
        out.append((name, text[a0:a1], complete))
        if not complete:
            break
        pos = a1 + len(tail)
    return out


def _json_end(text: str, start: int) -> int | None:
    """Where the JSON object starting at `start` ends (index after its closing brace), or None."""
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
            continue
        if c == '"':
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None

"""OpenAI's Responses API: POST /v1/responses (plain and streamed), GET and DELETE
/v1/responses/{id}, GET /v1/responses/{id}/input_items, POST /v1/responses/input_tokens,
and background responses (`background: true`: polled with GET, streamed again with `stream=true`
and `starting_after`, cancelled with POST /v1/responses/{id}/cancel).

Shaped after what the openai SDK's `client.responses.create / stream / retrieve / delete`
send and parse (openai/types/responses/): `input` as a string or a list of items (messages
with input_text/output_text parts, earlier `function_call` items and their
`function_call_output`s as the calls and results they are), `tools` of type function and
`tool_choice`, `instructions` as the system turn, `max_output_tokens` (status "incomplete" with
reason max_output_tokens when it is reached), and the streamed event sequence
response.created, response.in_progress, response.output_item.added,
response.content_part.added, response.output_text.delta..., response.output_text.done,
response.content_part.done, response.output_item.done, then response.completed (or
response.incomplete), each with its `sequence_number`. A reply that calls tools has one
`function_call` output item per call, streamed as response.output_item.added (arguments ""),
response.function_call_arguments.delta..., response.function_call_arguments.done and
response.output_item.done.

Stored responses (`store`, default true) live on the app (`app.state.responses`), bounded
by count and by characters, oldest dropped first; `previous_response_id` continues the
stored conversation (its instructions are not carried over, as OpenAI documents). Sampling
goes through the chat adapter's `sampling`, so `text.format` means what `response_format`
means there.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import OrderedDict

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..engine.base import ToolSpec
from . import models, tools
from . import openai as chat
from .common import count_chat, engine_of
from .errors import APIError
from .framing import sse, sse_response
from .run import ChatRequest, complete, failure, guard, start
from .validate import field, json_body

router = APIRouter()
MAX_STORED = 1000  # responses kept for previous_response_id / GET
MAX_STORED_CHARS = 16_000_000  # characters of conversation kept in all (oldest responses dropped first)
MIN_OUTPUT_TOKENS = 16  # the real API refuses a smaller max_output_tokens
ROLES = ("user", "assistant", "system", "developer")
INPUT_PARTS = {"input_text", "output_text", "refusal", "input_image", "input_file", "input_audio"}
SKIPPED_ITEMS = {"reasoning"}  # earlier reasoning items are not re-read (the offline model has none)
ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")
NO_THINKING = (None, "none", "minimal")  # reasoning efforts that ask for no thinking phase


class Store:
    """The stored responses, oldest first, within MAX_STORED and MAX_STORED_CHARS."""

    def __init__(self):
        self.items: OrderedDict[str, dict] = OrderedDict()
        self.chars = 0

    def put(self, rid: str, record: dict) -> None:
        record["chars"] = sum(len(m.get("content") or "") + (len(json.dumps(m["tool_calls"])) if m.get("tool_calls")
                                                             else 0) for m in record["conversation"])
        if record.get("background") is not None:  # its events, kept to be streamed again
            record["chars"] += record["background"].size
        self.drop(rid)
        self.items[rid] = record
        self.chars += record["chars"]
        while self.items and (len(self.items) > MAX_STORED or self.chars > MAX_STORED_CHARS):
            self.drop(next(iter(self.items)))

    def get(self, rid: str) -> dict | None:
        return self.items.get(rid)

    def drop(self, rid: str) -> dict | None:
        record = self.items.pop(rid, None)
        if record is not None:
            self.chars -= record["chars"]
        return record


class Background:
    """A background response (`background: true`): its generation runs as a task on the event loop
    whoever listens, and its events are kept, so that a client that left can stream them again from
    any sequence number (`GET /v1/responses/{id}?stream=true&starting_after=N`) or poll the response
    until it is done. Event i has sequence_number i."""

    def __init__(self):
        self.events: list[bytes] = []
        self.size = 0
        self.done = False
        self.task: asyncio.Task | None = None
        self._changed = asyncio.Event()

    def add(self, event: bytes) -> None:
        self.events.append(event)
        self.size += len(event)
        self._wake()

    def finish(self) -> None:
        self.done = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self, after: int = -1):
        """The events after sequence number `after`, then each as it comes, until the response ends."""
        i = after + 1
        while True:
            changed = self._changed
            if i < len(self.events):
                yield self.events[i]
                i += 1
            elif self.done:
                return
            else:
                await changed.wait()


def store_of(request: Request) -> Store:
    state = request.app.state
    if getattr(state, "responses", None) is None:
        state.responses = Store()
    return state.responses


# -- request ---------------------------------------------------------------------------------
def _part_text(part, label: str) -> str | None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise APIError(400, f"Invalid '{label}': each content part must be an object with a 'type'.",
                       param=label, code="invalid_type")
    kind = part["type"]
    if kind not in INPUT_PARTS:
        allowed = ", ".join(f"'{t}'" for t in sorted(INPUT_PARTS))
        raise APIError(400, f"Invalid value for '{label}.type': '{kind}'. Supported values are: {allowed}.",
                       param=f"{label}.type",
                       code="invalid_value")
    if kind in ("input_text", "output_text", "refusal"):
        key = "refusal" if kind == "refusal" else "text"
        if not isinstance(part.get(key), str):
            raise APIError(400, f"Invalid type for '{label}.{key}': expected a string.", param=f"{label}.{key}",
                           code="invalid_type")
        return part[key]
    return f"[{kind.removeprefix('input_')} attached]"  # the text-only offline model is told one was sent


def _content(content, label: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise APIError(400, f"Invalid type for '{label}': expected a string or an array of content parts.",
                       param=label, code="invalid_type")
    return "\n".join(t for j, p in enumerate(content) if (t := _part_text(p, f"{label}[{j}]")) is not None)


def _item(item, label: str) -> dict | None:
    """One input item as an engine chat turn (None for items that are not re-read)."""
    if not isinstance(item, dict):
        raise APIError(400, f"Invalid type for '{label}': expected an object.", param=label, code="invalid_type")
    kind = item.get("type", "message")
    if kind not in ITEM_TYPES:
        allowed = ", ".join(f"'{t}'" for t in ITEM_TYPES)
        raise APIError(400, f"Invalid value for '{label}.type': {kind!r}. Supported values are: {allowed} (the "
                            "offline gateway keeps "
                            "no other item types).", param=f"{label}.type", code="invalid_value")
    if kind in SKIPPED_ITEMS:
        return None
    if kind == "function_call":
        name = field(item, "name", str, required=True, label=f"{label}.name")
        call_id = field(item, "call_id", str, required=True, label=f"{label}.call_id")
        args = tools.parse_arguments(field(item, "arguments", str, "", label=f"{label}.arguments"),
                                     f"{label}.arguments", tools.openai_error)
        return {"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "name": name, "arguments": args}]}
    if kind == "function_call_output":
        call_id = field(item, "call_id", str, required=True, label=f"{label}.call_id")
        if "output" not in item:
            raise APIError(400, f"Missing required parameter: '{label}.output'.", param=f"{label}.output",
                           code="missing_required_parameter")
        output = item.get("output")
        text = output if isinstance(output, str) else _content(output, f"{label}.output")
        return {"role": "tool", "tool_call_id": call_id, "name": None, "content": text}
    role = item.get("role")
    if role not in ROLES:
        if role is None:
            raise APIError(400, f"Missing required parameter: '{label}.role'.", param=f"{label}.role",
                           code="missing_required_parameter")
        allowed = ", ".join(f"'{r}'" for r in ROLES)
        raise APIError(400, f"Invalid value for '{label}.role': {role!r}. Supported values are: {allowed}.",
                       param=f"{label}.role",
                       code="invalid_value")
    if "content" not in item:
        raise APIError(400, f"Missing required parameter: '{label}.content'.", param=f"{label}.content",
                       code="missing_required_parameter")
    return {"role": "system" if role == "developer" else role, "content": _content(item["content"], f"{label}.content")}


def input_messages(value) -> list[dict]:
    """`input` (a string, or a list of items) as engine chat turns."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if value is None:
        raise APIError(400, "Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    if not isinstance(value, list):
        raise APIError(400, "Invalid type for 'input': expected a string or an array of input items.",
                       param="input", code="invalid_type")
    if not value:
        raise APIError(400, "Invalid 'input': empty array. Expected an array with minimum length 1.",
                       param="input", code="empty_array")
    out: list[dict] = []
    for i, item in enumerate(value):
        m = _item(item, f"input[{i}]")
        if m is None:
            continue
        if m.get("tool_calls") and out and out[-1].get("tool_calls"):  # parallel calls: one assistant turn
            out[-1]["tool_calls"] += m["tool_calls"]
        else:
            out.append(m)
    return out


def check_outputs(messages: list[dict]) -> None:
    """Every function_call_output answers a function_call made earlier (in this input or the
    stored conversation it continues), as the API requires."""
    made: set[str] = set()
    for m in messages:
        made.update(c["id"] for c in m.get("tool_calls") or [])
        if m.get("role") == "tool" and m["tool_call_id"] not in made:
            raise APIError(400, f"No tool call found for function call output with call_id {m['tool_call_id']}.",
                           param="input", code="invalid_value")


# -- tools ----------------------------------------------------------------------------------------
async def request_tools(body: dict) -> tuple[list[ToolSpec] | None, str | dict]:
    """`tools` (type function: name, description, parameters, strict) and `tool_choice` ("auto",
    "none", "required", {"type": "function", "name"}, {"type": "allowed_tools", ...}) as the
    engine's; other tool types (web search, file search...) are OpenAI's hosted tools, refused."""
    raw = field(body, "tools", list, None)
    specs = None
    if raw:
        specs = []
        for i, t in enumerate(raw):
            label = f"tools[{i}]"
            if not isinstance(t, dict):
                raise APIError(400, f"Invalid type for '{label}': expected an object.", param=label, code="invalid_type")
            kind = field(t, "type", str, required=True, label=f"{label}.type")
            if kind != "function":
                raise APIError(400, f"Invalid value for '{label}.type': {kind!r}. The offline gateway has no hosted "
                                    "tools (web search, file search, code interpreter...); it supports 'function' "
                                    "tools.", param=f"{label}.type", code="invalid_value")
            name = field(t, "name", str, required=True, label=f"{label}.name")
            description = field(t, "description", str, "", label=f"{label}.description") or ""
            params = field(t, "parameters", dict, None, label=f"{label}.parameters")
            field(t, "strict", bool, None, label=f"{label}.strict")
            specs.append(ToolSpec(name, description, params if params is not None else
                                  {"type": "object", "properties": {}}))
    field(body, "parallel_tool_calls", bool, None)
    choice = body.get("tool_choice")
    if choice is None:
        choice = "auto"
    elif isinstance(choice, str):
        field(body, "tool_choice", str, choices=("none", "auto", "required"))
    elif isinstance(choice, dict):
        kind = field(choice, "type", str, required=True, label="tool_choice.type",
                     choices=("function", "allowed_tools"))
        if kind == "function":
            choice = {"name": field(choice, "name", str, required=True, label="tool_choice.name")}
        else:
            mode = field(choice, "mode", str, required=True, label="tool_choice.mode", choices=("auto", "required"))
            names = []
            for j, t in enumerate(field(choice, "tools", list, required=True, label="tool_choice.tools")):
                where = f"tool_choice.tools[{j}]"
                name = field(t, "name", str, required=True, label=f"{where}.name") if isinstance(t, dict) else None
                if name not in {s.name for s in specs or []}:
                    raise APIError(400, f"Invalid value for '{where}': no function tool named {name!r} in 'tools'.",
                                   param=where, code="invalid_value")
                names.append(name)
            choice, specs = mode, [s for s in specs if s.name in names]
    else:
        raise APIError(400, "Invalid type for 'tool_choice': expected a string or an object.", param="tool_choice",
                       code="invalid_type")
    if specs is None and choice not in ("auto", "none"):
        raise APIError(400, "Invalid value for 'tool_choice': a tool must be called, but no 'tools' were given.",
                       param="tool_choice", code="invalid_value")

    def rename(neutral: str) -> str:
        return "tool_choice.name" if neutral == "tool_choice" and isinstance(choice, dict) else neutral

    await tools.check(specs, choice, rename, tools.openai_error)
    return specs, choice


_RENAMED = {"max_tokens": "max_output_tokens", "response_format": "text.format"}


def _text_format(text: dict | None) -> dict | None:
    """Responses' `text.format` as chat completions' `response_format` (same meaning)."""
    if text is None:
        return None
    fmt = field(text, "format", dict, None, label="text.format")
    field(text, "verbosity", str, None, label="text.verbosity", choices=("low", "medium", "high"))
    if fmt is None or fmt.get("type") != "json_schema":
        return fmt
    inner = {k: v for k, v in fmt.items() if k != "type"}
    return {"type": "json_schema", "json_schema": inner}


def sampling(body: dict):
    """The engine's SamplingParams for this request, via the chat adapter (errors name the
    Responses field: max_output_tokens, text.format)."""
    max_out = field(body, "max_output_tokens", int, None, minimum=MIN_OUTPUT_TOKENS)
    text = field(body, "text", dict, None)
    reasoning = field(body, "reasoning", dict, None)
    if reasoning is not None:
        effort = field(reasoning, "effort", str, None, label="reasoning.effort",
                       choices=("none", "minimal", "low", "medium", "high", "xhigh"))
        if effort not in NO_THINKING:
            raise APIError(400, f"Unsupported parameter: 'reasoning.effort' is not supported with this model: the "
                                f"offline model has no thinking phase (use 'none' or leave it out).",
                           param="reasoning.effort", code="unsupported_parameter")
        field(reasoning, "summary", str, None, label="reasoning.summary")
    include = field(body, "include", list, []) or []
    top = field(body, "top_logprobs", int, None, minimum=0, maximum=20)
    want_logprobs = "message.output_text.logprobs" in include
    chat_body = {"temperature": body.get("temperature"), "top_p": body.get("top_p"), "max_tokens": max_out,
                 "response_format": _text_format(text)}
    if want_logprobs:
        chat_body.update(logprobs=True, top_logprobs=top or 0)
    try:
        return chat.sampling(chat_body)
    except APIError as e:
        for old, new in _RENAMED.items():
            if e.param and e.param.startswith(old):
                e.param = new + e.param[len(old):]
                e.message = e.message.replace(old, new)
        raise


def _check_unsupported(body: dict) -> None:
    if field(body, "background", bool, False) and body.get("store") is False:
        raise APIError(400, "Invalid 'background': background mode requires 'store' to be true (the response is "
                            "kept to be retrieved).", param="background", code="invalid_value")
    if body.get("conversation") is not None:
        raise APIError(400, "Invalid 'conversation': the offline gateway has no Conversations API; chain responses "
                            "with 'previous_response_id' instead.", param="conversation", code="invalid_value")
    if body.get("prompt") is not None:
        raise APIError(400, "Invalid 'prompt': stored prompt templates live on OpenAI's servers; send 'input' and "
                            "'instructions' instead.", param="prompt", code="invalid_value")
    metadata = field(body, "metadata", dict, None)
    if metadata is not None:
        if len(metadata) > 16 or not all(isinstance(k, str) and len(k) <= 64 and isinstance(v, str)
                                         and len(v) <= 512 for k, v in metadata.items()):
            raise APIError(400, "Invalid 'metadata': at most 16 string keys (64 characters) with string values "
                                "(512 characters).", param="metadata", code="invalid_value")
    field(body, "truncation", str, None, choices=("auto", "disabled"))
    field(body, "user", str, None)
    field(body, "instructions", str, None)


# -- response objects --------------------------------------------------------------------------
def _usage(prompt: int, completion: int) -> dict:
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion}


def _logprobs(toks) -> list[dict]:
    return [{"token": t.text, "logprob": t.logprob, "bytes": list(t.text.encode()),
             "top_logprobs": [{"token": s, "logprob": lp, "bytes": list(s.encode())} for s, lp in (t.top or [])]}
            for t in toks]


def _text_part(text: str, logprobs: list | None = None) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": logprobs or []}


def _message_item(mid: str, status: str, parts: list[dict]) -> dict:
    return {"id": mid, "type": "message", "status": status, "role": "assistant", "content": parts}


def _call_item(call_id: str, name: str, arguments: str, status: str) -> dict:
    """A function_call output item: `call_id` is what the function_call_output answers."""
    return {"id": tools.with_prefix(call_id, "fc_"), "type": "function_call", "status": status, "call_id": call_id,
            "name": name, "arguments": arguments}


def _response(rid: str, body: dict, model: str, created: float, status: str, output: list, usage=None,
              incomplete: bool = False) -> dict:
    done = status in ("completed", "incomplete")
    fmt = (body.get("text") or {}).get("format") or {"type": "text"}
    return {"id": rid, "object": "response", "created_at": created, "status": status,
            "completed_at": time.time() if done else None, "background": body.get("background") is True, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": None, "model": model, "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": (body.get("reasoning") or {}).get("effort"), "summary": None},
            "service_tier": "default", "store": body.get("store", True) is not False,
            "temperature": body.get("temperature", 1.0), "text": {"format": fmt, "verbosity": "medium"},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
            "top_logprobs": body.get("top_logprobs", 0), "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"), "usage": usage, "user": body.get("user"),
            "metadata": body.get("metadata") or {}}


def _not_found(rid: str) -> APIError:
    return APIError(404, f"Response with id '{rid}' not found.", param="response_id", code="not_found")


def conversation(request: Request, body: dict) -> tuple[list[dict], list[dict]]:
    """(the stored conversation `previous_response_id` continues, the new `input`'s turns), checked:
    every function_call_output answers a call, results named after their calls."""
    earlier: list[dict] = []
    prev = field(body, "previous_response_id", str, None)
    if prev is not None:
        record = store_of(request).get(prev)
        if record is None:
            raise APIError(400, f"Invalid 'previous_response_id': previous response with id '{prev}' not found.",
                           param="previous_response_id", code="previous_response_not_found")
        earlier = list(record["conversation"])
    new = input_messages(body.get("input"))
    check_outputs(earlier + new)
    tools.fill_names(earlier + new)
    return earlier, new


# -- routes ----------------------------------------------------------------------------------------
@router.post("/v1/responses/input_tokens")
async def count_input_tokens(request: Request):
    """`client.responses.input_tokens.count(...)`: the `usage.input_tokens` the same request to
    POST /v1/responses would be billed (instructions, the continued conversation, the input and
    the tools' block, templated as generation reads them)."""
    body = await json_body(request)
    model = field(body, "model", str, None)
    if model is not None:
        models.require(model)
    if field(body, "conversation", (str, dict), None) is not None:
        raise APIError(400, "Invalid 'conversation': the offline gateway keeps no conversations; continue one "
                            "with 'previous_response_id'.", param="conversation", code="invalid_value")
    field(body, "instructions", str, None)
    specs, _ = await request_tools(body)
    earlier, new = conversation(request, body)
    system = [{"role": "system", "content": body["instructions"]}] if body.get("instructions") else []
    n = await count_chat(engine_of(request), system + earlier + new, specs, model)
    return JSONResponse({"object": "response.input_tokens", "input_tokens": n})


@router.post("/v1/responses")
async def create(request: Request):
    body = await json_body(request)
    model = models.require(field(body, "model", str, required=True))
    stream = field(body, "stream", bool, False)
    if field(body, "stream_options", dict, None) is not None and not stream:
        raise APIError(400, "Invalid 'stream_options': only allowed when 'stream' is true.",
                       param="stream_options", code="invalid_value")
    keep = field(body, "store", bool, True)
    _check_unsupported(body)
    bg = Background() if field(body, "background", bool, False) else None
    if bg is not None and request.scope.get("llmkit.meter") is not None:  # a student's request (classroom.py)
        raise APIError(400, "Invalid 'background': background responses are not available with a classroom token "
                            "(their usage could not be counted against your quota); leave 'background' out.",
                       param="background", code="invalid_value")
    params = sampling(body)
    params.tools, params.tool_choice = await request_tools(body)
    tools.set_parallel(params, body.get("parallel_tool_calls"))
    store = store_of(request)
    earlier, new = conversation(request, body)
    raw_items = body["input"] if isinstance(body["input"], list) else [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": body["input"]}]}]
    system = [{"role": "system", "content": body["instructions"]}] if body.get("instructions") else []
    req = ChatRequest(model, system + earlier + new, params, stream=stream, asked=body)
    engine = engine_of(request)
    rid = "resp_" + uuid.uuid4().hex + uuid.uuid4().hex[:16]
    mid = "msg_" + uuid.uuid4().hex + uuid.uuid4().hex[:16]
    created = time.time()
    want_logprobs = params.logprobs is not None

    def finish(text: str, toks, gen, calls: list[tuple[str, str, str]]) -> dict:
        """The final response; `calls` are (call_id, name, arguments JSON) when the reply called tools."""
        incomplete = gen.finish_reason == "length"
        status = "incomplete" if incomplete else "completed"
        if calls:  # a call cut by max_tokens is the one incomplete item
            whole = len(getattr(gen, "tool_calls", None) or [])
            output = [_call_item(cid, name, args, "completed" if i < whole else "incomplete")
                      for i, (cid, name, args) in enumerate(calls)]
            turn = {"role": "assistant", "content": None,
                    "tool_calls": [{"id": cid, "name": name, "arguments": tools.partial_object(args)}
                                   for cid, name, args in calls]}
        else:
            text_toks = [t for t in toks if t.tool_call is None]
            output = [_message_item(mid, status, [_text_part(text, _logprobs(text_toks) if want_logprobs else None)])]
            turn = {"role": "assistant", "content": text}
        resp = _response(rid, body, model, created, status, output, _usage(gen.prompt_tokens, gen.completion_tokens),
                         incomplete)
        if keep:
            store.put(rid, {"response": resp, "input": raw_items, "conversation": earlier + new + [turn],
                            "background": bg})
        return resp

    if not stream and bg is None:
        choice = (await complete(engine, req)).choices[0]
        calls = [(c.id, c.name, c.arguments) for c in tools.replay(choice.tokens, choice.gen)]
        return JSONResponse(finish(choice.text, choice.tokens, choice.gen, calls))

    run_ = await start(engine, req)  # prompt errors become a 400 before any byte is sent
    seq = iter(range(1 << 62))

    def event(kind: str, **data) -> bytes:
        return sse({"type": kind, "sequence_number": next(seq), **data}, event=kind)

    where = {"item_id": mid, "output_index": 0}

    def open_message():
        yield event("response.output_item.added", output_index=0, item=_message_item(mid, "in_progress", []))
        yield event("response.content_part.added", **where, content_index=0, part=_text_part(""))

    def close_call(call, status: str = "completed"):
        item = _call_item(call.id, call.name, call.arguments, status)
        yield event("response.function_call_arguments.done", item_id=item["id"], output_index=call.index,
                    name=call.name, arguments=call.arguments)
        yield event("response.output_item.done", output_index=call.index, item=item)

    async def events():
        resp = _response(rid, body, model, created, "in_progress", [])
        yield event("response.created", response=resp)
        yield event("response.in_progress", response=resp)
        defer = bool(params.tools)  # with tools, the first token says whether a message or calls come
        opened = not defer
        if opened:
            for b in open_message():
                yield b
        toks, calls = [], tools.Calls()
        async for p in run_.events():
            if p.kind == "token":
                toks.append(p.token)
                if p.token.tool_call is not None:
                    opened = True
                    for ev in calls.feed(p.token):
                        call = ev[1]
                        if ev[0] == "start":
                            if call.index > 0:
                                for b in close_call(calls.calls[call.index - 1]):
                                    yield b
                            yield event("response.output_item.added", output_index=call.index,
                                        item=_call_item(call.id, call.name, "", "in_progress"))
                        else:
                            yield event("response.function_call_arguments.delta",
                                        item_id=tools.with_prefix(call.id, "fc_"), output_index=call.index,
                                        delta=ev[2])
                    continue
                if not opened:
                    opened = True
                    for b in open_message():
                        yield b
                yield event("response.output_text.delta", **where, content_index=0, delta=p.token.text,
                            logprobs=_logprobs([p.token]) if want_logprobs else [])
            elif p.kind == "end":
                if calls.calls:
                    final = finish("", toks, p.gen, [(c.id, c.name, c.arguments) for c in calls.calls])
                    for b in close_call(calls.calls[-1], final["output"][-1]["status"]):
                        yield b
                else:
                    if not opened:
                        for b in open_message():
                            yield b
                    text = "".join(t.text for t in toks)
                    final = finish(text, toks, p.gen, [])
                    part = final["output"][0]["content"][0]
                    yield event("response.output_text.done", **where, content_index=0, text=text,
                                logprobs=part["logprobs"])
                    yield event("response.content_part.done", **where, content_index=0, part=part)
                    yield event("response.output_item.done", output_index=0, item=final["output"][0])
                yield event("response.incomplete" if final["status"] == "incomplete" else "response.completed",
                            response=final)

    def stream_error(e: Exception) -> list[bytes]:
        """Headers are sent: report it as the API does, then fail the response."""
        failed = _response(rid, body, model, created, "failed", [])
        failed["error"] = {"code": "server_error", "message": failure(e)}
        return [event("error", code="server_error", message=failed["error"]["message"], param=None),
                event("response.failed", response=failed)]

    if bg is None:
        return sse_response(guard(events(), stream_error))

    # background: the generation goes on whoever listens; its events are kept (Background)
    queued = _response(rid, body, model, created, "queued", [])
    store.put(rid, {"response": queued, "input": raw_items, "conversation": earlier + new, "background": bg})

    async def produce():
        record = store.get(rid)
        if record is not None:
            record["response"] = {**queued, "status": "in_progress"}
        try:  # cancelled (POST /v1/responses/{id}/cancel): the run's own cleanup stops the engine's work
            async for b in guard(events(), stream_error):
                bg.add(b)
        finally:
            bg.finish()

    bg.task = asyncio.create_task(produce())
    return sse_response(bg.follow()) if stream else JSONResponse(queued)


def _background_of(request: Request, response_id: str) -> tuple[dict, Background | None]:
    record = store_of(request).get(response_id)
    if record is None:
        raise _not_found(response_id)
    return record, record.get("background")


@router.get("/v1/responses/{response_id}")
async def retrieve(request: Request, response_id: str):
    record, bg = _background_of(request, response_id)
    if request.query_params.get("stream") in ("true", "1", "True"):
        if bg is None:
            raise APIError(400, "Invalid 'stream': only background responses can be streamed again (create it with "
                                "'background': true).", param="stream", code="invalid_value")
        raw = request.query_params.get("starting_after", "-1")
        if not raw.lstrip("-").isdigit() or int(raw) < -1:
            raise APIError(400, f"Invalid 'starting_after': expected a sequence number (an integer >= 0), got {raw!r}.",
                           param="starting_after", code="invalid_value")
        return sse_response(bg.follow(int(raw)))
    return JSONResponse(record["response"])


@router.post("/v1/responses/{response_id}/cancel")
async def cancel(request: Request, response_id: str):
    """Cancel a background response that is still running (a finished one comes back as it is)."""
    record, bg = _background_of(request, response_id)
    if bg is None:
        raise APIError(400, "Only background responses can be cancelled.", param="response_id", code="invalid_value")
    if not bg.done and bg.task is not None:
        bg.task.cancel()
        try:
            await bg.task
        except asyncio.CancelledError:
            pass
        record = store_of(request).get(response_id) or record
        record["response"] = {**record["response"], "status": "cancelled"}
    return JSONResponse(record["response"])


@router.delete("/v1/responses/{response_id}")
async def delete(request: Request, response_id: str):
    if store_of(request).drop(response_id) is None:
        raise _not_found(response_id)
    return JSONResponse({"id": response_id, "object": "response.deleted", "deleted": True})


@router.get("/v1/responses/{response_id}/input_items")
async def input_items(request: Request, response_id: str):
    """This response's own input items, as sent (newest first unless order=asc)."""
    record = store_of(request).get(response_id)
    if record is None:
        raise _not_found(response_id)
    order = request.query_params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise APIError(400, f"Invalid value for 'order': {order!r}. Supported values are: 'asc', 'desc'.",
                       param="order", code="invalid_value")
    items = []
    for i, item in enumerate(record["input"]):
        item = {"type": "message", **item}
        if isinstance(item.get("content"), str):
            item["content"] = [{"type": "input_text", "text": item["content"]}]
        items.append({"id": f"msg_{response_id[5:29]}{i:04d}", "status": "completed", **item})
    if order == "desc":
        items.reverse()
    return JSONResponse({"object": "list", "data": items, "first_id": items[0]["id"] if items else None,
                         "last_id": items[-1]["id"] if items else None, "has_more": False})

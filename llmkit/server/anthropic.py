"""Anthropic's protocol: POST /v1/messages (plain and streamed), /v1/messages/count_tokens,
and Anthropic's view of GET /v1/models[/id] (openai.py hands callers that send
`anthropic-version` to `list_models` / `get_model` here).

Shaped after what the anthropic 2.x SDK sends and parses: its `messages.create` has no
temperature/top_p/top_k (they still work in the body, e.g. via `extra_body`), it sends
`output_config={"effort": ...}` (mapped to a default temperature) and `thinking`
(enabled thinking is refused: the offline model cannot think; see `refuse_thinking`),
and its `MessageParam` includes `role: "system"` turns, so those are accepted alongside
the top-level `system`.

Tools: `tools` (name, description, input_schema) and `tool_choice` (auto, any, tool, none)
go to the engine as neutral tools; assistant `tool_use` blocks become calls and user
`tool_result` blocks (string or block content, `is_error`) the results they answer, checked
as the API checks them (each tool_use answered in the next user turn, no stray results). A
reply that calls tools has `tool_use` blocks and `stop_reason: "tool_use"`; streamed, each is
a content_block_start (input {}) then `input_json_delta` events.

Message threads (the SDK's `thread` field, beta message-threads-2026-08-12, what
`client.beta.messages.tool_runner` and `client.beta.messages.thread()` send): a request with
`thread: {"type": "create"}` or `{"type": "continue", "previous_message_id": ...}` has its
conversation kept under the reply's id (bounded like stored Responses), and a `continue` is read
as the held messages, `system` and `tools` followed by the new messages. An id not held is a 404
with `error.details.error_code: "thread_not_found"`, on which the SDK replays the whole history.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import OrderedDict
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from .. import catalog
from ..engine import SamplingParams
from ..engine.base import ToolSpec
from . import models, tools
from .common import count_chat, engine_of
from .errors import APIError
from .framing import sse, sse_response
from .run import ChatRequest, complete, failure, guard, start
from .validate import _got, field, json_body, json_schema, stop_list

router = APIRouter()
MAX_STOP_SEQUENCES = 64  # the gateway's cap (each is checked at every token)
ROLES = ("user", "assistant", "system")
EFFORT_TEMPERATURE = {"low": 0.3, "medium": 0.7, "high": 1.0, "xhigh": 1.0, "max": 1.0}
# Every input block type the SDK's ContentBlockParam knows; which of them the engine reads as text.
BLOCK_NOTES = {"image": "[image attached]", "document": "[document attached]", "container_upload": "[file attached]"}
SKIPPED_BLOCKS = {"thinking", "redacted_thinking"}  # as the real API: earlier thinking is not re-read
OTHER_BLOCKS = {"search_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
                "code_execution_tool_result", "bash_code_execution_tool_result",
                "text_editor_code_execution_tool_result", "tool_search_tool_result", "tool_reference"}
BLOCK_TYPES = {"text", "tool_use", "tool_result", *BLOCK_NOTES, *SKIPPED_BLOCKS, *OTHER_BLOCKS}
MAX_THREADS = 1000  # conversations held for `thread: {"type": "continue"}`, oldest dropped first
MAX_THREAD_CHARS = 16_000_000  # characters of JSON held in all
THREAD_FIELDS = ("system", "tools")  # what a `continue` may leave out (the SDK's CREATE_ONLY_FIELDS)


class Threads:
    """The held conversations by reply id, oldest first, within MAX_THREADS and MAX_THREAD_CHARS."""

    def __init__(self):
        self.items: OrderedDict[str, tuple[dict, int]] = OrderedDict()
        self.chars = 0

    def put(self, mid: str, record: dict) -> None:
        size = len(json.dumps(record, ensure_ascii=False))
        self.items[mid] = (record, size)
        self.chars += size
        while self.items and (len(self.items) > MAX_THREADS or self.chars > MAX_THREAD_CHARS):
            self.chars -= self.items.popitem(last=False)[1][1]

    def get(self, mid: str) -> dict | None:
        held = self.items.get(mid)
        return None if held is None else held[0]


def threads_of(request: Request) -> Threads:
    state = request.app.state
    if getattr(state, "anthropic_threads", None) is None:
        state.anthropic_threads = Threads()
    return state.anthropic_threads


def thread_body(request: Request, body: dict) -> tuple[dict, bool]:
    """(the request as one for the whole conversation, whether its reply is held for a later
    `continue`). Without `thread`, the body as sent and nothing held."""
    thread = body.get("thread")
    if thread is None:
        return body, False
    if not isinstance(thread, dict):
        raise _bad("thread", f"Input should be an object with 'type' 'create' or 'continue', got {_got(thread)}.")
    kind = field(thread, "type", str, required=True, choices=("create", "continue"), label="thread.type")
    if kind == "create":
        return body, True
    prev = field(thread, "previous_message_id", str, required=True, label="thread.previous_message_id")
    held = threads_of(request).get(prev)
    if held is None:
        raise APIError(404, f"thread.previous_message_id: no thread holds a message with id '{prev[:100]}' (this "
                            "gateway keeps the latest conversations only, and none across restarts): send the "
                            "whole conversation with thread={\"type\": \"create\"}.",
                       param="thread.previous_message_id", type="not_found_error",
                       details={"error_code": "thread_not_found"})
    new = field(body, "messages", list, required=True)
    merged = {**body, "messages": held["messages"] + new}
    for name in THREAD_FIELDS:
        if name not in body and held.get(name) is not None:
            merged[name] = held[name]
    return merged, True


def hold(request: Request, mid: str, body: dict, content: list[dict]) -> None:
    """Keep the conversation so far (the request's messages and this reply) under the reply's id."""
    record = {"messages": [*body["messages"], {"role": "assistant", "content": content}]}
    record.update({name: body[name] for name in THREAD_FIELDS if body.get(name) is not None})
    threads_of(request).put(mid, record)


def _bad(label: str, message: str) -> APIError:
    return APIError(400, f"{label}: {message}", param=label)


def _blocks_text(content, label: str, *, text_only: bool = False) -> str:
    """A string, or a list of content blocks read as text (non-text blocks become short notes)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(label, f"Input should be a string or an array of content blocks, got {_got(content)}.")
    out = []
    for j, block in enumerate(content):
        where = f"{label}.{j}"
        kind = block.get("type") if isinstance(block, dict) else None
        if not isinstance(kind, str):
            raise _bad(f"{where}.type", "each content block must be an object with a 'type'.")
        if kind not in BLOCK_TYPES or (text_only and kind != "text"):
            allowed = "'text'" if text_only else ", ".join(f"'{t}'" for t in sorted(BLOCK_TYPES))
            raise _bad(f"{where}.type", f"Input tag '{kind}' does not match any of the expected tags: {allowed}.")
        if kind == "text":
            if not isinstance(block.get("text"), str):
                raise _bad(f"{where}.text", f"Input should be a valid string, got {_got(block.get('text'))}.")
            out.append(block["text"])
        elif kind == "tool_use":
            args = json.dumps(block.get("input", {}), ensure_ascii=False)
            out.append(f"[tool call {block.get('name', '?')}: {args}]")
        elif kind == "tool_result":
            inner = block.get("content", "")
            out.append(f"[tool result: {_blocks_text(inner, f'{where}.content') if inner else ''}]")
        elif kind == "search_result":
            out.append(_blocks_text(block.get("content", []), f"{where}.content"))
        elif kind not in SKIPPED_BLOCKS:
            out.append(BLOCK_NOTES.get(kind, f"[{kind.replace('_', ' ')}]"))
    return "\n".join(out)


def _tool_result_text(block: dict, where: str) -> str:
    inner = block.get("content", "")
    text = _blocks_text(inner, f"{where}.content") if inner else ""
    if field(block, "is_error", bool, False, label=f"{where}.is_error"):
        text = "Error: " + text
    return text


def _turns(role: str, content, label: str) -> list[dict]:
    """One message as neutral turns: an assistant's text and tool_use blocks as one turn (with
    `tool_calls`); a user's tool_result blocks as `tool` turns, then its other blocks as a user turn."""
    if isinstance(content, str) or role == "system":
        return [{"role": role, "content": _blocks_text(content, f"{label}.content", text_only=role == "system")}]
    if not isinstance(content, list):
        raise _bad(f"{label}.content", f"Input should be a string or an array of content blocks, got {_got(content)}.")
    calls, results, rest = [], [], []
    for j, block in enumerate(content):
        where = f"{label}.content.{j}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_use" and role == "assistant":
            cid = field(block, "id", str, required=True, label=f"{where}.id")
            name = field(block, "name", str, required=True, label=f"{where}.name")
            args = field(block, "input", dict, {}, label=f"{where}.input")
            calls.append({"id": cid, "name": name, "arguments": args})
        elif kind == "tool_result" and role == "user":
            cid = field(block, "tool_use_id", str, required=True, label=f"{where}.tool_use_id")
            results.append({"role": "tool", "tool_call_id": cid, "name": None,
                            "content": _tool_result_text(block, where)})
        elif kind in ("tool_use", "tool_result"):
            raise _bad(f"{where}.type", f"'{kind}' blocks belong in {'assistant' if kind == 'tool_use' else 'user'} "
                                        "messages.")
        else:
            rest.append(block)
    text = _blocks_text(rest, f"{label}.content") if rest else ""
    if calls:
        return [{"role": "assistant", "content": text or None, "tool_calls": calls}]
    out = results
    if rest or not results:
        out = out + [{"role": role, "content": text}]
    return out


def chat_messages(body: dict) -> list[dict]:
    """`system` + `messages` as the engine's neutral turns (consecutive same-role text turns
    merge, as the real API combines them; tool calls and results stay turns of their own)."""
    system = body.get("system")
    out = []
    if system is not None:
        text = _blocks_text(system, "system", text_only=True)
        if text:
            out.append({"role": "system", "content": text})
    msgs = field(body, "messages", list, required=True)
    if not msgs:
        raise _bad("messages", "at least one message is required.")
    pending: list[str] = []  # tool_use ids of the previous assistant turn, to be answered now
    for i, m in enumerate(msgs):
        label = f"messages.{i}"
        if not isinstance(m, dict):
            raise _bad(label, f"Input should be an object with 'role' and 'content', got {_got(m)}.")
        role = m.get("role")
        if role not in ROLES:
            got = "missing" if role is None else repr(role)
            raise _bad(f"{label}.role", f"Input should be 'user', 'assistant' or 'system' (got {got}). "
                                        "System instructions can also go in the top-level `system` parameter.")
        if "content" not in m:
            raise _bad(f"{label}.content", "Field required.")
        turns = _turns(role, m["content"], label)
        answered = [t["tool_call_id"] for t in turns if t["role"] == "tool"]
        stray = [cid for cid in answered if cid not in pending]
        if stray:
            raise _bad(f"{label}.content", f"unexpected `tool_use_id` found in `tool_result` blocks: {stray[0]}. Each "
                                           "`tool_result` block must have a corresponding `tool_use` block in the "
                                           "previous message.")
        missing = [cid for cid in pending if cid not in answered]
        if missing:
            raise _bad(label, f"`tool_use` ids were found without `tool_result` blocks immediately after: "
                              f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` "
                              "block in the next message.")
        pending = [c["id"] for t in turns for c in t.get("tool_calls") or []]
        for t in turns:
            prev = out[-1] if out else None
            if (prev and prev["role"] == t["role"] and t["role"] != "tool" and not prev.get("tool_calls")
                    and not t.get("tool_calls")):
                prev["content"] += "\n\n" + t["content"]
            else:
                out.append(t)
    return tools.fill_names(out)


async def request_tools(body: dict) -> tuple[list[ToolSpec] | None, str | dict]:
    """`tools` (custom tools: name, description, input_schema) and `tool_choice` ({"type": "auto" |
    "any" | "tool" (with "name") | "none"}) as the engine's. Anthropic's server tools (web search,
    code execution, bash, text editor...) run on Anthropic's side and are refused here."""
    raw = field(body, "tools", list, None)
    specs = None
    if raw is not None:
        specs = []
        for i, t in enumerate(raw):
            label = f"tools.{i}"
            if not isinstance(t, dict):
                raise _bad(label, f"Input should be a valid dictionary, got {_got(t)}.")
            kind = field(t, "type", str, None, label=f"{label}.type")
            if kind not in (None, "custom"):
                raise _bad(f"{label}.type", f"'{kind}' is one of Anthropic's server tools, which the offline "
                                            "gateway does not run; define a custom tool (name, description, "
                                            "input_schema) instead.")
            name = field(t, "name", str, required=True, label=f"{label}.name")
            description = field(t, "description", str, "", label=f"{label}.description") or ""
            if "input_schema" not in t:
                raise _bad(f"{label}.input_schema", "Field required")
            schema = field(t, "input_schema", dict, None, label=f"{label}.input_schema")
            field(t, "strict", bool, None, label=f"{label}.strict")
            specs.append(ToolSpec(name, description, schema or {"type": "object", "properties": {}}))
    choice_raw = field(body, "tool_choice", dict, None)
    choice: str | dict = "auto"
    if choice_raw is not None:
        if specs is None:
            raise _bad("tool_choice", "tool_choice may only be specified while providing tools.")
        kind = field(choice_raw, "type", str, required=True, label="tool_choice.type",
                     choices=("auto", "any", "tool", "none"))
        field(choice_raw, "disable_parallel_tool_use", bool, None, label="tool_choice.disable_parallel_tool_use")
        choice = {"auto": "auto", "any": "required", "none": "none"}.get(kind) or \
            {"name": field(choice_raw, "name", str, required=True, label="tool_choice.name")}

    def rename(neutral: str) -> str:
        m = re.match(r"tools\[(\d+)\]\.?(.*)", neutral)
        if m:
            return f"tools.{m.group(1)}" + ("." + {"parameters": "input_schema"}.get(m.group(2), m.group(2))
                                           if m.group(2) else "")
        return "tool_choice.name" if neutral == "tool_choice" and isinstance(choice, dict) else neutral

    await tools.check(specs, choice, rename, lambda param, message: _bad(param, message + "."))
    return specs, choice


def sampling(body: dict) -> SamplingParams:
    """Anthropic's fields (temperature 0..1, top_p, top_k, stop_sequences, output_config)
    as the engine's SamplingParams. `max_tokens` is required, as in the real API."""
    max_tokens = field(body, "max_tokens", int, required=True, minimum=0)  # 0 only warms the prompt cache
    temperature = field(body, "temperature", float, None, minimum=0, maximum=1)
    top_p = field(body, "top_p", float, None, minimum=0, maximum=1)
    top_k = field(body, "top_k", int, None, minimum=0)
    stops = field(body, "stop_sequences", list, [])
    for i, s in enumerate(stops):
        if not isinstance(s, str):
            raise _bad(f"stop_sequences.{i}", f"Input should be a valid string, got {_got(s)}.")
    stops = stop_list(stops, "stop_sequences", limit=MAX_STOP_SEQUENCES, sep=".")
    config = field(body, "output_config", dict, {})
    effort = field(config, "effort", str, None, label="output_config.effort", choices=tuple(EFFORT_TEMPERATURE))
    schema = _output_schema(config.get("format"), "output_config.format")
    if schema is None:  # the beta's top-level `output_format` (client.beta.messages.create(output_format=...))
        schema = _output_schema(body.get("output_format"), "output_format")
    for name in ("metadata", "thinking"):
        field(body, name, dict, None)
    if temperature is None:
        temperature = EFFORT_TEMPERATURE[effort] if effort else 1.0
    return SamplingParams(max_tokens=max_tokens, temperature=temperature,
                          top_p=1.0 if top_p is None else top_p, top_k=top_k or 0,
                          stop=list(stops), json_schema=schema)


def _output_schema(fmt, label: str) -> dict | None:
    """Structured outputs: {"type": "json_schema", "schema": {...}} (what `messages.parse(output_format=
    Model)` sends in output_config.format) -> the schema the reply follows token by token."""
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise _bad(label, f"Input should be a valid dictionary, got {_got(fmt)}.")
    field(fmt, "type", str, required=True, label=f"{label}.type", choices=("json_schema",))
    if "schema" not in fmt:
        raise _bad(f"{label}.schema", "Field required")
    return json_schema(fmt["schema"], f"{label}.schema")


def _usage(input_tokens: int, output_tokens: int) -> dict:
    return {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output_tokens, "output_tokens_details": {"thinking_tokens": 0},
            "service_tier": "standard"}


def _stop_reason(gen, params: SamplingParams) -> str:
    if gen.stop_sequence is not None:
        return "stop_sequence"
    if gen.finish_reason == "length":
        hit_limit = params.max_tokens is not None and gen.completion_tokens >= params.max_tokens
        return "max_tokens" if hit_limit else "model_context_window_exceeded"
    if gen.finish_reason == "tool_calls":
        return "tool_use"
    return "end_turn"


def _message(mid: str, model: str, text: str | None, stop_reason, stop_sequence, usage: dict,
             calls: list | None = None) -> dict:
    """A Message; `calls` (tools.Call) become its tool_use blocks instead of text."""
    content = [] if text is None else [{"type": "text", "text": text}]
    if calls:
        content = [{"type": "tool_use", "id": c.id, "name": c.name, "input": tools.partial_object(c.arguments)}
                   for c in calls]
    return {"id": mid, "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason, "stop_sequence": stop_sequence, "stop_details": None, "usage": usage}


def refuse_thinking(body: dict, model: str, params: SamplingParams) -> None:
    """The offline model has no thinking phase: `thinking={"type": "enabled", ...}` is the
    400 Anthropic gives a model that cannot think; "disabled" and "adaptive" (the model
    decides, and this one never thinks) are accepted."""
    thinking = body.get("thinking")
    if thinking is None:
        return
    kind = field(thinking, "type", str, required=True, label="thinking.type",
                 choices=("enabled", "disabled", "adaptive"))
    if kind != "enabled":
        return
    budget = field(thinking, "budget_tokens", int, required=True, minimum=1024, label="thinking.budget_tokens")
    if params.max_tokens is not None and budget >= params.max_tokens:
        raise _bad("max_tokens", f"`max_tokens` must be greater than `thinking.budget_tokens` ({budget}).")
    raise APIError(400, f"thinking.type: '{model}' does not support thinking (the offline model answering for it "
                        "has no thinking phase): send thinking={\"type\": \"disabled\"} or leave it out.",
                   param="thinking")


@router.post("/v1/messages")
async def messages_create(request: Request):
    body = await json_body(request)
    model = models.require(field(body, "model", str, required=True))
    body, keep = thread_body(request, body)
    messages = chat_messages(body)
    params = sampling(body)
    params.tools, params.tool_choice = await request_tools(body)
    tools.set_parallel(params, not (body.get("tool_choice") or {}).get("disable_parallel_tool_use", False))
    refuse_thinking(body, model, params)
    stream = field(body, "stream", bool, False)
    req = ChatRequest(model, messages, params, stream=stream, asked=body)
    engine = engine_of(request)
    mid = "msg_01" + uuid.uuid4().hex[:22]
    if not stream:
        result = await complete(engine, req)
        c = result.choices[0]
        gen = c.gen
        reply = _message(mid, model, c.text, _stop_reason(gen, result.req.params),
                         gen.stop_sequence, _usage(gen.prompt_tokens, gen.completion_tokens),
                         calls=tools.replay(c.tokens, gen, "toolu_"))
        if keep:
            hold(request, mid, body, reply["content"])
        return JSONResponse(reply)
    run_ = await start(engine, req)  # prompt errors become a 400 before any byte is sent
    defer = bool(params.tools)  # with tools, the first token says whether a text or a tool_use block opens

    async def events():
        calls, block = tools.Calls(prefix="toolu_"), None  # the open block's index
        text = []  # the reply's text, held with a thread
        async for p in run_.events():
            if p.kind == "start":
                yield event("message_start", message=_message(mid, model, None, None, None,
                                                              _usage(p.gen.prompt_tokens, 0)))
                if not defer:
                    block = 0
                    yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
                yield event("ping")
            elif p.kind == "token":
                if p.token.tool_call is not None:
                    for ev in calls.feed(p.token):
                        call = ev[1]
                        if ev[0] == "start":
                            if block is not None:
                                yield event("content_block_stop", index=block)
                            block = call.index
                            yield event("content_block_start", index=block, content_block={
                                "type": "tool_use", "id": call.id, "name": call.name, "input": {}})
                        else:
                            yield event("content_block_delta", index=block,
                                        delta={"type": "input_json_delta", "partial_json": ev[2]})
                    continue
                if block is None:
                    block = 0
                    yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
                text.append(p.token.text)
                yield event("content_block_delta", index=block, delta={"type": "text_delta", "text": p.token.text})
            else:
                gen = p.gen
                if keep:
                    held = [{"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]}
                            for c in calls.final(gen)] or [{"type": "text", "text": "".join(text)}]
                    hold(request, mid, body, held)
                if block is None:
                    block = 0
                    yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
                yield event("content_block_stop", index=block)
                usage = {k: v for k, v in _usage(gen.prompt_tokens, gen.completion_tokens).items()
                         if k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                                  "output_tokens")}
                yield event("message_delta", delta={"stop_reason": _stop_reason(gen, run_.req.params),
                                                    "stop_sequence": gen.stop_sequence, "stop_details": None},
                            usage=usage)
                yield event("message_stop")

    return sse_response(guard(events(), stream_error))


def event(kind: str, **data) -> bytes:
    return sse({"type": kind, **data}, event=kind)


def stream_error(e: Exception) -> list[bytes]:
    """Headers are sent: report it the way Anthropic does mid-stream."""
    return [event("error", error={"type": "api_error", "message": failure(e)})]


@router.post("/v1/messages/count_tokens")
async def count_tokens(request: Request):
    """What `usage.input_tokens` would be for this request: system + messages + the tools'
    block, templated as generation reads them (tool_choice changes nothing in the prompt)."""
    body = await json_body(request)
    model = models.require(field(body, "model", str, required=True))
    specs, _ = await request_tools(body)
    return JSONResponse({"input_tokens": await count_chat(engine_of(request), chat_messages(body), specs, model)})


# -- GET /v1/models[/id], Anthropic's view ------------------------------------------------------

LINES = ("haiku", "sonnet", "opus")


def _display_name(model_id: str) -> str:
    """claude-haiku-4-5 -> Claude Haiku 4.5; claude-3-haiku-20240307 -> Claude 3 Haiku."""
    words, out = [w for w in model_id.split("-") if w and not (w.isdigit() and len(w) == 8)], []
    for w in words:
        if w.isdigit() and out and out[-1][-1].isdigit():
            out[-1] += "." + w
        else:
            out.append(w if w.isdigit() else w.capitalize())
    return " ".join(out)


def _model_info(model_id: str, engine_context: int, entry: catalog.Model | None = None) -> dict:
    """A ModelInfo; a deprecated catalog entry says so and when it retires (`retires_at`)."""
    created = datetime.fromtimestamp(models.CREATED, timezone.utc).isoformat().replace("+00:00", "Z")
    line = next((ln for ln in LINES if ln in model_id.lower()), None)
    retires = entry.retires if entry is not None and entry.deprecated else None
    return {"type": "model", "id": model_id, "display_name": _display_name(model_id), "created_at": created,
            "lifecycle": entry.lifecycle if entry is not None else "active", "line": line,
            "retires_at": f"{retires}T00:00:00Z" if retires else None,
            "max_input_tokens": engine_context, "max_tokens": engine_context}


async def list_models(request: Request):
    """Anthropic's catalog models, newest first, paged by `limit`/`after_id`/`before_id`;
    `lifecycle` (sent as `lifecycle[]` by the SDK) filters, retired ones only on request."""
    q = request.query_params
    raw_limit = q.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        raise _bad("limit", f"Input should be an integer from 1 to 1000, got {raw_limit!r}.")
    limit = int(raw_limit)
    wanted = set(q.getlist("lifecycle[]") + q.getlist("lifecycle")) or {"active", "deprecated"}
    ctx = engine_of(request).context_length
    data = [_model_info(m.id, ctx, m) for m in catalog.models()
            if m.provider == "anthropic" and m.lifecycle in wanted]
    ids = [d["id"] for d in data]
    for name in ("after_id", "before_id"):
        if q.get(name) and q[name] not in ids:
            raise _bad(name, f"no model with id {q[name]!r} in this list.")
    if q.get("before_id"):
        end = ids.index(q["before_id"])
        page, has_more = data[max(0, end - limit):end], end - limit > 0
    else:
        begin = ids.index(q["after_id"]) + 1 if q.get("after_id") else 0
        page, has_more = data[begin:begin + limit], begin + limit < len(data)
    return JSONResponse({"data": page, "has_more": has_more, "first_id": page[0]["id"] if page else None,
                         "last_id": page[-1]["id"] if page else None})


async def get_model(request: Request, model: str):
    if not models.known(model):
        raise APIError(404, f"model: {model}", param="model")
    m = catalog.find(model)
    return JSONResponse(_model_info(model, engine_of(request).context_length, m))

"""Anthropic's protocol: POST /v1/messages (plain and streamed), /v1/messages/count_tokens,
and Anthropic's view of GET /v1/models[/id] (openai.py hands callers that send
`anthropic-version` to `list_models` / `get_model` here).

Shaped after what the anthropic 2.x SDK sends and parses: its `messages.create` has no
temperature/top_p/top_k (they still work in the body, e.g. via `extra_body`), it sends
`output_config={"effort": ...}` (mapped to a default temperature) and `thinking`
(enabled thinking is refused: the offline model cannot think; see `refuse_thinking`),
and its `MessageParam` includes `role: "system"` turns, so those are accepted alongside
the top-level `system`.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from .. import catalog
from ..engine import SamplingParams
from . import models
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


def chat_messages(body: dict) -> list[dict]:
    """`system` + `messages` as the engine's chat turns (consecutive same-role turns merge,
    as the real API combines them)."""
    system = body.get("system")
    out = []
    if system is not None:
        text = _blocks_text(system, "system", text_only=True)
        if text:
            out.append({"role": "system", "content": text})
    msgs = field(body, "messages", list, required=True)
    if not msgs:
        raise _bad("messages", "at least one message is required.")
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
        text = _blocks_text(m["content"], f"{label}.content", text_only=role == "system")
        if out and out[-1]["role"] == role:
            out[-1]["content"] += "\n\n" + text
        else:
            out.append({"role": role, "content": text})
    return out


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
    for name in ("metadata", "thinking", "tool_choice"):
        field(body, name, dict, None)
    field(body, "tools", list, None)
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
    return "end_turn"


def _message(mid: str, model: str, text: str | None, stop_reason, stop_sequence, usage: dict) -> dict:
    content = [] if text is None else [{"type": "text", "text": text}]
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
    messages = chat_messages(body)
    params = sampling(body)
    refuse_thinking(body, model, params)
    stream = field(body, "stream", bool, False)
    req = ChatRequest(model, messages, params, stream=stream, asked=body)
    engine = engine_of(request)
    mid = "msg_01" + uuid.uuid4().hex[:22]
    if not stream:
        result = await complete(engine, req)
        gen = result.choices[0].gen
        return JSONResponse(_message(mid, model, result.choices[0].text, _stop_reason(gen, result.req.params),
                                     gen.stop_sequence, _usage(gen.prompt_tokens, gen.completion_tokens)))
    run_ = await start(engine, req)  # prompt errors become a 400 before any byte is sent

    async def events():
        async for p in run_.events():
            if p.kind == "start":
                yield event("message_start", message=_message(mid, model, None, None, None,
                                                              _usage(p.gen.prompt_tokens, 0)))
                yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
                yield event("ping")
            elif p.kind == "token":
                yield event("content_block_delta", index=0, delta={"type": "text_delta", "text": p.token.text})
            else:
                gen = p.gen
                yield event("content_block_stop", index=0)
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
    """What `usage.input_tokens` would be for this request: system + messages, templated."""
    body = await json_body(request)
    model = models.require(field(body, "model", str, required=True))
    messages, _ = models.apply_custom(model, chat_messages(body))
    return JSONResponse({"input_tokens": await count_chat(engine_of(request), messages)})


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


def _model_info(model_id: str, engine_context: int, retired: str | None = None) -> dict:
    created = datetime.fromtimestamp(models.CREATED, timezone.utc).isoformat().replace("+00:00", "Z")
    line = next((ln for ln in LINES if ln in model_id.lower()), None)
    return {"type": "model", "id": model_id, "display_name": _display_name(model_id), "created_at": created,
            "lifecycle": "retired" if retired else "active", "line": line,
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
    data = [_model_info(m.id, ctx, m.retired) for m in catalog.models()
            if m.provider == "anthropic" and ("retired" if m.retired else "active") in wanted]
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
    return JSONResponse(_model_info(model, engine_of(request).context_length, m.retired if m else None))

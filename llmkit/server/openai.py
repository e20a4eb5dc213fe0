"""OpenAI's protocol: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models.

The same routes answer under /openai/v1 for Groq (its API is OpenAI's at that prefix; its
streams end with `x_groq.usage`), under /v1beta/openai for Gemini's OpenAI compatibility
(chat completions, embeddings, models: the openai SDK with `base_url=.../v1beta/openai/`),
and serve Ollama's OpenAI compatibility, which lives at /v1 on the Ollama host.
"""

from __future__ import annotations

import base64
import re
import time
import uuid

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..engine import SamplingParams, Token
from ..engine.base import ToolSpec
from . import models, tools
from .common import count_texts, embed, engine_of, now, off_loop
from .errors import APIError
from .framing import DONE, sse, sse_response
from .run import ChatRequest, complete, failure, guard, start
from .validate import embed_count, field, json_body, json_schema, message, sampling_numbers, stop_list

router = APIRouter()
ROLES = ("system", "assistant", "user", "function", "tool", "developer")
FINGERPRINT = "fp_llmkit"


def _text_of(content, label: str) -> str:
    """Message content as text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or "type" not in part:
                raise APIError(400, f"Invalid '{label}[{j}]': each content part must be an object with a 'type'.",
                               param=f"{label}[{j}]", code="invalid_type")
            if part["type"] in ("text", "input_text"):
                if not isinstance(part.get("text"), str):
                    raise APIError(400, f"Invalid '{label}[{j}].text': expected a string.",
                                   param=f"{label}[{j}].text", code="invalid_type")
                out.append(part["text"])
            elif part["type"] in ("image_url", "input_image", "input_audio", "file"):
                out.append(f"[{part['type'].replace('_', ' ')} attached]")
        return "\n".join(out)
    raise APIError(400, f"Invalid type for '{label}': expected a string or an array of content parts.",
                   param=label, code="invalid_type")


def _assistant_calls(m: dict, label: str) -> list[dict]:
    """An assistant turn's `tool_calls` (or legacy `function_call`) as neutral calls."""
    out = []
    calls = field(m, "tool_calls", list, None, label=f"{label}.tool_calls")
    for j, c in enumerate(calls or []):
        where = f"{label}.tool_calls[{j}]"
        if not isinstance(c, dict):
            raise APIError(400, f"Invalid type for '{where}': expected an object.", param=where, code="invalid_type")
        cid = field(c, "id", str, required=True, label=f"{where}.id")
        field(c, "type", str, "function", label=f"{where}.type", choices=("function",))
        fn = field(c, "function", dict, required=True, label=f"{where}.function")
        name = field(fn, "name", str, required=True, label=f"{where}.function.name")
        args = tools.parse_arguments(fn.get("arguments"), f"{where}.function.arguments", tools.openai_error)
        out.append({"id": cid, "name": name, "arguments": args})
    legacy = field(m, "function_call", dict, None, label=f"{label}.function_call")
    if legacy is not None and not out:
        name = field(legacy, "name", str, required=True, label=f"{label}.function_call.name")
        args = tools.parse_arguments(legacy.get("arguments"), f"{label}.function_call.arguments", tools.openai_error)
        out.append({"id": f"call_legacy_{label}", "name": name, "arguments": args})
    return out


def chat_messages(body: dict) -> list[dict]:
    """`messages` as the engine's neutral turns: tool calls kept as calls, tool results as `tool`
    turns tied to their call (OpenAI's own checks: a `tool` message answers a call of the turn
    before, and every call is answered before the conversation goes on)."""
    msgs = field(body, "messages", list, required=True)
    if not msgs:
        raise APIError(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                            "empty array instead.", param="messages", code="empty_array")
    out = []
    pending: dict[str, str] = {}  # call id -> label of the assistant turn that made it, not yet answered
    last_legacy: str | None = None
    for i, m in enumerate(msgs):
        label = f"messages[{i}]"
        role = message(m, label, ROLES)
        if "content" not in m and role != "assistant":
            raise APIError(400, f"Missing required parameter: '{label}.content'.", param=f"{label}.content",
                           code="missing_required_parameter")
        text = _text_of(m.get("content"), f"{label}.content")
        if role == "tool":
            cid = field(m, "tool_call_id", str, required=True, label=f"{label}.tool_call_id")
            if cid not in pending:
                raise APIError(400, f"Invalid parameter: messages with role 'tool' must be a response to a preceding "
                                    f"message with 'tool_calls' ('{label}.tool_call_id' is {cid!r}, which no earlier "
                                    "call has that is not answered yet).", param=f"{label}.tool_call_id",
                               code="invalid_value")
            pending.pop(cid)
            out.append({"role": "tool", "tool_call_id": cid, "name": None, "content": text})
            continue
        if role == "function":  # legacy: answers the last function_call, by name
            name = field(m, "name", str, required=True, label=f"{label}.name")
            if last_legacy is not None:
                pending.pop(last_legacy, None)
            out.append({"role": "tool", "tool_call_id": last_legacy or "", "name": name, "content": text})
            last_legacy = None
            continue
        if pending:
            ids = ", ".join(pending)
            raise APIError(400, f"An assistant message with 'tool_calls' must be followed by tool messages responding "
                                f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                                f"{ids}", param=f"{label}.role", code="invalid_value")
        turn = {"role": "system" if role == "developer" else role, "content": text}
        if role == "assistant":
            calls = _assistant_calls(m, label)
            if calls:
                turn = {"role": "assistant", "content": text or None, "tool_calls": calls}
                if "function_call" in m and not m.get("tool_calls"):
                    last_legacy = calls[0]["id"]
                else:
                    pending.update((c["id"], label) for c in calls)
        out.append(turn)
    return tools.fill_names(out)


# -- tools ------------------------------------------------------------------------------------------
def _tool_rename(neutral: str) -> str:
    """The engine's field names as chat completions spells them."""
    return re.sub(r"^tools\[(\d+)\]\.(name|description|parameters)", r"tools[\1].function.\2", neutral)


def _function_spec(fn, label: str) -> ToolSpec:
    if not isinstance(fn, dict):
        raise APIError(400, f"Invalid type for '{label}': expected an object.", param=label, code="invalid_type")
    name = field(fn, "name", str, required=True, label=f"{label}.name")
    description = field(fn, "description", str, "", label=f"{label}.description") or ""
    params = field(fn, "parameters", dict, None, label=f"{label}.parameters")
    field(fn, "strict", bool, None, label=f"{label}.strict")
    return ToolSpec(name, description, params if params is not None else {"type": "object", "properties": {}})


async def chat_tools(body: dict) -> tuple[list[ToolSpec] | None, str | dict, bool]:
    """`tools` + `tool_choice` (or the legacy `functions` + `function_call`) as the engine's
    (tools, choice), checked; the bool says the legacy fields were used."""
    legacy = body.get("tools") is None and body.get("functions") is not None
    name, choice_name = ("functions", "function_call") if legacy else ("tools", "tool_choice")
    raw = field(body, name, list, None)
    if raw is not None and not raw:
        raise APIError(400, f"Invalid '{name}': empty array. Expected an array with minimum length 1, but got an "
                            "empty array instead.", param=name, code="empty_array")
    specs = None
    if raw is not None:
        specs = []
        for i, t in enumerate(raw):
            label = f"{name}[{i}]"
            if legacy:
                specs.append(_function_spec(t, label))
                continue
            if not isinstance(t, dict):
                raise APIError(400, f"Invalid type for '{label}': expected an object.", param=label,
                               code="invalid_type")
            kind = field(t, "type", str, required=True, label=f"{label}.type")
            if kind != "function":
                raise APIError(400, f"Invalid value for '{label}.type': {kind!r}. The offline gateway supports "
                                    "'function' tools only.", param=f"{label}.type", code="invalid_value")
            specs.append(_function_spec(field(t, "function", dict, required=True, label=f"{label}.function"),
                                        f"{label}.function"))
    field(body, "parallel_tool_calls", bool, None)
    choice = body.get(choice_name)
    if choice is None:
        choice = "auto"
    elif specs is None:
        raise APIError(400, f"Invalid value for '{choice_name}': '{choice_name}' is only allowed when '{name}' are "
                            "specified.", param=choice_name, code="invalid_value")
    elif isinstance(choice, str):
        field(body, choice_name, str, choices=("none", "auto") if legacy else ("none", "auto", "required"))
    elif isinstance(choice, dict):
        choice, specs = _named_choice(choice, choice_name, legacy, specs)
    else:
        raise APIError(400, f"Invalid type for '{choice_name}': expected a string or an object.", param=choice_name,
                       code="invalid_type")

    def rename(neutral: str) -> str:
        out = _tool_rename(neutral)
        return out.replace("tools[", "functions[").replace("function.", "") if legacy else out

    def error(param: str, message: str) -> APIError:
        if param == "tool_choice":
            param = choice_name
        return tools.openai_error(param, message)

    await tools.check(specs, choice, rename, error)
    return specs, choice, legacy


def _named_choice(choice: dict, label: str, legacy: bool, specs: list[ToolSpec]):
    """{"type": "function", "function": {"name"}} (legacy: {"name"}), or {"type": "allowed_tools",
    "allowed_tools": {"mode", "tools"}}: the engine's choice, and the tools it may pick from."""
    if legacy:
        return {"name": field(choice, "name", str, required=True, label=f"{label}.name")}, specs
    kind = field(choice, "type", str, required=True, label=f"{label}.type", choices=("function", "allowed_tools"))
    if kind == "function":
        fn = field(choice, "function", dict, required=True, label=f"{label}.function")
        return {"name": field(fn, "name", str, required=True, label=f"{label}.function.name")}, specs
    allowed = field(choice, "allowed_tools", dict, required=True, label=f"{label}.allowed_tools")
    mode = field(allowed, "mode", str, required=True, label=f"{label}.allowed_tools.mode", choices=("auto", "required"))
    names = []
    for j, t in enumerate(field(allowed, "tools", list, required=True, label=f"{label}.allowed_tools.tools")):
        where = f"{label}.allowed_tools.tools[{j}]"
        fn = field(t, "function", dict, required=True, label=f"{where}.function") if isinstance(t, dict) else None
        if fn is None:
            raise APIError(400, f"Invalid type for '{where}': expected an object.", param=where, code="invalid_type")
        name = field(fn, "name", str, required=True, label=f"{where}.function.name")
        if name not in {s.name for s in specs}:
            raise APIError(400, f"Invalid value for '{where}.function.name': no tool named {name!r} in 'tools'.",
                           param=f"{where}.function.name", code="invalid_value")
        names.append(name)
    return mode, [s for s in specs if s.name in names]


def _calls_json(c) -> list[dict]:
    """A finished choice's calls with their arguments as the JSON text the model wrote (the last
    one cut short when max_tokens ended the reply, as OpenAI returns it)."""
    return [{"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in tools.replay(c.tokens, c.gen)]


def sampling(body: dict, *, max_name: str = "max_tokens") -> SamplingParams:
    nums = sampling_numbers(body)
    max_tokens = field(body, max_name, int, None, minimum=1)
    if max_name == "max_tokens" and max_tokens is None:
        max_tokens = field(body, "max_completion_tokens", int, None, minimum=1)
    for name in ("presence_penalty", "frequency_penalty"):
        field(body, name, float, None, minimum=-2, maximum=2)
    seed = field(body, "seed", int, None)
    schema, json_object = response_format(body)
    logprobs = None
    if field(body, "logprobs", (bool, int), False):
        logprobs = field(body, "top_logprobs", int, 0, minimum=0, maximum=20) or 0
    elif body.get("top_logprobs") is not None:
        raise APIError(400, "Invalid 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used.",
                       param="top_logprobs", code="invalid_value")
    t = nums["temperature"]
    return SamplingParams(max_tokens=max_tokens, temperature=1.0 if t is None else t,
                          top_p=1.0 if nums["top_p"] is None else nums["top_p"], seed=seed,
                          stop=stop_list(body.get("stop")), json_schema=schema, json_object=json_object,
                          logprobs=logprobs)


def response_format(body: dict) -> tuple[dict | None, bool]:
    """`response_format` -> (JSON schema, any-JSON-object): {"type": "json_schema", "json_schema":
    {"name", "schema", "strict"}} (what `chat.completions.parse` sends for a pydantic model), or
    {"type": "json_object"}, or {"type": "text"}. The reply then follows the schema token by token."""
    fmt = field(body, "response_format", dict, None)
    if fmt is None:
        return None, False
    kind = field(fmt, "type", str, required=True, choices=("text", "json_object", "json_schema"),
                 label="response_format.type")
    if kind != "json_schema":
        return None, kind == "json_object"
    spec = field(fmt, "json_schema", dict, required=True, label="response_format.json_schema")
    name = field(spec, "name", str, required=True, label="response_format.json_schema.name")
    if not tools.NAME.match(name):
        raise APIError(400, "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a "
                            "string of 1 to 64 letters, digits, underscores or dashes (^[a-zA-Z0-9_-]{1,64}$).",
                       param="response_format.json_schema.name", code="invalid_value")
    field(spec, "strict", bool, None, label="response_format.json_schema.strict")
    if spec.get("schema") is None:
        return None, True  # a name and no schema: any JSON object
    return json_schema(spec["schema"], "response_format.json_schema.schema"), False


def _usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _logprob_entry(t: Token) -> dict:
    return {"token": t.text, "logprob": t.logprob, "bytes": list(t.text.encode()),
            "top_logprobs": [{"token": s, "logprob": lp, "bytes": list(s.encode())} for s, lp in (t.top or [])]}


def _common(body: dict) -> tuple[str, int, bool, bool]:
    model = models.require(field(body, "model", str, required=True))
    n = field(body, "n", int, 1, minimum=1, maximum=16)
    stream = field(body, "stream", bool, False)
    opts = field(body, "stream_options", dict, None)
    include_usage = False
    if opts is not None:
        if not stream:
            raise APIError(400, "Invalid 'stream_options': only allowed when 'stream' is true.",
                           param="stream_options", code="invalid_value")
        include_usage = field(opts, "include_usage", bool, False, label="stream_options.include_usage")
    return model, n, stream, include_usage


def refuse_reasoning(body: dict) -> None:
    """The offline model has no thinking phase: a `reasoning_effort` that asks for one is the
    400 OpenAI gives a model that cannot reason ("none"/"minimal" are accepted)."""
    effort = field(body, "reasoning_effort", str, None,
                   choices=("none", "minimal", "low", "medium", "high", "xhigh", "default"))
    if effort not in (None, "none", "minimal"):
        raise APIError(400, "Unsupported parameter: 'reasoning_effort' is not supported with this model: the offline "
                            "model answering for it has no thinking phase (use 'none' or leave it out).",
                       param="reasoning_effort", code="unsupported_parameter")


def stream_error(e: Exception) -> list[bytes]:
    """A failure after the headers went out ends the stream with an `error` event, as OpenAI
    does (the SDK raises it as an APIError), instead of a torn connection."""
    return [sse({"error": {"message": failure(e), "type": "server_error", "param": None, "code": None}})]


GEMINI_COMPAT = "/v1beta/openai"  # Gemini's OpenAI-compatible endpoints


def _is_groq(request: Request) -> bool:
    return request.url.path.startswith("/openai/")


def _groq_extra(rid: str, gen, t0: float, t_first: float | None, seed: int | None) -> dict:
    """Groq's `x_groq` on a stream's final chunk: its request id and the usage, timed here."""
    end = time.perf_counter()
    first = t_first or end
    usage = {**_usage(gen.prompt_tokens, gen.completion_tokens), "queue_time": 0.0,
             "prompt_time": round(first - t0, 6), "completion_time": round(end - first, 6),
             "total_time": round(end - t0, 6)}
    out = {"id": rid, "usage": usage}
    if seed is not None:
        out["seed"] = seed
    return out


def _tool_delta(ev: tuple, legacy: bool) -> dict:
    """One streamed tool-call step as OpenAI's delta: the call's start (index, id, type, name,
    arguments "") or an arguments fragment (index only)."""
    call = ev[1]
    if legacy:
        fn = {"name": call.name, "arguments": ""} if ev[0] == "start" else {"arguments": ev[2]}
        return {"function_call": fn}
    if ev[0] == "start":
        return {"tool_calls": [{"index": call.index, "id": call.id, "type": "function",
                                "function": {"name": call.name, "arguments": ""}}]}
    return {"tool_calls": [{"index": call.index, "function": {"arguments": ev[2]}}]}


def _finish(reason: str | None, legacy: bool) -> str | None:
    return "function_call" if legacy and reason == "tool_calls" else reason


@router.post("/v1/chat/completions")
@router.post("/openai/v1/chat/completions")
@router.post(GEMINI_COMPAT + "/chat/completions")
async def chat_completions(request: Request):
    body = await json_body(request)
    model, n, stream, include_usage = _common(body)
    messages = chat_messages(body)
    params = sampling(body)
    refuse_reasoning(body)
    params.tools, params.tool_choice, legacy = await chat_tools(body)
    tools.set_parallel(params, body.get("parallel_tool_calls"))
    req = ChatRequest(model, messages, params, n=n, stream=stream, asked=body)
    engine = engine_of(request)
    cid = "chatcmpl-" + uuid.uuid4().hex[:24]
    created = now()
    want_logprobs = params.logprobs is not None
    if stream:
        t0 = time.perf_counter()
        run_ = await start(engine, req)
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": FINGERPRINT}
        groq_id = "req_" + uuid.uuid4().hex[:26] if _is_groq(request) else None
        # with tools, the first delta waits for the first token: a reply of calls opens with content null
        defer = bool(params.tools)

        def chunk(choices, usage=None, x_groq=None):
            d = {**base, "choices": choices}
            if include_usage:
                d["usage"] = usage
            if x_groq is not None:
                d["x_groq"] = x_groq
            return sse(d)

        def first(i: int, delta: dict):  # the role's delta; Groq: its request id comes first
            return chunk([{"index": i, "delta": {"role": "assistant", **delta, "refusal": None}, "logprobs": None,
                           "finish_reason": None}], x_groq={"id": groq_id} if groq_id and i == 0 else None)

        async def events():
            t_first, calls, opened = None, tools.Calls(), False
            async for p in run_.events():
                if p.kind == "start":
                    calls, opened = tools.Calls(), not defer
                    if opened:
                        yield first(p.index, {"content": ""})
                elif p.kind == "token":
                    t_first = t_first or time.perf_counter()
                    if p.token.tool_call is not None:
                        for ev in calls.feed(p.token):
                            if legacy and ev[1].index > 0:
                                continue  # the legacy API has one call per reply
                            delta = _tool_delta(ev, legacy)
                            if not opened:
                                opened = True
                                yield first(p.index, {"content": None, **delta})
                            else:
                                yield chunk([{"index": p.index, "delta": delta, "logprobs": None,
                                              "finish_reason": None}])
                        continue
                    if not opened:
                        opened = True
                        yield first(p.index, {"content": ""})
                    lp = {"content": [_logprob_entry(p.token)], "refusal": None} if want_logprobs else None
                    yield chunk([{"index": p.index, "delta": {"content": p.token.text}, "logprobs": lp,
                                  "finish_reason": None}])
                else:
                    if not opened:
                        yield first(p.index, {"content": ""})
                    last = groq_id and p.index == req.n - 1  # Groq: the final chunk carries x_groq.usage
                    yield chunk([{"index": p.index, "delta": {}, "logprobs": None,
                                  "finish_reason": _finish(p.gen.finish_reason, legacy)}],
                                x_groq=_groq_extra(groq_id, run_, t0, t_first, params.seed) if last else None)
            if include_usage:
                yield chunk([], _usage(run_.prompt_tokens, run_.completion_tokens))
            yield DONE

        return sse_response(guard(events(), stream_error))
    result = await complete(engine, req)
    choices = []
    for c in result.choices:
        lp = {"content": [_logprob_entry(t) for t in c.tokens if t.tool_call is None], "refusal": None} \
            if want_logprobs else None
        msg = {"role": "assistant", "content": c.text, "refusal": None, "annotations": []}
        calls = _calls_json(c)
        if calls:
            msg["content"] = c.text or None
            if legacy:
                msg["function_call"] = calls[0]["function"]
            else:
                msg["tool_calls"] = calls
        choices.append({"index": c.index, "message": msg, "logprobs": lp,
                        "finish_reason": _finish(c.gen.finish_reason, legacy)})
    return JSONResponse({"id": cid, "object": "chat.completion", "created": created, "model": model,
                         "choices": choices, "usage": _usage(result.prompt_tokens, result.completion_tokens),
                         "service_tier": "default", "system_fingerprint": FINGERPRINT})


@router.post("/v1/completions")
@router.post("/openai/v1/completions")
async def completions(request: Request):
    body = await json_body(request)
    model, n, stream, include_usage = _common(body)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise APIError(400, "Invalid 'prompt': expected a string (or an array holding one string).",
                       param="prompt", code="invalid_type")
    params = sampling(body)
    if params.max_tokens is None:
        params.max_tokens = 16  # the legacy endpoint's documented default
    req = ChatRequest(model, [{"role": "user", "content": prompt}], params, n=n, stream=stream, asked=body)
    engine = engine_of(request)
    cid = "cmpl-" + uuid.uuid4().hex[:24]
    created = now()

    def piece(choices: list[dict], **extra) -> dict:
        return {"id": cid, "object": "text_completion", "created": created, "model": model, "choices": choices,
                **extra}

    if stream:
        run_ = await start(engine, req)

        async def events():
            async for p in run_.events():
                if p.kind == "start":
                    continue
                text, finish = (p.token.text, None) if p.kind == "token" else ("", p.gen.finish_reason)
                yield sse(piece([{"text": text, "index": p.index, "logprobs": None, "finish_reason": finish}]))
            if include_usage:
                yield sse(piece([], usage=_usage(run_.prompt_tokens, run_.completion_tokens)))
            yield DONE

        return sse_response(guard(events(), stream_error))
    result = await complete(engine, req)
    choices = [{"text": c.text, "index": c.index, "logprobs": None, "finish_reason": c.gen.finish_reason}
               for c in result.choices]
    return JSONResponse(piece(choices, usage=_usage(result.prompt_tokens, result.completion_tokens),
                              system_fingerprint=FINGERPRINT))


def embedding_inputs(value, engine, label: str = "input") -> list[str]:
    """A string, an array of strings, or token arrays (decoded with the model's tokenizer)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise APIError(400, f"Invalid '{label}': expected a non-empty string or array.", param=label,
                       code="invalid_value")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        value = [value]
    embed_count(len(value), label)
    out = []
    for i, v in enumerate(value):
        if isinstance(v, str):
            if not v:
                raise APIError(400, f"Invalid '{label}[{i}]': the input must not be an empty string.",
                               param=label, code="invalid_value")
            out.append(v)
        elif isinstance(v, list) and v and all(isinstance(t, int) and not isinstance(t, bool) for t in v):
            try:
                out.append(engine.decode(v))
            except Exception:
                raise APIError(400, f"Invalid '{label}[{i}]': token ids must be below the model's vocabulary size.",
                               param=label, code="invalid_value") from None
        else:
            raise APIError(400, f"Invalid type for '{label}[{i}]': expected a string or an array of token ids.",
                           param=label, code="invalid_type")
    return out


@router.post("/v1/embeddings")
@router.post("/openai/v1/embeddings")
@router.post(GEMINI_COMPAT + "/embeddings")
async def embeddings(request: Request):
    body = await json_body(request)
    model = models.require(field(body, "model", str, required=True))
    engine = engine_of(request)
    fmt = field(body, "encoding_format", str, "float", choices=("float", "base64"))
    dims = field(body, "dimensions", int, None, minimum=1)
    texts = await off_loop(embedding_inputs, body.get("input"), engine)  # token arrays are decoded
    try:
        vecs = await embed(engine, texts, dims)
    except ValueError as e:
        raise APIError(400, f"Invalid 'dimensions': {e}.", param="dimensions", code="invalid_value") from None
    data = []
    for i, v in enumerate(vecs):
        emb = base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode() if fmt == "base64" else v.tolist()
        data.append({"object": "embedding", "index": i, "embedding": emb})
    used = sum(await count_texts(engine, texts))
    return JSONResponse({"object": "list", "data": data, "model": model,
                         "usage": {"prompt_tokens": used, "total_tokens": used}})


async def list_models(request: Request):
    data = models.openai_list(engine_of(request).context_length)
    if request.url.path.startswith(GEMINI_COMPAT):  # Gemini's own models, named as Gemini names them
        data = [{**m, "id": "models/" + m["id"], "owned_by": "google"} for m in data if m["owned_by"] == "gemini"]
    return JSONResponse({"object": "list", "data": data})


async def get_model(request: Request, model: str):
    models.require(model)
    return JSONResponse(models.openai_entry(model, engine_of(request).context_length))

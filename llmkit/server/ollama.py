"""Ollama's inference API (/api/chat, /api/generate, /api/embed, /api/embeddings), as the
official `ollama` Python SDK calls it. Its model management is ollama_models.py, what both
say about model names is ollama_names.py, Modelfiles and options are modelfile.py.

/api/chat and /api/generate stream NDJSON by default (one JSON object per line, the last
with `done: true`, `done_reason` and real timings in nanoseconds); `stream: false` gives
one object. Errors are `{"error": "..."}` with Ollama's status and wording (`model 'x' not
found` is a 404), or that line mid-stream.

Tools: /api/chat's `tools` (type function: name, description, parameters) go to the engine
(Ollama has no tool_choice: the model decides); a reply that calls them has
`message.tool_calls` ([{"id", "function": {"index", "name", "arguments": {...}}}], arguments
an object) and content "", each call sent whole in one streamed line, as Ollama does. Earlier
calls come back as assistant `tool_calls` and their results as role `tool` messages
(`tool_name`, or `tool_call_id`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from datetime import timedelta

from fastapi import APIRouter, Request

from ..engine import Generation, SamplingParams, Token
from ..engine.base import ToolSpec
from . import modelfile, models, ollama_names as names, tools
from .common import count_texts, embed as embed_texts, engine_of, text_limit
from .errors import APIError
from .framing import ndjson, ndjson_response
from .run import ChatRequest, complete, guard, start
from .validate import embed_count, field, json_body, json_schema, message

router = APIRouter()
ROLES = ("system", "user", "assistant", "tool")
DEFAULTS = SamplingParams(temperature=0.8, top_p=0.9, top_k=40, repeat_penalty=1.1)  # Ollama's own defaults


# -- small helpers ---------------------------------------------------------------------
def _ns(since: int) -> int:
    return max(1, time.perf_counter_ns() - since)


MAX_KEEP_ALIVE = 100 * 365 * 86400  # seconds; longer is "forever", as a negative value is


def _keep_alive(body: dict) -> timedelta | None:
    """Ollama's keep_alive: seconds, or a Go duration ("5m", "1h30m"); negative = forever (None).
    Durations past MAX_KEEP_ALIVE also mean forever (no overflow, whatever the number)."""
    value = body.get("keep_alive")
    if value is None:
        return timedelta(minutes=5)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise APIError(400, f"Invalid 'keep_alive': {json.dumps(value)} is not a finite number.",
                           param="keep_alive", code="invalid_value")
        secs = float(min(max(value, -1), MAX_KEEP_ALIVE + 1))
    elif isinstance(value, str) and re.fullmatch(r"-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+|-?\d+(\.\d+)?", value.strip()):
        v = value.strip()
        sign = -1 if v.startswith("-") else 1
        units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
        parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)?", v.lstrip("-"))
        secs = sign * sum(float(n) * units.get(u or "s", 1) for n, u in parts)
        if not math.isfinite(secs):
            secs = sign * (MAX_KEEP_ALIVE + 1)
    else:
        raise APIError(400, f"Invalid 'keep_alive': time: invalid duration {json.dumps(value)} "
                            "(use seconds or a duration such as \"5m\").", param="keep_alive", code="invalid_value")
    return None if secs < 0 or secs > MAX_KEEP_ALIVE else timedelta(seconds=secs)


def _format(body: dict, params: SamplingParams) -> None:
    """format: "json" -> any JSON object; a JSON schema object (the SDK's `format=Model.model_json_schema()`)
    -> the reply follows it token by token; "" or absent -> plain text."""
    fmt = body.get("format")
    if fmt in (None, ""):
        return
    if fmt == "json":
        params.json_object = True
        return
    if isinstance(fmt, dict):  # what Ollama's grammar cannot follow it ignores (a pydantic set's uniqueItems)
        params.json_schema = json_schema(fmt, "format", lenient=True)
        return
    raise APIError(400, f"Invalid 'format': {json.dumps(fmt)}; expected \"json\" or a JSON schema object.",
                   param="format", code="invalid_value")


def _images(value, label: str) -> str:
    """Images are accepted (base64 strings); the text-only offline model is told one was attached."""
    if value is None:
        return ""
    if not isinstance(value, list):
        raise APIError(400, f"Invalid type for '{label}': expected an array of base64 strings.", param=label,
                       code="invalid_type")
    for i, img in enumerate(value):
        try:
            if not isinstance(img, str):
                raise ValueError
            base64.b64decode(img, validate=True)
        except (ValueError, binascii.Error):
            raise APIError(400, f"Invalid '{label}[{i}]': expected base64-encoded image data.",
                           param=f"{label}[{i}]", code="invalid_value") from None
    return "".join("\n[image attached]" for _ in value)


def _common(body: dict) -> tuple[bool, timedelta | None, dict]:
    """stream (default true), keep_alive, and the request's own options."""
    stream = field(body, "stream", bool, True)
    keep = _keep_alive(body)
    think = body.get("think")
    if think is not None and not isinstance(think, bool) and think not in ("high", "medium", "low"):
        raise APIError(400, f"Invalid 'think': {json.dumps(think)}; expected true, false, \"high\", \"medium\" "
                            "or \"low\".", param="think", code="invalid_value")
    return stream, keep, modelfile.options(body)


def _refuse_thinking(body: dict, model: str) -> None:
    """think=true (or a level) for a model whose capabilities lack "thinking" is Ollama's 400."""
    if body.get("think") not in (None, False) and "thinking" not in names.capabilities(model):
        raise APIError(400, f'"{model}" does not support thinking', param="think", code="invalid_value")


def _sampling(body: dict, opts: dict) -> SamplingParams:
    """Ollama's defaults under the request's options, format and logprobs (a created
    model's parameters are applied by run.py where the request set nothing)."""
    params = models.to_sampling(opts, DEFAULTS)
    _format(body, params)
    if field(body, "logprobs", bool, False):
        params.logprobs = field(body, "top_logprobs", int, 0, minimum=0, maximum=20)
    return params


def _logprobs(toks: list[Token]) -> list[dict]:
    return [{"token": t.text, "logprob": t.logprob,
             "top_logprobs": [{"token": s, "logprob": lp} for s, lp in (t.top or [])]} for t in toks]


def _stats(gen: Generation, t0: int, t_loaded: int, t_first: int | None, t_end: int) -> dict:
    """The final line's numbers, in nanoseconds, measured on this request."""
    first = t_first or t_end
    reason = "stop" if gen.finish_reason in (None, "tool_calls") else gen.finish_reason  # Ollama: calls end "stop"
    return {"done_reason": reason, "total_duration": max(1, t_end - t0),
            "load_duration": max(1, t_loaded - t0), "prompt_eval_count": gen.prompt_tokens,
            "prompt_eval_duration": max(1, first - t_loaded), "eval_count": gen.completion_tokens,
            "eval_duration": max(1, t_end - first)}


async def _answer(request: Request, req: ChatRequest, kind: str, t0: int, t_loaded: int, extra=None):
    """Run the request and reply as chat ("message") or generate ("response") lines;
    `extra(messages as run, reply text)` adds fields to the last one."""
    engine = engine_of(request)
    want_logprobs = req.params.logprobs is not None

    def piece(text: str, calls: list | None = None) -> dict:
        if kind != "chat":
            return {"response": text}
        msg = {"role": "assistant", "content": text}
        if calls:
            msg["tool_calls"] = [{"id": c.id, "function": {"index": c.index, "name": c.name,
                                                           "arguments": tools.partial_object(c.arguments)}}
                                 for c in calls]
        return {"message": msg}

    if not req.stream:
        result = await complete(engine, req, timed=True)
        c = result.choices[0]
        calls = tools.replay(c.tokens, c.gen)[:len(c.tool_calls)]  # a call cut short is left out
        data = {"model": req.model, "created_at": names.stamp(), **piece(c.text, calls), "done": True,
                **_stats(c.gen, t0, t_loaded, c.first_ns, time.perf_counter_ns())}
        if want_logprobs:
            data["logprobs"] = _logprobs(c.tokens)
        if extra:
            data.update(extra(result.req.messages, c.text))
        return names.reply(data)

    run_ = await start(engine, req)  # prompt errors become a 4xx before any line is sent

    async def lines():
        t_first, text, calls = None, [], tools.Calls()
        async for p in run_.events():
            if p.kind == "token" and p.token.tool_call is not None:  # each call is sent whole once complete
                t_first = t_first or time.perf_counter_ns()
                for ev in calls.feed(p.token):
                    if ev[0] == "start" and ev[1].index > 0:
                        yield ndjson({"model": req.model, "created_at": names.stamp(),
                                      **piece("", [calls.calls[ev[1].index - 1]]), "done": False})
            elif p.kind == "token":
                t_first = t_first or time.perf_counter_ns()
                text.append(p.token.text)
                line = {"model": req.model, "created_at": names.stamp(), **piece(p.token.text), "done": False}
                if want_logprobs:
                    line["logprobs"] = _logprobs([p.token])
                yield ndjson(line)
            elif p.kind == "end":
                if calls.calls and calls.calls[-1].index < len(getattr(p.gen, "tool_calls", None) or []):
                    yield ndjson({"model": req.model, "created_at": names.stamp(), **piece("", [calls.calls[-1]]),
                                  "done": False})
                final = {"model": req.model, "created_at": names.stamp(), **piece(""), "done": True,
                         **_stats(p.gen, t0, t_loaded, t_first, time.perf_counter_ns())}
                if extra:
                    final.update(extra(run_.req.messages, "".join(text)))
                yield ndjson(final)

    # mid-stream: Ollama sends the error as a line
    return ndjson_response(guard(lines(), lambda e: [ndjson({"error": str(e) or type(e).__name__})]))


# -- inference -------------------------------------------------------------------------
def chat_messages(body: dict) -> list[dict]:
    """`messages` as neutral turns: an assistant's `tool_calls` as calls, a `tool` message as the
    result of the call it names (`tool_call_id`, else the first unanswered call of `tool_name`)."""
    msgs = field(body, "messages", list, [])
    out = []
    open_calls: list[dict] = []
    for i, m in enumerate(msgs):
        label = f"messages[{i}]"
        role = message(m, label, ROLES)
        content = field(m, "content", str, "", label=f"{label}.content") or ""
        content += _images(m.get("images"), f"{label}.images")
        turn = {"role": role, "content": content}
        if role == "assistant" and m.get("tool_calls") is not None:
            calls = []
            for j, c in enumerate(field(m, "tool_calls", list, [], label=f"{label}.tool_calls")):
                where = f"{label}.tool_calls[{j}]"
                fn = field(c, "function", dict, required=True, label=f"{where}.function") if isinstance(c, dict) \
                    else None
                if fn is None:
                    raise APIError(400, f"Invalid '{where}': expected an object with a 'function'.", param=where,
                                   code="invalid_type")
                name = field(fn, "name", str, required=True, label=f"{where}.function.name")
                args = tools.parse_arguments(fn.get("arguments"), f"{where}.function.arguments", tools.openai_error)
                calls.append({"id": field(c, "id", str, None, label=f"{where}.id") or f"call_{i}_{j}",
                              "name": name, "arguments": args})
            if calls:
                turn = {"role": "assistant", "content": content or None, "tool_calls": calls}
                open_calls = list(calls)
        elif role == "tool":
            cid = field(m, "tool_call_id", str, None, label=f"{label}.tool_call_id")
            name = field(m, "tool_name", str, None, label=f"{label}.tool_name") or \
                field(m, "name", str, None, label=f"{label}.name")
            match = next((c for c in open_calls if cid and c["id"] == cid), None) or \
                next((c for c in open_calls if name and c["name"] == name), None) or \
                (open_calls[0] if open_calls and not cid and not name else None)
            if match is not None:
                open_calls.remove(match)
            turn = {"role": "tool", "tool_call_id": match["id"] if match else (cid or ""),
                    "name": name or (match["name"] if match else ""), "content": content}
        out.append(turn)
    return out


async def _tools(body: dict, model: str) -> list[ToolSpec] | None:
    """`tools` ([{"type": "function", "function": {name, description, parameters}}]) as the engine's."""
    raw = field(body, "tools", list, None)
    if not raw:
        return None
    if "tools" not in names.capabilities(model):
        raise APIError(400, f"registry.ollama.ai/library/{names.display(model)} does not support tools", param="tools",
                       code="invalid_value")
    specs = []
    for i, t in enumerate(raw):
        label = f"tools[{i}]"
        if not isinstance(t, dict):
            raise APIError(400, f"Invalid type for '{label}': expected an object.", param=label, code="invalid_type")
        kind = field(t, "type", str, "function", label=f"{label}.type")
        if kind != "function":
            raise APIError(400, f"Invalid value for '{label}.type': {kind!r}; Ollama tools are of type 'function'.",
                           param=f"{label}.type", code="invalid_value")
        fn = field(t, "function", dict, required=True, label=f"{label}.function")
        name = field(fn, "name", str, required=True, label=f"{label}.function.name")
        desc = field(fn, "description", str, "", label=f"{label}.function.description") or ""
        params = field(fn, "parameters", dict, None, label=f"{label}.function.parameters")
        specs.append(ToolSpec(name, desc, _clean_schema(params) if params else {"type": "object", "properties": {}}))

    def rename(neutral: str) -> str:
        return re.sub(r"^tools\[(\d+)\]\.(name|description|parameters)", r"tools[\1].function.\2", neutral)

    await tools.check(specs, "auto", rename, tools.openai_error)
    return specs


def _clean_schema(node):
    """The SDK's Tool model dumps unset fields as null (`"items": null`, `"defs": null`); a JSON
    schema has no null keywords, so those are dropped."""
    if isinstance(node, list):
        return [_clean_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    return {("$defs" if k == "defs" else k): _clean_schema(v) for k, v in node.items() if v is not None}


@router.post("/api/chat")
async def chat(request: Request):
    t0 = time.perf_counter_ns()
    body = await json_body(request)
    model = names.served(body)
    stream, keep, opts = _common(body)
    _refuse_thinking(body, model)
    messages = chat_messages(body)
    params = _sampling(body, opts)
    params.tools = await _tools(body, model)
    engine_of(request)  # the engine is loaded once per process; this is the "load" Ollama times
    t_loaded = time.perf_counter_ns()
    names.touch(request, model, keep)
    if not messages:  # Ollama: an empty conversation loads (or, with keep_alive 0, unloads) the model
        reason = "unload" if keep is not None and not keep.total_seconds() else "load"
        return names.reply({"model": model, "created_at": names.stamp(), "message": {"role": "assistant", "content": ""},
                      "done_reason": reason, "done": True})
    return await _answer(request, ChatRequest(model, messages, params, stream=stream, asked=opts), "chat", t0,
                         t_loaded)


def _render_template(tmpl: str, system: str, prompt: str) -> str:
    """The parts of Go's text/template that prompt templates use: {{ if .X }}…{{ end }}, {{ .System }}, {{ .Prompt }}."""
    values = {"System": system, "Prompt": prompt, "Response": ""}
    tag = r"\{\{-?\s*%s\s*-?\}\}"
    out = re.sub(tag % r"if\s+\.(\w+)" + r"(.*?)" + tag % "end",
                 lambda m: m.group(2) if values.get(m.group(1)) else "", tmpl, flags=re.S)
    out = re.sub(tag % r"\.(\w+)", lambda m: values.get(m.group(1), ""), out)
    return re.sub(r"\{\{.*?\}\}", "", out, flags=re.S)


def _context_messages(engine, ids: list) -> list[dict]:
    """A `context` array from an earlier reply, back to the turns it encodes."""
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise APIError(400, "Invalid 'context': expected an array of integer token ids.", param="context",
                       code="invalid_type")
    try:
        engine.decode(ids)
    except ValueError as e:
        raise APIError(400, f"Invalid 'context': {e}.", param="context", code="invalid_value") from None
    roles = {v: k.strip("<|>") for k, v in engine.special_tokens.items() if k.strip("<|>") in ROLES}
    out, role, chunk = [], "user", []
    for i in ids + [None]:
        if i is None or i in roles or i == engine.end_token:
            text = engine.decode(chunk) if chunk else ""
            if text.strip():
                out.append({"role": role, "content": text})
            chunk = []
            if i in roles:
                role = roles[i]
        else:
            chunk.append(i)
    return out


def _context_ids(engine, messages: list[dict], reply: str) -> list[int]:
    """The conversation so far, as the engine's tokens: what Ollama returns as `context`."""
    return engine.render_prompt(messages) + engine.encode(reply) + [engine.end_token]


@router.post("/api/generate")
async def generate(request: Request):
    t0 = time.perf_counter_ns()
    body = await json_body(request)
    model = names.served(body)
    stream, keep, opts = _common(body)
    prompt = field(body, "prompt", str, "")
    system = field(body, "system", str, "")
    template = field(body, "template", str, "")
    context = field(body, "context", list, None)
    raw = field(body, "raw", bool, False)
    if field(body, "suffix", str, "") and "insert" not in names.capabilities(model):
        raise APIError(400, f'"{model}" does not support insert', param="suffix", code="invalid_value")
    _refuse_thinking(body, model)
    if raw and (template or system or context):
        raise APIError(400, "raw mode does not support template, system, or context", param="raw")
    images = _images(body.get("images"), "images")
    engine = engine_of(request)
    t_loaded = time.perf_counter_ns()
    names.touch(request, model, keep)
    if not prompt and not images:  # Ollama: an empty prompt loads (or, with keep_alive 0, unloads) the model
        reason = "unload" if keep is not None and not keep.total_seconds() else "load"
        return names.reply({"model": model, "created_at": names.stamp(), "response": "", "done": True, "done_reason": reason})
    earlier = _context_messages(engine, context) if context else []
    user = {"role": "user", "content": prompt + images}
    if raw:
        messages = [user]
    elif template:
        base = models.custom_model(model) or {}
        user["content"] = _render_template(template, system or base.get("system") or "", prompt) + images
        messages = earlier + [user]
    else:
        messages = earlier + [user]
        if system and not any(m["role"] == "system" for m in earlier):
            messages.insert(0, {"role": "system", "content": system})
    params = _sampling(body, opts)

    def with_context(ran: list[dict], reply: str) -> dict:
        return {} if raw else {"context": _context_ids(engine, ran, reply)}

    req = ChatRequest(model, messages, params, stream=stream, asked=opts)
    return await _answer(request, req, "generate", t0, t_loaded, with_context)


@router.post("/api/embed")
async def embed(request: Request):
    t0 = time.perf_counter_ns()
    body = await json_body(request)
    model = names.served(body)
    value = body.get("input")
    texts = [value] if isinstance(value, str) and value else [] if value in (None, "") else value
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise APIError(400, "Invalid 'input': invalid input type; expected a string or an array of strings.",
                       param="input", code="invalid_type")
    embed_count(len(texts))
    truncate = field(body, "truncate", bool, True)
    dims = field(body, "dimensions", int, None, minimum=1)
    modelfile.options(body)
    names.touch(request, model, _keep_alive(body))
    engine = engine_of(request)
    t_loaded = time.perf_counter_ns()
    if not texts:
        return names.reply({"model": model, "embeddings": []})
    limit = text_limit(engine)
    if not truncate and max(len(t) for t in texts) > limit:  # surely too long: no need to tokenize
        raise APIError(400, "Invalid 'input': the input length exceeds the context length "
                            f"(over {limit:,} characters) and truncate is false.", param="input")
    counts = await count_texts(engine, [t[:limit] for t in texts])
    if not truncate and max(counts) > engine.context_length:
        raise APIError(400, f"Invalid 'input': the input length exceeds the context length "
                            f"({max(counts)} > {engine.context_length} tokens) and truncate is false.", param="input")
    try:
        vecs = await embed_texts(engine, texts, dims)
    except ValueError as e:
        raise APIError(400, f"Invalid 'dimensions': {e}.", param="dimensions", code="invalid_value") from None
    return names.reply({"model": model, "embeddings": [v.tolist() for v in vecs], "total_duration": _ns(t0),
                  "load_duration": max(1, t_loaded - t0), "prompt_eval_count": sum(counts)})


@router.post("/api/embeddings")
async def embeddings(request: Request):
    body = await json_body(request)
    model = names.served(body)
    prompt = field(body, "prompt", str, "")
    modelfile.options(body)
    names.touch(request, model, _keep_alive(body))
    if not prompt:
        return names.reply({"embedding": []})
    return names.reply({"embedding": (await embed_texts(engine_of(request), [prompt]))[0].tolist()})

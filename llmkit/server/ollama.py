"""Ollama's REST API (/api/...), as the official `ollama` Python SDK calls it.

Inference: /api/chat and /api/generate stream NDJSON by default (one JSON object per
line, the last with `done: true`, `done_reason` and real timings in nanoseconds);
`stream: false` gives one object. Errors are `{"error": "..."}` with Ollama's status and
wording (`model 'x' not found` is a 404), or that line mid-stream.

Model management: /api/tags, /api/ps, /api/show, /api/version, /api/create, /api/copy,
/api/delete, /api/pull, /api/push, /api/embed and the legacy /api/embeddings. Created
models live in `models.custom` (every protocol answers to them through `models`) and are
saved by `store` so they outlive the process. Nothing is ever downloaded: pulling a name
the gateway serves reports honestly that the offline model already answers for it.
Deleting a built-in name works as in Ollama: it leaves /api/tags (and every route answers
404 for it) in this data folder until /api/pull brings it back (`models.removed`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import time
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .. import catalog
from ..engine import Generation, SamplingParams, Token
from . import models, store
from .common import check_prompt_size, count_texts, embed as embed_texts, engine_of, off_loop, start, text_limit, tokens
from .common import run as run_engine
from .errors import APIError
from .validate import embed_count, field, json_body, json_schema, message, stop_list

router = APIRouter()
VERSION = "0.12.6"  # the Ollama release whose API this adapter follows
NDJSON = "application/x-ndjson"
ROLES = ("system", "user", "assistant", "tool")
DEFAULTS = SamplingParams(temperature=0.8, top_p=0.9, top_k=40, repeat_penalty=1.1)  # Ollama's own defaults
OPTION_KINDS = {"temperature": (float, 0, 2), "top_p": (float, 0, 1), "top_k": (int, 0, None),
                "seed": (int, None, None), "num_predict": (int, -2, None), "repeat_penalty": (float, 0, None),
                "num_ctx": (int, 1, None), "num_keep": (int, None, None), "repeat_last_n": (int, -1, None),
                "min_p": (float, 0, 1), "typical_p": (float, 0, 1), "presence_penalty": (float, None, None),
                "frequency_penalty": (float, None, None), "mirostat": (int, 0, 2), "mirostat_tau": (float, None, None),
                "mirostat_eta": (float, None, None), "penalize_newline": (bool, None, None),
                "num_batch": (int, 1, None), "num_gpu": (int, None, None), "main_gpu": (int, None, None),
                "num_thread": (int, 0, None), "use_mmap": (bool, None, None), "use_mlock": (bool, None, None),
                "numa": (bool, None, None), "low_vram": (bool, None, None), "f16_kv": (bool, None, None),
                "vocab_only": (bool, None, None), "logits_all": (bool, None, None), "tfs_z": (float, None, None),
                "embedding_only": (bool, None, None)}
NAME_RE = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*){0,2}(:[\w][\w.-]{0,127})?$")
_loaded: dict[str, datetime] = {}  # model name -> when it leaves memory (what /api/ps lists)

models.custom.update(store.load())  # models created in earlier runs
models.removed.update(store.load_removed())  # built-in names deleted in earlier runs


# -- small helpers ---------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(when: datetime | None = None) -> str:
    return (when or _now()).isoformat().replace("+00:00", "Z")


def _ns(since: int) -> int:
    return max(1, time.perf_counter_ns() - since)


def _not_found(name: str) -> APIError:
    return APIError(404, f"model '{name}' not found", param="model", code="model_not_found")


def _offline_pull_error(name: str) -> str:
    return (f"pull model manifest: file does not exist (the offline gateway cannot download '{name}': "
            "GET /api/tags lists the models it serves)")


def _key(name: str) -> str:
    return name[:-7] if name.endswith(":latest") else name


def _display(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def _model(body: dict, name: str = "model") -> str:
    """The request's model name (`name` is the legacy spelling), which must be one the gateway serves."""
    value = field(body, name, str, None) or field(body, "name", str, None)
    if not value:
        raise APIError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    if not models.known(value):
        raise _not_found(value)
    return value


def _base_names() -> list[str]:
    """The built-in Ollama models /api/tags lists (those not deleted in this data folder)."""
    return [_display(m.id) for m in catalog.models()
            if m.provider == "ollama" and not m.retired and _key(m.id) not in models.removed]


def _json(data: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def _line(data: dict) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


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


def _touch(name: str, keep: timedelta | None) -> None:
    """Record that `name` is in memory until keep_alive runs out (0 = unloaded now)."""
    if keep is not None and keep.total_seconds() == 0:
        _loaded.pop(_key(name), None)
    else:
        _loaded[_key(name)] = _now() + (keep if keep is not None else timedelta(days=365 * 100))


def _options(body: dict, label: str = "options") -> dict:
    """Validated Ollama options (only those given), by Ollama's names."""
    opts = field(body, label, dict, None) or {}
    out = {}
    for key, value in opts.items():
        if key == "stop":
            out["stop"] = stop_list(value, f"{label}.stop", limit=64)
        elif key in OPTION_KINDS and value is not None:
            kind, lo, hi = OPTION_KINDS[key]
            out[key] = field(opts, key, kind, minimum=lo, maximum=hi, label=f"{label}.{key}")
    return out


def _format(body: dict, params: SamplingParams) -> None:
    """format: "json" -> any JSON object; a JSON schema object (the SDK's `format=Model.model_json_schema()`)
    -> the reply follows it token by token; "" or absent -> plain text."""
    fmt = body.get("format")
    if fmt in (None, ""):
        return
    if fmt == "json":
        params.json_object = True
        return
    if isinstance(fmt, dict):
        params.json_schema = json_schema(fmt, "format")
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
    field(body, "tools", list, None)
    return stream, keep, _options(body)


def _refuse_thinking(body: dict, model: str) -> None:
    """think=true (or a level) for a model whose capabilities lack "thinking" is Ollama's 400."""
    if body.get("think") not in (None, False) and "thinking" not in _capabilities(model):
        raise APIError(400, f'"{model}" does not support thinking', param="think", code="invalid_value")


def _sampling(body: dict, model: str, messages: list[dict], opts: dict) -> tuple[list[dict], SamplingParams]:
    messages, merged = models.apply_custom(model, messages, opts)
    params = models.to_sampling(merged, DEFAULTS)
    _format(body, params)
    if field(body, "logprobs", bool, False):
        params.logprobs = field(body, "top_logprobs", int, 0, minimum=0, maximum=20)
    return messages, params


def _logprobs(toks: list[Token]) -> list[dict]:
    return [{"token": t.text, "logprob": t.logprob,
             "top_logprobs": [{"token": s, "logprob": lp} for s, lp in (t.top or [])]} for t in toks]


def _stats(gen: Generation, t0: int, t_loaded: int, t_first: int | None, t_end: int) -> dict:
    """The final line's numbers, in nanoseconds, measured on this request."""
    first = t_first or t_end
    return {"done_reason": gen.finish_reason or "stop", "total_duration": max(1, t_end - t0),
            "load_duration": max(1, t_loaded - t0), "prompt_eval_count": gen.prompt_tokens,
            "prompt_eval_duration": max(1, first - t_loaded), "eval_count": gen.completion_tokens,
            "eval_duration": max(1, t_end - first)}


async def _answer(request: Request, model: str, messages: list[dict], params: SamplingParams, stream: bool,
                  kind: str, t0: int, t_loaded: int, extra=None):
    """Run the engine and reply as chat ("message") or generate ("response") lines."""
    engine = engine_of(request)

    def piece(text: str) -> dict:
        return {"message": {"role": "assistant", "content": text}} if kind == "chat" else {"response": text}

    if not stream:
        check_prompt_size(engine, messages)

        def run():
            gen, toks, first = engine.generate(messages, params), [], None
            for t in gen:
                first = first or time.perf_counter_ns()
                toks.append(t)
            return gen, toks, first

        gen, toks, t_first = await run_engine(run)
        data = {"model": model, "created_at": _stamp(), **piece("".join(t.text for t in toks)), "done": True,
                **_stats(gen, t0, t_loaded, t_first, time.perf_counter_ns())}
        if params.logprobs is not None:
            data["logprobs"] = _logprobs(toks)
        if extra:
            data.update(extra(data, "".join(t.text for t in toks)))
        return _json(data)

    gen = await start(engine, messages, params)  # prompt errors become a 4xx before any line is sent

    async def lines() -> AsyncIterator[bytes]:
        t_first, text = None, []
        try:
            async for t in tokens(gen):
                t_first = t_first or time.perf_counter_ns()
                text.append(t.text)
                line = {"model": model, "created_at": _stamp(), **piece(t.text), "done": False}
                if params.logprobs is not None:
                    line["logprobs"] = _logprobs([t])
                yield _line(line)
            final = {"model": model, "created_at": _stamp(), **piece(""), "done": True,
                     **_stats(gen, t0, t_loaded, t_first, time.perf_counter_ns())}
            if extra:
                final.update(extra(final, "".join(text)))
            yield _line(final)
        except Exception as e:  # mid-stream: Ollama sends the error as a line
            yield _line({"error": str(e) or type(e).__name__})

    return StreamingResponse(lines(), media_type=NDJSON)


# -- inference -------------------------------------------------------------------------
def _chat_messages(body: dict) -> list[dict]:
    msgs = field(body, "messages", list, [])
    out = []
    for i, m in enumerate(msgs):
        label = f"messages[{i}]"
        role = message(m, label, ROLES)
        content = field(m, "content", str, "", label=f"{label}.content")
        content += _images(m.get("images"), f"{label}.images")
        out.append({"role": role, "content": content})
    return out


@router.post("/api/chat")
async def chat(request: Request):
    t0 = time.perf_counter_ns()
    body = await json_body(request)
    model = _model(body)
    stream, keep, opts = _common(body)
    _refuse_thinking(body, model)
    messages = _chat_messages(body)
    messages, params = _sampling(body, model, messages, opts)
    engine_of(request)  # the engine is loaded once per process; this is the "load" Ollama times
    t_loaded = time.perf_counter_ns()
    _touch(model, keep)
    if not messages:  # Ollama: an empty conversation loads (or, with keep_alive 0, unloads) the model
        reason = "unload" if keep is not None and not keep.total_seconds() else "load"
        return _json({"model": model, "created_at": _stamp(), "message": {"role": "assistant", "content": ""},
                      "done_reason": reason, "done": True})
    return await _answer(request, model, messages, params, stream, "chat", t0, t_loaded)


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
    tok = getattr(engine, "tok", None)
    roles = {v: k.strip("<|>") for k, v in tok.special.items() if k.strip("<|>") in ROLES} if tok else {}
    out, role, chunk = [], "user", []
    for i in ids + [None]:
        if i is None or i in roles or (tok and i == tok.end_id):
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
    tok = getattr(engine, "tok", None)
    if tok is None:
        return []
    return tok.render_chat(messages) + tok.encode(reply) + [tok.end_id]


@router.post("/api/generate")
async def generate(request: Request):
    t0 = time.perf_counter_ns()
    body = await json_body(request)
    model = _model(body)
    stream, keep, opts = _common(body)
    prompt = field(body, "prompt", str, "")
    system = field(body, "system", str, "")
    template = field(body, "template", str, "")
    context = field(body, "context", list, None)
    raw = field(body, "raw", bool, False)
    if field(body, "suffix", str, "") and "insert" not in _capabilities(model):
        raise APIError(400, f'"{model}" does not support insert', param="suffix", code="invalid_value")
    _refuse_thinking(body, model)
    if raw and (template or system or context):
        raise APIError(400, "raw mode does not support template, system, or context", param="raw")
    images = _images(body.get("images"), "images")
    engine = engine_of(request)
    t_loaded = time.perf_counter_ns()
    _touch(model, keep)
    if not prompt and not images:  # Ollama: an empty prompt loads (or, with keep_alive 0, unloads) the model
        reason = "unload" if keep is not None and not keep.total_seconds() else "load"
        return _json({"model": model, "created_at": _stamp(), "response": "", "done": True, "done_reason": reason})
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
    messages, params = _sampling(body, model, messages, opts)

    def with_context(final: dict, reply: str) -> dict:
        return {} if raw else {"context": _context_ids(engine, messages, reply)}

    return await _answer(request, model, messages, params, stream, "generate", t0, t_loaded, with_context)


@router.post("/api/embed")
async def embed(request: Request):
    t0 = time.perf_counter_ns()
    body = await json_body(request)
    model = _model(body)
    value = body.get("input")
    texts = [value] if isinstance(value, str) and value else [] if value in (None, "") else value
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise APIError(400, "Invalid 'input': invalid input type; expected a string or an array of strings.",
                       param="input", code="invalid_type")
    embed_count(len(texts))
    truncate = field(body, "truncate", bool, True)
    dims = field(body, "dimensions", int, None, minimum=1)
    _options(body)
    _touch(model, _keep_alive(body))
    engine = engine_of(request)
    t_loaded = time.perf_counter_ns()
    if not texts:
        return _json({"model": model, "embeddings": []})
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
    return _json({"model": model, "embeddings": [v.tolist() for v in vecs], "total_duration": _ns(t0),
                  "load_duration": max(1, t_loaded - t0), "prompt_eval_count": sum(counts)})


@router.post("/api/embeddings")
async def embeddings(request: Request):
    body = await json_body(request)
    model = _model(body)
    prompt = field(body, "prompt", str, "")
    _options(body)
    _touch(model, _keep_alive(body))
    if not prompt:
        return _json({"embedding": []})
    return _json({"embedding": (await embed_texts(engine_of(request), [prompt]))[0].tolist()})


# -- models ----------------------------------------------------------------------------
@router.api_route("/api/version", methods=["GET", "HEAD"])
async def version():
    return _json({"version": VERSION})


@router.api_route("/api/tags", methods=["GET", "HEAD"])
async def tags(request: Request):
    engine = engine_of(request)
    made = sorted(models.custom.items(), key=lambda kv: kv[1].get("modified_at", ""), reverse=True)
    out = [models.tag_entry(_display(n), engine, d.get("modified_at")) for n, d in made]
    out += [models.tag_entry(n, engine) for n in _base_names() if _key(n) not in models.custom]
    return _json({"models": out})


@router.get("/api/ps")
async def ps(request: Request):
    engine = engine_of(request)
    now = _now()
    for name in [n for n, until in _loaded.items() if until <= now]:
        del _loaded[name]
    out = []
    for name, until in sorted(_loaded.items(), key=lambda kv: kv[1], reverse=True):
        entry = models.tag_entry(_display(name), engine)
        entry.pop("modified_at", None)
        out.append({**entry, "expires_at": _stamp(until), "size_vram": 0, "context_length": engine.context_length})
    return _json({"models": out})


def _definition(name: str) -> dict:
    """A model's system prompt, parameters, template, messages and parent, created or built in."""
    made = models.custom_model(name)
    return made or {"from": "", "system": None, "parameters": {}}


def _template(d: dict) -> str:
    return d.get("template") or "{{ range .Messages }}<|{{ .Role }}|>{{ .Content }}<|end|>{{ end }}<|assistant|>"


def _parameters_text(params: dict) -> str:
    lines = []
    for k, v in params.items():
        for item in (v if isinstance(v, list) else [v]):
            lines.append(f"{k:<30} {json.dumps(item, ensure_ascii=False)}")
    return "\n".join(lines)


def _modelfile(name: str, d: dict, engine) -> str:
    q = '"""'
    out = ['# Modelfile generated by "ollama show"', "# To build a new Modelfile based on this, replace FROM with:",
           f"# FROM {_display(name)}", "", f"FROM {d.get('from') or engine.files[-1]}",
           f"TEMPLATE {q}{_template(d)}{q}"]
    if d.get("system"):
        out.append(f"SYSTEM {q}{d['system']}{q}")
    for k, v in (d.get("parameters") or {}).items():
        out += [f"PARAMETER {k} {json.dumps(x, ensure_ascii=False) if isinstance(x, str) else x}"
                for x in (v if isinstance(v, list) else [v])]
    for m in d.get("messages") or []:
        out.append(f"MESSAGE {m['role']} {q}{m['content']}{q}")
    if d.get("license"):
        out.append(f"LICENSE {q}{d['license']}{q}")
    return "\n".join(out) + "\n"


def _capabilities(name: str) -> list[str]:
    """What the model answering for `name` can do, as /api/show lists it. The offline engine
    completes and embeds; it has no thinking phase and no fill-in-the-middle ("thinking" and
    "insert" never appear), so think=true and `suffix` are refused, as Ollama refuses them."""
    root = models.lineage(name)[-1]  # bounded: a saved file may hold a cycle
    m = catalog.find(root)
    return ["embedding"] if m and m.kind == "embedding" else ["completion"]


@router.post("/api/show")
async def show(request: Request):
    body = await json_body(request)
    name = _model(body)
    engine = engine_of(request)
    d = _definition(name)
    entry = models.tag_entry(_display(name), engine, d.get("modified_at"))
    arch = engine.name
    info = {"general.architecture": arch, "general.basename": _key(name), "general.parameter_count": engine.parameters,
            f"{arch}.context_length": engine.context_length, "tokenizer.ggml.model": "bpe"}
    if getattr(engine, "vocab", None):
        info[f"{arch}.vocab_size"] = engine.vocab
    return _json({"modelfile": _modelfile(name, d, engine), "parameters": _parameters_text(d.get("parameters") or {}),
                  "template": _template(d), "system": d.get("system") or "", "license": d.get("license") or "",
                  "details": entry["details"], "model_info": info, "capabilities": _capabilities(name),
                  "messages": d.get("messages") or [], "modified_at": entry["modified_at"]})


_MODELFILE_CMD = re.compile(r'^\s*(FROM|SYSTEM|PARAMETER|TEMPLATE|MESSAGE|LICENSE|ADAPTER|REQUIRES)\b[ \t]*(.*)$', re.I)


def parse_modelfile(text: str) -> dict:
    """A Modelfile's FROM, SYSTEM, TEMPLATE, LICENSE, PARAMETER and MESSAGE lines ("…" and \"\"\"…\"\"\" quoting)."""
    out: dict = {"parameters": {}, "messages": []}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _MODELFILE_CMD.match(line)
        if not m:
            raise APIError(400, f"Invalid 'modelfile': command must be one of \"from\", \"license\", \"template\", "
                                f"\"system\", \"adapter\", \"parameter\", or \"message\" (line {i}: {line.strip()!r}).",
                           param="modelfile", code="invalid_value")
        cmd, rest = m.group(1).upper(), m.group(2)
        head = ""
        if cmd in ("PARAMETER", "MESSAGE"):
            head, _, rest = rest.partition(" ")
            rest = rest.strip()
        if rest.startswith('"""'):
            rest = rest[3:]
            while '"""' not in rest and i < len(lines):
                rest += "\n" + lines[i]
                i += 1
            if '"""' not in rest:
                raise APIError(400, f"Invalid 'modelfile': unterminated \"\"\" in {cmd}.", param="modelfile")
            rest = rest[:rest.index('"""')]
        elif len(rest) >= 2 and rest[0] == rest[-1] == '"':
            rest = rest[1:-1]
        if cmd == "PARAMETER":
            value = _param_value(head, rest)
            if head == "stop":
                out["parameters"].setdefault("stop", []).append(value)
            else:
                out["parameters"][head] = value
        elif cmd == "MESSAGE":
            out["messages"].append({"role": head, "content": rest})
        else:
            out[cmd.lower()] = rest.strip() if cmd == "FROM" else rest
    return out


def _param_value(key: str, text: str):
    if key == "stop":
        return text
    if key not in OPTION_KINDS:
        raise APIError(400, f"unknown parameter '{key}'", param=f"parameters.{key}", code="invalid_value")
    kind = OPTION_KINDS[key][0]
    try:
        if kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        return kind(text)
    except ValueError:
        raise APIError(400, f"Invalid 'parameters.{key}': {text!r} is not {'an integer' if kind is int else 'a ' + kind.__name__}.",
                       param=f"parameters.{key}", code="invalid_value") from None


def _valid_name(name, label: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise APIError(400, f"invalid model name: {label} {json.dumps(name)} must look like 'name' or "
                            "'namespace/name:tag'", param=label, code="invalid_value")
    return name


def _stream_statuses(statuses: list[dict], stream: bool):
    if not stream:
        return _json(statuses[-1])
    return StreamingResponse(iter([_line(s) for s in statuses]), media_type=NDJSON)


async def _save(key: str, previous: dict | None) -> None:
    """Save every model, in a thread; when the file would pass its limit, undo the change
    to `key` (back to `previous`) and answer 413."""
    try:
        await off_loop(store.save, models.custom, models.removed)
    except store.StoreFull as e:
        if previous is None:
            models.custom.pop(key, None)
        else:
            models.custom[key] = previous
        raise APIError(413, f"cannot save the model: {e} (delete models with /api/delete to make room)",
                       param="model", code="request_too_large") from None


def _no_cycle(name: str, parent: str, label: str) -> None:
    """A model may not be made FROM itself, nor FROM one that comes from it (A -> B -> A)."""
    if models.creates_cycle(name, parent):
        chain = " -> ".join([name] + models.lineage(parent))
        raise APIError(400, f"invalid '{label}': model '{name}' cannot be created from itself ({chain})",
                       param=label, code="invalid_value")


@router.post("/api/create")
async def create(request: Request):
    body = await json_body(request)
    name = _valid_name(field(body, "model", str, None) or field(body, "name", str, None), "model")
    stream = field(body, "stream", bool, True)
    spec: dict = {"parameters": {}, "messages": []}
    text = field(body, "modelfile", str, None)
    if text:
        spec.update(parse_modelfile(text))
    if body.get("path"):
        raise APIError(400, "The offline gateway cannot read a Modelfile from a path: send its text as 'modelfile'.",
                       param="path", code="invalid_value")
    if body.get("files") or body.get("adapters") or spec.get("adapter"):
        raise APIError(400, "The offline gateway cannot import model files or adapters (GGUF, safetensors, LoRA): "
                            "create a model from one it serves with 'from'.", param="files", code="invalid_value")
    if body.get("quantize"):
        raise APIError(400, "The offline gateway cannot quantize: its offline model is kept as it is.",
                       param="quantize", code="invalid_value")
    parent = field(body, "from", str, None) or spec.get("from")
    if not parent:
        raise APIError(400, "neither 'from' or 'files' was specified", param="from", code="missing_required_parameter")
    if not models.known(parent):
        raise APIError(404, _offline_pull_error(parent), param="from", code="model_not_found")
    _no_cycle(name, parent, "from")
    for key in field(body, "parameters", dict, None) or {}:
        if key not in OPTION_KINDS and key != "stop":
            raise APIError(400, f"unknown parameter '{key}'", param=f"parameters.{key}", code="invalid_value")
    params = {**spec["parameters"], **_options(body, "parameters")}
    msgs = field(body, "messages", list, None)
    messages = _chat_messages({"messages": msgs}) if msgs is not None else _chat_messages(spec)
    system = field(body, "system", str, None)
    template = field(body, "template", str, None)
    license_ = body.get("license")
    if isinstance(license_, list):
        license_ = "\n".join(str(x) for x in license_)
    inherited = models.custom_model(parent) or {}
    definition = {
        "from": parent,
        "system": system if system is not None else spec.get("system", inherited.get("system")),
        "parameters": {**(inherited.get("parameters") or {}), **params},
        "template": template if template is not None else spec.get("template", inherited.get("template")),
        "messages": messages or inherited.get("messages") or [],
        "license": license_ if isinstance(license_, str) else spec.get("license", inherited.get("license")),
        "modified_at": _stamp(),
    }
    definition = {k: v for k, v in definition.items() if v not in (None, "", [], {}) or k in ("from", "parameters")}
    statuses = [{"status": "reading model metadata"}]
    for part in ("template", "system", "license", "parameters", "messages"):
        if definition.get(part):
            statuses.append({"status": f"creating {part} layer"})
    digest = await off_loop(models.engine_digest, engine_of(request))
    statuses += [{"status": f"using already created layer sha256:{digest}"}, {"status": "writing manifest"},
                 {"status": "success"}]
    previous = models.custom.get(_key(name))
    models.custom[_key(name)] = definition
    await _save(_key(name), previous)
    return _stream_statuses(statuses, stream)


@router.post("/api/copy")
async def copy(request: Request):
    body = await json_body(request)
    source = field(body, "source", str, required=True)
    dest = _valid_name(field(body, "destination", str, required=True), "destination")
    if not models.known(source):
        raise APIError(404, f'model "{source}" not found', param="source", code="model_not_found")
    made = models.custom_model(source)
    copied = {**(made or {"from": source, "parameters": {}}), "modified_at": _stamp()}
    _no_cycle(dest, copied["from"], "destination")
    previous = models.custom.get(_key(dest))
    models.custom[_key(dest)] = copied
    await _save(_key(dest), previous)
    return Response(status_code=200)


@router.delete("/api/delete")
async def delete(request: Request):
    body = await json_body(request)
    name = field(body, "model", str, None) or field(body, "name", str, None)
    if not name:
        raise APIError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    if _key(name) not in models.custom:
        if _key(name) not in {_key(n) for n in _base_names()}:
            raise _not_found(name)
        # a built-in name: gone from /api/tags (and every route) in this data folder until pulled again
        models.removed.add(_key(name))
        _loaded.pop(_key(name), None)
        try:
            await off_loop(store.save, models.custom, models.removed)
        except Exception:
            models.removed.discard(_key(name))
            raise
        return Response(status_code=200)
    previous = models.custom.pop(_key(name))
    _loaded.pop(_key(name), None)
    await _save(_key(name), previous)
    return Response(status_code=200)


@router.post("/api/pull")
async def pull(request: Request):
    body = await json_body(request)
    name = field(body, "model", str, None) or field(body, "name", str, None)
    if not name:
        raise APIError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    stream = field(body, "stream", bool, True)
    field(body, "insecure", bool, False)
    if _key(name) in models.removed:  # a deleted built-in model comes back
        models.removed.discard(_key(name))
        await off_loop(store.save, models.custom, models.removed)
    if not models.known(name):
        if not stream:
            raise APIError(404, _offline_pull_error(name), param="model", code="model_not_found")
        # as Ollama does: the manifest lookup is reported, then fails in the stream
        return StreamingResponse(iter([_line({"status": "pulling manifest"}), _line({"error": _offline_pull_error(name)})]),
                                 media_type=NDJSON)
    engine = engine_of(request)
    statuses = [{"status": "pulling manifest"}]
    hashed = await off_loop(lambda: [(hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_size)
                                     for f in engine.files])
    for digest, size in hashed:
        statuses.append({"status": f"pulling {digest[:12]}", "digest": f"sha256:{digest}", "total": size,
                         "completed": size})
    statuses += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"},
                 {"status": f"offline: '{name}' is answered by the offline model {engine.name}, already here; "
                            "nothing was downloaded"},
                 {"status": "success"}]
    return _stream_statuses(statuses, stream)


@router.post("/api/push")
async def push(request: Request):
    body = await json_body(request)
    name = field(body, "model", str, None) or field(body, "name", str, None)
    if not name:
        raise APIError(400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    if not models.known(name):
        raise _not_found(name)
    raise APIError(403, f"cannot push '{name}': the offline gateway has no registry to push to and cannot reach "
                        "ollama.com; push from a real Ollama signed in to your account.", param="model")

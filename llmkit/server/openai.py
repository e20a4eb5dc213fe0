"""OpenAI's protocol: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models.

The same routes answer under /openai/v1 for Groq (its API is OpenAI's at that prefix; its
streams end with `x_groq.usage`), under /v1beta/openai for Gemini's OpenAI compatibility
(chat completions, embeddings, models: the openai SDK with `base_url=.../v1beta/openai/`),
and serve Ollama's OpenAI compatibility, which lives at /v1 on the Ollama host.
"""

from __future__ import annotations

import base64
import time
import uuid

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..engine import SamplingParams, Token
from . import models
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


def chat_messages(body: dict) -> list[dict]:
    msgs = field(body, "messages", list, required=True)
    if not msgs:
        raise APIError(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                            "empty array instead.", param="messages", code="empty_array")
    out = []
    for i, m in enumerate(msgs):
        label = f"messages[{i}]"
        role = message(m, label, ROLES)
        if "content" not in m and role != "assistant":
            raise APIError(400, f"Missing required parameter: '{label}.content'.", param=f"{label}.content",
                           code="missing_required_parameter")
        text = _text_of(m.get("content"), f"{label}.content")
        out.append({"role": {"developer": "system", "function": "tool"}.get(role, role), "content": text})
    return out


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
    field(spec, "name", str, required=True, label="response_format.json_schema.name")
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


@router.post("/v1/chat/completions")
@router.post("/openai/v1/chat/completions")
@router.post(GEMINI_COMPAT + "/chat/completions")
async def chat_completions(request: Request):
    body = await json_body(request)
    model, n, stream, include_usage = _common(body)
    messages = chat_messages(body)
    params = sampling(body)
    refuse_reasoning(body)
    for name in ("tools", "functions"):
        field(body, name, list, None)
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

        def chunk(choices, usage=None, x_groq=None):
            d = {**base, "choices": choices}
            if include_usage:
                d["usage"] = usage
            if x_groq is not None:
                d["x_groq"] = x_groq
            return sse(d)

        async def events():
            t_first = None
            async for p in run_.events():
                if p.kind == "start":  # Groq: its request id comes first
                    yield chunk([{"index": p.index, "delta": {"role": "assistant", "content": "", "refusal": None},
                                  "logprobs": None, "finish_reason": None}],
                                x_groq={"id": groq_id} if groq_id and p.index == 0 else None)
                elif p.kind == "token":
                    t_first = t_first or time.perf_counter()
                    lp = {"content": [_logprob_entry(p.token)], "refusal": None} if want_logprobs else None
                    yield chunk([{"index": p.index, "delta": {"content": p.token.text}, "logprobs": lp,
                                  "finish_reason": None}])
                    continue
                else:
                    last = groq_id and p.index == req.n - 1  # Groq: the final chunk carries x_groq.usage
                    yield chunk([{"index": p.index, "delta": {}, "logprobs": None, "finish_reason": p.gen.finish_reason}],
                                x_groq=_groq_extra(groq_id, run_, t0, t_first, params.seed) if last else None)
            if include_usage:
                yield chunk([], _usage(run_.prompt_tokens, run_.completion_tokens))
            yield DONE

        return sse_response(guard(events(), stream_error))
    result = await complete(engine, req)
    choices = []
    for c in result.choices:
        lp = {"content": [_logprob_entry(t) for t in c.tokens], "refusal": None} if want_logprobs else None
        choices.append({"index": c.index, "message": {"role": "assistant", "content": c.text,
                                                      "refusal": None, "annotations": []},
                        "logprobs": lp, "finish_reason": c.gen.finish_reason})
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
    if not models.known(model):
        raise APIError(404, f"The model `{model}` does not exist or you do not have access to it.",
                       param="model", code="model_not_found")
    return JSONResponse(models.openai_entry(model, engine_of(request).context_length))

"""Gemini's protocol (generativelanguage REST, as the google-genai SDK speaks it).

    POST /{v1beta,v1}/models/M:generateContent
    POST /{v1beta,v1}/models/M:streamGenerateContent?alt=sse   (`data: {...}` chunks)
    POST /{v1beta,v1}/models/M:countTokens | :embedContent | :batchEmbedContents
    GET  /v1beta/models[?pageSize&pageToken], /v1beta/models/M
    GET  /v1/models[/M] are shared with OpenAI: openai.py hands Gemini callers (told
         apart by x-goog-api-key) to `list_models` / `get_model` here.

The model and method share one path segment ("gemini-2.5-flash:generateContent"), so
routes take the rest of the path and split on the last ':'. Google's JSON parser takes
both camelCase and snake_case field names, and the SDK relies on it (it sends
`inlineData: {"mime_type": ...}`), so every object is read through `_camel`.

Function calling: `tools[].functionDeclarations` (`parameters` in Gemini's schema dialect or
`parametersJsonSchema`) and `toolConfig.functionCallingConfig` (AUTO, ANY with
`allowedFunctionNames`, NONE, VALIDATED) go to the engine as neutral tools; a model turn's
`functionCall` parts become calls and `functionResponse` parts the results that answer them
(by id, else by name). A reply that calls functions has `functionCall` parts (with an id) and
finishReason STOP; streamed, each call comes whole in one chunk, as the API sends it, which
is what the google-genai SDK's automatic function calling reads.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from .. import catalog
from ..engine import SamplingParams
from ..engine.base import ToolSpec
from . import models, tools
from .common import count_chat, embed, engine_of
from .errors import APIError
from .framing import json_array_response, sse, sse_response
from .run import ChatRequest, complete, failure, guard, start
from .validate import MAX_EMBED_INPUTS, field, json_body, json_schema, stop_list

router = APIRouter()
# "tool": how google-genai's README sends a function response (the API takes it as "function")
ROLES = {"user": "user", "model": "assistant", "function": "tool", "tool": "tool"}
FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}
MIME_TYPES = ("text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum")
CHAT_METHODS = ["generateContent", "streamGenerateContent", "countTokens"]
EMBED_METHODS = ["embedContent", "batchEmbedContents", "countTokens"]


def _camel(obj: dict) -> dict:
    """The object with snake_case keys spelled camelCase (both are valid on the wire)."""
    return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): v for k, v in obj.items()}


def _snake(name: str) -> str:
    """Field names in messages are snake_case, as in the real API's errors and the SDK's kwargs."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _object(value, label: str) -> dict:
    if not isinstance(value, dict):
        raise APIError(400, f"Invalid value at '{label}': expected an object.", param=label)
    return _camel(value)


def _bare(name: str) -> str:
    return name[len("models/"):] if name.startswith("models/") else name


def _embeds(model: str) -> bool:
    m = catalog.find(model)
    return m.kind == "embedding" if m else "embedding" in model


def _require(name: str, method: str, version: str) -> str:
    """The model id if it serves `method`, else Gemini's own 404 wording."""
    model = _bare(name)
    tuned = name.startswith("tunedModels/")  # none exist offline
    serves = method in (EMBED_METHODS if _embeds(model) else CHAT_METHODS)
    if tuned or not models.known(model) or not serves:
        shown = name if tuned else f"models/{model}"
        raise APIError(404, f"{shown} is not found for API version {version}, or is not supported for {method}. "
                            "Call ListModels to see the list of available models and their supported methods.",
                       param="model")
    return model


# -- request: contents -> engine messages ----------------------------------------------
def _part_text(part, label: str) -> str | None:
    """One part as text for the engine; media become a short note (the model is text-only)."""
    p = _object(part, label)
    if p.get("thought"):
        return None  # a previous turn's reasoning is not part of the conversation
    if "text" in p:
        return field(p, "text", str, "", label=f"{label}.text")
    for key, what in (("inlineData", "data"), ("fileData", "fileUri")):
        if key in p:
            blob = _object(p[key], f"{label}.{key}")
            mime = field(blob, "mimeType", str, required=True, label=f"{label}.{key}.mimeType")
            field(blob, what, str, required=True, label=f"{label}.{key}.{what}")
            kind = mime.split("/")[0] if mime.split("/")[0] in ("image", "audio", "video") else "file"
            return f"[{kind} attached: {mime}]"
    if "functionCall" in p or "functionResponse" in p:
        return None  # read by _content_turns as calls and results
    if "executableCode" in p or "codeExecutionResult" in p:
        return json.dumps(p.get("executableCode") or p.get("codeExecutionResult"))
    raise APIError(400, f"Invalid value at '{label}': a part must hold one of text, inlineData, fileData, "
                        "functionCall, functionResponse.", param=label)


def _content_text(content, label: str) -> tuple[str, str]:
    """(role, text) of one Content object."""
    role, text, _, _ = _content_parts(content, label)
    return role, text


def _content_parts(content, label: str) -> tuple[str, str, list[dict], list[dict]]:
    """(role, text, functionCall objects, functionResponse objects) of one Content object."""
    c = _object(content, label)
    role = field(c, "role", str, "user", label=f"{label}.role") or "user"
    if role not in ROLES:
        raise APIError(400, f"Please use a valid role: user, model. Got '{role}' at '{label}.role'.",
                       param=f"{label}.role")
    parts = field(c, "parts", list, required=True, label=f"{label}.parts")
    if not parts:
        raise APIError(400, f"Invalid value at '{label}.parts': must not be empty.", param=f"{label}.parts")
    texts, calls, results = [], [], []
    for j, part in enumerate(parts):
        where = f"{label}.parts[{j}]"
        t = _part_text(part, where)
        if t is not None:
            texts.append(t)
            continue
        p = _camel(part)
        if "functionCall" in p:
            call = _object(p["functionCall"], f"{where}.function_call")
            calls.append({"id": field(call, "id", str, None, label=f"{where}.function_call.id"),
                          "name": field(call, "name", str, required=True, label=f"{where}.function_call.name"),
                          "args": field(call, "args", dict, {}, label=f"{where}.function_call.args") or {}})
        elif "functionResponse" in p:
            resp = _object(p["functionResponse"], f"{where}.function_response")
            results.append({"id": field(resp, "id", str, None, label=f"{where}.function_response.id"),
                            "name": field(resp, "name", str, required=True,
                                          label=f"{where}.function_response.name"),
                            "response": field(resp, "response", dict, {},
                                              label=f"{where}.function_response.response") or {}})
    return role, "\n".join(texts), calls, results


def _system(body: dict) -> list[dict]:
    si = body.get("systemInstruction")
    if si is None:
        return []
    text = si if isinstance(si, str) else _content_text(si, "system_instruction")[1]
    return [{"role": "system", "content": text}]


def messages_of(body: dict) -> list[dict]:
    """systemInstruction + contents as the engine's neutral turns: functionCall parts as an
    assistant turn's calls, functionResponse parts as `tool` turns answering them (by id, else
    the first call of that name not yet answered)."""
    contents = field(body, "contents", list, required=True)
    if not contents:
        raise APIError(400, "* GenerateContentRequest.contents: contents is not specified", param="contents")
    out = _system(body)
    turns: list[dict] = []
    open_calls: list[dict] = []  # the latest model turn's calls not answered yet
    for i, c in enumerate(contents):
        role, text, calls, results = _content_parts(c, f"contents[{i}]")
        last = turns[-1] if turns else None
        if calls:
            neutral = [{"id": k["id"] or f"call_{i}_{j}", "name": k["name"], "arguments": k["args"]}
                       for j, k in enumerate(calls)]
            if last and last["role"] == "assistant" and (last.get("tool_calls") or not text):
                # one reply's parts over several contents (a streamed reply kept chunk by chunk)
                last["tool_calls"] = (last.get("tool_calls") or []) + neutral
                last["content"] = last["content"] or text or None
            else:
                turns.append({"role": "assistant", "content": text or None, "tool_calls": neutral})
                open_calls = []
            open_calls += neutral
            continue
        for r in results:
            match = next((k for k in open_calls if r["id"] and k["id"] == r["id"]), None) or \
                next((k for k in open_calls if k["name"] == r["name"]), None)
            if match is not None:
                open_calls.remove(match)
            turns.append({"role": "tool", "tool_call_id": match["id"] if match else (r["id"] or ""),
                          "name": r["name"], "content": json.dumps(r["response"], ensure_ascii=False)})
        if results and not text:
            continue
        last = turns[-1] if turns else None
        if last and last["role"] == ROLES[role] and not last.get("tool_calls") and last["role"] != "tool":
            # one turn split over contents, e.g. a chat's history of a streamed reply, chunk by chunk
            last["content"] += ("" if role == "model" else "\n") + text
        else:
            turns.append({"role": ROLES[role], "content": text})
    return out + turns


async def request_tools(body: dict) -> tuple[list[ToolSpec] | None, str | dict]:
    """`tools[].functionDeclarations` and `toolConfig.functionCallingConfig` as the engine's tools
    and choice. Google's own tools (search, code execution, URL context, maps...) run on Google's
    side and are refused."""
    raw = field(body, "tools", list, None)
    specs: list[ToolSpec] | None = None
    where: list[str] = []  # neutral tool i -> its field, tools[g].function_declarations[j]
    for g, group in enumerate(raw or []):
        label = f"tools[{g}]"
        t = _object(group, label)
        other = [k for k in t if k not in ("functionDeclarations",) and t[k] is not None]
        if other:
            raise APIError(400, f"Invalid value at '{label}.{_snake(other[0])}': the offline gateway runs no "
                                "Google-hosted tools (search, code execution, URL context...); declare your own "
                                "functions in function_declarations.", param=f"{label}.{_snake(other[0])}")
        decls = field(t, "functionDeclarations", list, [], label=f"{label}.function_declarations") or []
        for j, d in enumerate(decls):
            dl = f"{label}.function_declarations[{j}]"
            d = _object(d, dl)
            name = field(d, "name", str, required=True, label=f"{dl}.name")
            desc = field(d, "description", str, "", label=f"{dl}.description") or ""
            js = field(d, "parametersJsonSchema", dict, None, label=f"{dl}.parameters_json_schema")
            gs = field(d, "parameters", dict, None, label=f"{dl}.parameters")
            if js is not None and gs is not None:
                raise APIError(400, f"Invalid value at '{dl}': set parameters or parameters_json_schema, not both.",
                               param=f"{dl}.parameters")
            params = js if js is not None else from_gemini_schema(gs) if gs is not None else None
            specs = (specs or []) + [ToolSpec(name, desc, params or {"type": "object", "properties": {}})]
            where.append(f"{dl}.{'parameters_json_schema' if js is not None else 'parameters'}")
    cfg = _object(body.get("toolConfig") or {}, "tool_config")
    fcc = _object(cfg.get("functionCallingConfig") or {}, "tool_config.function_calling_config")
    p = "tool_config.function_calling_config."
    mode = (field(fcc, "mode", str, "AUTO", label=p + "mode") or "AUTO").upper()
    if mode not in ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"):
        raise APIError(400, f"Invalid value at '{p}mode': {mode!r}; expected AUTO, ANY, NONE or VALIDATED.",
                       param=p + "mode")
    allowed = field(fcc, "allowedFunctionNames", list, None, label=p + "allowed_function_names")
    choice: str | dict = {"ANY": "required", "NONE": "none"}.get(mode, "auto")
    if allowed:
        if mode not in ("ANY", "VALIDATED"):
            raise APIError(400, f"Invalid value at '{p}allowed_function_names': allowed_function_names may only be "
                                "set when the mode is ANY or VALIDATED.", param=p + "allowed_function_names")
        known = {s.name for s in specs or []}
        for k, n in enumerate(allowed):
            if n not in known:
                raise APIError(400, f"Invalid value at '{p}allowed_function_names[{k}]': {n!r} is not declared in "
                                    "tools[].function_declarations.", param=f"{p}allowed_function_names[{k}]")
        specs = [s for s in specs if s.name in allowed]
        where = [w for w, s in zip(where, specs) if s.name in allowed]
        if mode == "ANY" and len(specs) == 1:
            choice = {"name": specs[0].name}
    if specs is None and mode == "ANY":
        raise APIError(400, f"Invalid value at '{p}mode': ANY needs function_declarations in tools.",
                       param=p + "mode")

    def rename(neutral: str) -> str:
        m = re.match(r"tools\[(\d+)\]\.?(.*)", neutral)
        if m and int(m.group(1)) < len(where):
            base = where[int(m.group(1))]
            return base if m.group(2) == "parameters" else base.rsplit(".", 1)[0] + "." + m.group(2)
        return p + ("allowed_function_names" if neutral == "tool_choice" else neutral)

    def error(param: str, message: str) -> APIError:
        return APIError(400, f"Invalid value at '{param}': {message}.", param=param)

    await tools.check(specs, choice, rename, error)
    return specs, choice


def sampling(body: dict) -> tuple[SamplingParams, int]:
    """generationConfig -> (engine sampling params, candidateCount)."""
    cfg = _object({} if body.get("generationConfig") is None else body["generationConfig"], "generation_config")
    p = "generation_config."
    temp = field(cfg, "temperature", float, None, minimum=0, maximum=2, label=p + "temperature")
    top_p = field(cfg, "topP", float, None, minimum=0, maximum=1, label=p + "top_p")
    top_k = field(cfg, "topK", int, None, minimum=0, label=p + "top_k")
    max_tokens = field(cfg, "maxOutputTokens", int, None, minimum=1, label=p + "max_output_tokens")
    n = field(cfg, "candidateCount", int, 1, minimum=1, maximum=8, label=p + "candidate_count")
    mime = field(cfg, "responseMimeType", str, "text/plain", choices=MIME_TYPES, label=p + "response_mime_type")
    for name, kind in (("responseSchema", dict), ("responseJsonSchema", dict), ("thinkingConfig", dict),
                       ("presencePenalty", float), ("frequencyPenalty", float)):
        field(cfg, name, kind, None, label=p + _snake(name))
    schema = None
    if cfg.get("responseJsonSchema") is not None:
        schema = json_schema(cfg["responseJsonSchema"], p + "response_json_schema")
    elif cfg.get("responseSchema") is not None:
        schema = json_schema(from_gemini_schema(cfg["responseSchema"]), p + "response_schema")
    if schema is not None and mime not in ("application/json", "text/x.enum"):
        raise APIError(400, f"* GenerateContentRequest.{p}response_mime_type: response_mime_type must be "
                            "'application/json' when a response schema is set.\n", param=p + "response_mime_type")
    if mime == "text/x.enum":
        schema = _enum_schema(schema, p + ("response_json_schema" if cfg.get("responseJsonSchema") is not None
                                           else "response_schema"))
    for name, kind in (("safetySettings", list), ("tools", list), ("toolConfig", dict)):
        field(body, name, kind, None, label=_snake(name))
    params = SamplingParams(max_tokens=max_tokens, temperature=1.0 if temp is None else temp,
                            top_p=1.0 if top_p is None else top_p, top_k=top_k or 0,
                            seed=field(cfg, "seed", int, None, label=p + "seed"),
                            stop=stop_list(cfg.get("stopSequences"), p + "stop_sequences", limit=5),
                            json_schema=schema if mime in ("application/json", "text/x.enum") else None,
                            json_object=mime == "application/json" and schema is None)
    return params, n


def _enum_schema(schema: dict | None, label: str) -> dict:
    """text/x.enum: the reply is one of the schema's enum strings, bare (not JSON). The grammar
    holds it as a JSON string (quoted); `enum_text` takes the quotes off."""
    values = (schema or {}).get("enum")
    if not (isinstance(values, list) and values and all(isinstance(v, str) for v in values)):
        raise APIError(400, f"* GenerateContentRequest.{label}: response_mime_type 'text/x.enum' needs a response "
                            "schema of type STRING with an enum of strings.\n", param=label)
    return {"type": "string", "enum": values}


def _is_enum(body: dict) -> bool:
    cfg = body.get("generationConfig")
    return isinstance(cfg, dict) and _camel(cfg).get("responseMimeType") == "text/x.enum"


def enum_text(body: dict, text: str) -> str:
    """A text/x.enum reply (a JSON string the grammar held) as the bare value Gemini sends."""
    if not _is_enum(body):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text  # cut short by max_output_tokens: as written
    return value if isinstance(value, str) else text


_GEMINI_FORMATS = {"date-time", "date", "time"}  # Gemini's other formats (enum, int32, double...) only describe
_COUNTS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")
_SNAKE_KEYS = {"property_ordering": "propertyOrdering", "any_of": "anyOf", "min_items": "minItems",
               "max_items": "maxItems", "min_length": "minLength", "max_length": "maxLength",
               "min_properties": "minProperties", "max_properties": "maxProperties"}


def from_gemini_schema(schema):
    """Gemini's Schema dialect (what google-genai sends as responseSchema, from a pydantic model or
    `types.Schema`) as standard JSON schema: upper-case types lower-cased, `nullable` as a "null"
    type, `propertyOrdering` as the order of `properties`, int64 counts sent as strings as numbers."""
    if isinstance(schema, list):
        return [from_gemini_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    # the SDK sends some names in snake case (property_ordering, any_of, min_items...)
    schema = {_SNAKE_KEYS.get(k, k): v for k, v in schema.items()}
    out: dict = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            if value.upper() != "TYPE_UNSPECIFIED":
                out["type"] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            order = [k for k in schema.get("propertyOrdering") or [] if k in value]
            order += [k for k in value if k not in order]
            out["properties"] = {k: from_gemini_schema(value[k]) for k in order}
        elif key in ("items", "anyOf", "additionalProperties"):
            out[key] = from_gemini_schema(value)
        elif key in ("defs", "$defs") and isinstance(value, dict):
            out["$defs"] = {k: from_gemini_schema(v) for k, v in value.items()}
        elif key == "ref":
            out["$ref"] = value
        elif key in _COUNTS and isinstance(value, str) and value.isdigit():
            out[key] = int(value)
        elif key == "format":
            if value in _GEMINI_FORMATS:
                out["format"] = value
        elif key in ("nullable", "propertyOrdering", "example"):
            continue
        else:
            out[key] = value
    if isinstance(out.get("properties"), dict):
        names = list(out["properties"])
        out.setdefault("additionalProperties", False)  # Gemini writes the declared properties only
        out.setdefault("required", names)  # and, unless told which, fills them all in
        if isinstance(out.get("required"), list):  # in propertyOrdering's order (the grammar follows `required`'s)
            out["required"] = sorted(out["required"], key=lambda k: names.index(k) if k in names else len(names))
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
    return out


# -- responses --------------------------------------------------------------------------
def _usage(prompt: int, completion: int) -> dict:
    return {"promptTokenCount": prompt, "candidatesTokenCount": completion, "totalTokenCount": prompt + completion,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}


def _candidate(i: int, text: str, finish: str | None = None, calls: list | None = None) -> dict:
    """A candidate; `calls` (tools.Call, complete ones) become its functionCall parts."""
    parts = [{"functionCall": {"id": c.id, "name": c.name, "args": tools.partial_object(c.arguments)}}
             for c in calls or []] or [{"text": text}]
    c = {"content": {"parts": parts, "role": "model"}, "index": i}
    if finish:
        c["finishReason"] = FINISH.get(finish, "OTHER")
    return c


NO_THINKING_LEVELS = (None, "THINKING_LEVEL_UNSPECIFIED", "MINIMAL")


def refuse_thinking(model: str, cfg: dict) -> None:
    """The offline model has no thinking phase: a thinking_config that asks for one (thoughts
    included, a budget above 0, a thinking level) is a 400, as Gemini answers for models that
    cannot think; thinking_budget 0 (no thinking) and -1 (the model decides) are accepted."""
    tc = cfg.get("thinkingConfig")
    if not isinstance(tc, dict):
        return
    tc = _camel(tc)
    p = "generation_config.thinking_config."
    asked = []
    if field(tc, "includeThoughts", bool, False, label=p + "include_thoughts"):
        asked.append(p + "include_thoughts")
    if field(tc, "thinkingBudget", int, None, minimum=-1, label=p + "thinking_budget") not in (None, 0, -1):
        asked.append(p + "thinking_budget")
    level = field(tc, "thinkingLevel", str, None, label=p + "thinking_level")
    if (level.upper() if level else None) not in NO_THINKING_LEVELS:
        asked.append(p + "thinking_level")
    if asked:
        raise APIError(400, f"Thinking is not enabled for models/{_bare(model)}: {', '.join(asked)} asks for "
                            "thoughts, and the offline model answering for it has no thinking phase (leave "
                            "thinking_config out, or set thinking_budget=0).", param=asked[0])


async def generate(request: Request, model: str, body: dict, stream: bool):
    params, n = sampling(body)
    params.tools, params.tool_choice = await request_tools(body)
    cfg = _camel(body.get("generationConfig") or {})
    refuse_thinking(model, cfg)
    asked = {"temperature": cfg.get("temperature"), "top_p": cfg.get("topP"), "top_k": cfg.get("topK"),
             "seed": cfg.get("seed"), "stop": cfg.get("stopSequences"), "max_output_tokens": cfg.get("maxOutputTokens")}
    req = ChatRequest(model, messages_of(body), params, n=n, stream=stream, asked=asked)
    engine = engine_of(request)
    base = {"modelVersion": model, "responseId": uuid.uuid4().hex[:22]}
    if not stream:
        result = await complete(engine, req)
        cands = [_candidate(c.index, enum_text(body, c.text), c.gen.finish_reason,
                            tools.replay(c.tokens, c.gen)[:len(c.tool_calls)])  # a call cut short is left out
                 for c in result.choices]
        return JSONResponse({"candidates": cands, "usageMetadata": _usage(result.prompt_tokens,
                                                                          result.completion_tokens), **base})
    run_ = await start(engine, req)  # errors before any byte

    held = {} if _is_enum(body) else None  # text/x.enum: each candidate's value sent whole at its end

    async def chunks():
        calls = tools.Calls()
        async for p in run_.events():
            if p.kind == "start":
                calls = tools.Calls()
            elif p.kind == "token":
                if p.token.tool_call is None:
                    if held is not None:
                        held[p.index] = held.get(p.index, "") + p.token.text
                        continue
                    yield {"candidates": [_candidate(p.index, p.token.text)], **base}
                    continue
                for ev in calls.feed(p.token):  # a call is sent whole once the next one begins
                    if ev[0] == "start" and ev[1].index > 0:
                        yield {"candidates": [_candidate(p.index, "", None, [calls.calls[ev[1].index - 1]])], **base}
            elif p.kind == "end":
                done = len(getattr(p.gen, "tool_calls", None) or [])
                last_call = [calls.calls[-1]] if calls.calls and calls.calls[-1].index < done else []
                text = enum_text(body, held.pop(p.index, "")) if held is not None else ""
                last = {"candidates": [_candidate(p.index, text, p.gen.finish_reason, last_call)], **base}
                if p.index == n - 1:
                    last["usageMetadata"] = _usage(run_.prompt_tokens, run_.completion_tokens)
                yield last

    safe = guard(chunks(), lambda e: [stream_error(e)])
    if request.query_params.get("alt") == "sse":
        return sse_response(sse(c) async for c in safe)
    return json_array_response(safe)  # without alt=sse the API streams one JSON array


def stream_error(e: Exception) -> dict:
    """Headers are sent: the stream ends with an error object, as the API does."""
    return {"error": {"code": 500, "message": failure(e), "status": "INTERNAL"}}


async def count_tokens(request: Request, model: str, body: dict):
    inner = body.get("generateContentRequest")
    if inner is not None and body.get("contents") is not None:
        raise APIError(400, "Only one of 'contents' and 'generateContentRequest' may be set.", param="contents")
    req = _object(inner, "generate_content_request") if inner is not None else body
    specs, _ = await request_tools(req)  # the tools' block is billed as prompt: counted
    total = await count_chat(engine_of(request), messages_of(req), specs, model)
    return JSONResponse({"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]})


def _embed_text(model: str, req: dict, label: str) -> tuple[str, int | None]:
    """One EmbedContentRequest checked: (its text, outputDimensionality)."""
    named = req.get("model")
    if named is not None and (not isinstance(named, str) or _bare(named) != model):
        raise APIError(400, f"Invalid value at '{label}.model': it must name the model in the URL, models/{model}.",
                       param=f"{label}.model")
    _, text = _content_text(req.get("content"), f"{label}.content")
    if not text.strip():
        raise APIError(400, f"Invalid value at '{label}.content': there is no text to embed.", param=f"{label}.content")
    dims = field(req, "outputDimensionality", int, None, minimum=1, label=f"{label}.output_dimensionality")
    field(req, "taskType", str, None, label=f"{label}.task_type")
    return text, dims


async def _embed_all(request: Request, items: list[tuple[str, int | None]], labels: list[str]) -> list[list[float]]:
    """Embed each text at its own dimensionality, off the event loop."""
    out = []
    for (text, dims), label in zip(items, labels):
        try:
            out.append((await embed(engine_of(request), [text], dims))[0].tolist())
        except ValueError as e:
            raise APIError(400, f"Invalid '{label}.output_dimensionality': {e}.",
                           param=f"{label}.output_dimensionality") from None
    return out


async def embed_content(request: Request, model: str, body: dict):
    values = await _embed_all(request, [_embed_text(model, body, "request")], ["request"])
    return JSONResponse({"embedding": {"values": values[0]}})


async def batch_embed_contents(request: Request, model: str, body: dict):
    reqs = field(body, "requests", list, required=True)
    if not reqs:
        raise APIError(400, "Invalid value at 'requests': must not be empty.", param="requests")
    if len(reqs) > MAX_EMBED_INPUTS:
        raise APIError(400, f"Invalid value at 'requests': at most {MAX_EMBED_INPUTS} requests are allowed in a "
                            f"batch, got {len(reqs)}.", param="requests")
    labels = [f"requests[{i}]" for i in range(len(reqs))]
    items = [_embed_text(model, _object(r, lb), lb) for r, lb in zip(reqs, labels)]
    return JSONResponse({"embeddings": [{"values": v} for v in await _embed_all(request, items, labels)]})


METHODS = {"generateContent": lambda r, m, b: generate(r, m, b, False),
           "streamGenerateContent": lambda r, m, b: generate(r, m, b, True),
           "countTokens": count_tokens, "embedContent": embed_content, "batchEmbedContents": batch_embed_contents}


@router.post("/v1beta/models/{target:path}")
@router.post("/v1/models/{target:path}")
@router.post("/v1beta/tunedModels/{target:path}")
@router.post("/v1/tunedModels/{target:path}")
async def model_method(request: Request, target: str):
    """`models/M:method`: split on the last ':' (model ids never hold one)."""
    version = request.url.path.split("/")[1]
    name, _, method = target.rpartition(":")
    if method not in METHODS or not name:
        raise APIError(404, f"Unknown method '{method or target}' on {request.url.path}: use one of "
                            f"{', '.join(METHODS)}.", param="method")
    if "/tunedModels/" in request.url.path:
        name = "tunedModels/" + name
    model = _require(name, method, version)
    return await METHODS[method](request, model, _camel(await json_body(request)))


# -- models -----------------------------------------------------------------------------
def _entry(model: str, engine) -> dict:
    """A Model resource; limits are the offline engine's, since it is what answers."""
    embeds = _embeds(model)
    words = " ".join(w.capitalize() if not w[:1].isdigit() else w for w in model.split("-") if w)
    return {"name": f"models/{model}", "baseModelId": model, "version": "001", "displayName": words,
            "description": f"Offline stand-in for {model}, answered by the llmkit offline model ({engine.name}).",
            "inputTokenLimit": engine.context_length,
            "outputTokenLimit": 1 if embeds else engine.context_length,
            "supportedGenerationMethods": EMBED_METHODS if embeds else CHAT_METHODS,
            **({} if embeds else {"temperature": 1, "topP": 1, "topK": 0, "maxTemperature": 2})}


@router.get("/v1beta/models")
async def list_models(request: Request):
    q = request.query_params
    try:
        size = int(q.get("pageSize") or 50)
        offset = int(base64.urlsafe_b64decode(q["pageToken"]).decode()) if q.get("pageToken") else 0
    except ValueError:
        raise APIError(400, "Invalid 'pageSize' or 'pageToken': expected a positive integer and a token from "
                            "a previous page.", param="pageToken") from None
    if size < 1 or offset < 0:
        raise APIError(400, f"Invalid 'pageSize': {size}; it must be positive.", param="pageSize")
    ids = [m.id for m in catalog.models() if m.provider == "gemini" and not m.retired]
    page = ids[offset:offset + min(size, 1000)]
    body = {"models": [_entry(m, engine_of(request)) for m in page]}
    if offset + len(page) < len(ids):
        body["nextPageToken"] = base64.urlsafe_b64encode(str(offset + len(page)).encode()).decode()
    return JSONResponse(body)


@router.get("/v1beta/models/{model:path}")
async def get_model(request: Request, model: str):
    model = _bare(model)
    if ":" in model or not models.known(model):
        raise APIError(404, f"models/{model} is not found for API version {request.url.path.split('/')[1]}.",
                       param="model")
    return JSONResponse(_entry(model, engine_of(request)))

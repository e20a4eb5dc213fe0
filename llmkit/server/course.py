"""The course's own gateway API, shaped like the "LocalModels" gateway the course documents:
GET / (what runs here), GET /health, GET /models, POST /chat, POST /chat/{model_name}.
Errors are {"detail": "..."} with 400 (bad parameters), 404 (unknown model, in the body or
in the path), 500 and 503.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from .. import catalog
from ..engine import SamplingParams
from . import models
from .common import engine_of
from .errors import APIError
from .framing import DONE, sse, sse_response
from .run import ChatRequest, complete, failure, guard, start
from .validate import field, json_body

router = APIRouter()
DEFAULT_MODEL = catalog.default_for("offline")
ENDPOINTS = {"chat": "/chat", "chat_with_model": "/chat/{model_name}", "chat_completions": "/v1/chat/completions",
             "embeddings": "/v1/embeddings", "health": "/health", "models": "/models",
             "anthropic_messages": "/v1/messages", "gemini": "/v1beta/models/{model}:generateContent",
             "groq": "/openai/v1/chat/completions", "ollama_chat": "/api/chat", "docs": "/docs"}


def _available() -> dict[str, dict]:
    out = {}
    for m in catalog.models():
        if m.kind == "chat" and not m.retired:
            out[m.id] = {"name": m.id, "description": f"{m.provider} model {m.id}, answered offline by the course model",
                         "provider": m.provider, "aliases": list(m.aliases)}
    return out


@router.get("/")
async def root(request: Request):
    return {"message": "llmkit course gateway is running", "default_model": DEFAULT_MODEL,
            "engine": engine_of(request).name, "available_models": _available(), "endpoints": ENDPOINTS}


@router.get("/health")
async def health(request: Request):
    engine = engine_of(request)
    out = {"status": "healthy", "engine": engine.name, "engine_type": "llmkit-offline",
           "default_model": DEFAULT_MODEL, "available_models": list(_available())}
    routes = getattr(request.app.state, "router", None)
    if routes is not None:  # each upstream up or down (router.py), as the course's LocalModels gateway says it
        out["upstreams"] = await routes.health()
        ollama = [u["status"] for u in out["upstreams"] if u["wire"] == "ollama"]
        if ollama:
            out["ollama_service"] = "up" if "up" in ollama else "down"
        out["available_models"] = [n for n, _ in models.router.listed()] + \
            (out["available_models"] if routes.offline_default else [])
    return out


@router.get("/models")
async def list_models(request: Request):
    engine = engine_of(request)
    names = [DEFAULT_MODEL] + [m.id for m in catalog.models() if m.provider == "ollama" and m.kind == "chat"]
    names += [n for n in request.app.state.created.custom if n not in names]
    own = [models.tag_entry(n, engine) for n in names] if models.router.offline_on() else []
    return {"models": models.routed_tags() + own}


async def _chat(request: Request, model: str | None):
    body = await json_body(request)
    message = field(body, "message", str, required=True)
    if not message.strip():
        raise APIError(400, "Invalid 'message': it must not be empty.", param="message")
    if model is None:
        model = field(body, "model", str, None) or DEFAULT_MODEL
        if not models.known(model):
            raise _unknown(model, "model")
    max_tokens = field(body, "max_tokens", int, 512, minimum=1)
    temperature = field(body, "temperature", float, 0.7, minimum=0, maximum=2)
    reasoning = field(body, "reasoning", str, "medium", choices=("low", "medium", "high"))
    stream = field(body, "stream", bool, False)
    messages = [{"role": "system", "content": f"You are a helpful assistant. Reasoning: {reasoning}"},
                {"role": "user", "content": message}]
    params = SamplingParams(max_tokens=max_tokens, temperature=temperature)
    # a created model's parameters fill what the body left out (its defaults above included)
    req = ChatRequest(model, messages, params, stream=stream, asked=body)
    engine = engine_of(request)
    if stream:
        run_ = await start(engine, req)

        async def events():
            async for p in run_.events():
                if p.kind == "token":
                    yield sse({"response": p.token.text})
                elif p.kind == "end":
                    yield sse({"done": True, "model": model, "finish_reason": p.gen.finish_reason,
                               "usage": _usage(p.gen)})
            yield DONE

        return sse_response(guard(events(), lambda e: [sse({"error": failure(e)})]))  # headers sent: say so
    result = await complete(engine, req)
    gen = result.choices[0].gen
    return JSONResponse({"response": result.choices[0].text, "model": model,
                         "finish_reason": gen.finish_reason, "usage": _usage(gen)})


def _unknown(name: str, param: str) -> APIError:
    """The same 404 for an unknown model whether it came in the body or in the path."""
    return APIError(404, f"Model {name!r} not found. Available models: {', '.join(_available())}.", param=param)


def _usage(gen) -> dict:
    return {"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens}


@router.post("/chat")
async def chat(request: Request):
    return await _chat(request, None)


@router.post("/chat/{model_name:path}")
async def chat_with_model(request: Request, model_name: str):
    if not models.known(model_name):
        raise _unknown(model_name, "model_name")
    return await _chat(request, model_name)

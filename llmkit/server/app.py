"""The gateway's app factory: one engine, one router per protocol.

`create_app()` builds the FastAPI app; a small ASGI middleware in front of it adds the
`id` and `backend` headers to every response, turns away requests without the API key
when one is configured, and serves scheduled faults (faults.py), all in the caller's
own protocol format. Errors anywhere become
`APIError`s rendered by `errors.render`, so a bad request never becomes a 500 and the
server keeps serving.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import uuid
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ..engine import Engine, EngineInputError, get_engine
from . import faults as faults_mod
from .errors import APIError, protocol_of, render

log = logging.getLogger("llmkit.server")

ROUTERS = ["course", "openai", "anthropic", "gemini", "ollama", "faults"]  # modules with a `router`


@dataclass
class Settings:
    api_key: str | None = None  # require `Authorization: Bearer <key>` (or the protocol's key header)
    retry_after: float = 1.0  # seconds, in 429/503 answers
    open_paths: set[str] = field(default_factory=lambda: {"/health"})


def _key_from(headers: dict[str, str], query: str) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for h in ("x-api-key", "x-goog-api-key"):
        if headers.get(h):
            return headers[h]
    for part in query.split("&"):
        if part.startswith("key="):
            return part[4:]
    return None


class GatewayMiddleware:
    """Adds `id`/`backend` headers; enforces the optional API key; serves injected faults."""

    def __init__(self, app, settings: Settings, backend: str, faults: faults_mod.Schedule):
        self.app = app
        self.settings = settings
        self.backend = backend.encode()
        self.faults = faults

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = uuid.uuid4().hex
        extra = [(b"id", rid.encode()), (b"x-request-id", rid.encode()), (b"request-id", rid.encode()),
                 (b"backend", self.backend)]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        path = scope["path"]
        key = self.settings.api_key
        faults = self.faults.faults and scope["method"] == "POST" and not path.startswith("/admin/")
        if not (key and path not in self.settings.open_paths) and not faults:
            return await self.app(scope, receive, send_with_headers)  # the common case: nothing to check
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        proto = protocol_of(path, headers, query)
        if key and path not in self.settings.open_paths:
            given = _key_from(headers, query)
            if not given or not secrets.compare_digest(given.encode(), key.encode()):
                what = "No API key provided" if not given else "Incorrect API key provided"
                err = APIError(401, f"{what}. This gateway requires the key set in LLMKIT_API_KEY, sent as "
                                    "'Authorization: Bearer <key>'.", code="invalid_api_key",
                               type="authentication_error" if proto == "anthropic" else None)
                status, hdrs, body = render(proto, err)
                await send_with_headers({"type": "http.response.start", "status": status,
                                         "headers": [(k.encode(), v.encode()) for k, v in hdrs.items()]})
                await send_with_headers({"type": "http.response.body", "body": body})
                return
        if faults:
            fault = self.faults.take(faults_mod.provider_of(path, proto))
            if fault is not None:
                log.info("injecting %s into %s %s", fault.kind, scope["method"], path)
                return await faults_mod.apply(fault, proto, self.app, scope, receive, send_with_headers,
                                              self.settings.retry_after)
        await self.app(scope, receive, send_with_headers)


def error_response(request: Request, err: APIError) -> Response:
    proto = protocol_of(request.url.path, request.headers, request.url.query)
    status, headers, body = render(proto, err)
    return Response(body, status_code=status, headers=headers)


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    import importlib

    engine = engine or get_engine()
    settings = settings or Settings(api_key=os.environ.get("LLMKIT_API_KEY") or None)
    app = FastAPI(title="llmkit gateway", version="1", docs_url="/docs", redoc_url=None,
                  description="One local server that speaks OpenAI's, Anthropic's, Gemini's, Groq's and "
                              "Ollama's protocols and the course's own /chat API, answered by the offline model.")
    app.state.engine = engine
    app.state.settings = settings
    app.state.faults = faults_mod.Schedule()

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError):
        return error_response(request, exc)

    @app.exception_handler(EngineInputError)
    async def _engine_error(request: Request, exc: EngineInputError):
        return error_response(request, APIError(400, str(exc), param=exc.param, code=exc.code))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        msg = {404: f"Unknown path: {request.method} {request.url.path}",
               405: f"Method {request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return error_response(request, APIError(exc.status_code, msg))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_response(request, APIError(400, f"Invalid '{loc}': {first.get('msg', 'invalid value')}", param=loc))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect):
        return Response(status_code=499)  # the client left (e.g. its timeout): nothing to report

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, APIError(500, f"The gateway failed on this request: {type(exc).__name__}: {exc}"))

    for name in ROUTERS:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__package__}.{name}":
                continue  # protocol not built yet
            raise
        app.include_router(module.router)

    backend = json.dumps({"engine_type": "llmkit-offline", "engine": engine.name,
                          "machine_name": socket.gethostname()})
    app.add_middleware(GatewayMiddleware, settings=settings, backend=backend, faults=app.state.faults)
    return app

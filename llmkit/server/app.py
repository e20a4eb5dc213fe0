"""The gateway's app factory: one engine, one router per protocol.

`create_app()` builds the FastAPI app; a small ASGI middleware in front of it adds the
`id` and `backend` headers to every response, enforces the body-size limit (413), turns
away requests without the API key when one is configured, keeps /admin/ to the admin key
(or to loopback clients when there is none), and serves scheduled faults (faults.py), all
in the caller's own protocol format. Errors anywhere become `APIError`s rendered by
`errors.render`, so a bad request never becomes a 500 and the server keeps serving.
Secrets sent in a URL (`?key=`) are masked in the access log (`RedactSecrets`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ..engine import Engine, EngineInputError, get_engine
from . import faults as faults_mod
from . import models
from .errors import APIError, protocol_of, render

log = logging.getLogger("llmkit.server")

ROUTERS = ["course", "openai", "responses", "anthropic", "gemini", "model_list", "ollama", "ollama_models", "faults"]  # modules with a `router`


DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024  # 4 MiB: the model's 8,192-token context is ~32 KB of text


def _env_body_limit() -> int:
    raw = os.environ.get("LLMKIT_MAX_BODY_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    if not raw.isdigit() or int(raw) < 1024:
        raise ValueError(f"LLMKIT_MAX_BODY_BYTES must be a whole number of bytes, at least 1024 (got {raw!r})")
    return int(raw)


@dataclass
class Settings:
    api_key: str | None = None  # require `Authorization: Bearer <key>` (or the protocol's key header)
    retry_after: float = 1.0  # seconds, in 429/503 answers
    open_paths: set[str] = field(default_factory=lambda: {"/health"})
    # /admin/ (faults): this key only; with none, loopback clients only (the API key does not open it)
    admin_key: str | None = field(default_factory=lambda: os.environ.get("LLMKIT_ADMIN_KEY") or None)
    max_body_bytes: int = field(default_factory=_env_body_limit)  # larger bodies get a 413
    gateway: object | None = None  # routes to upstreams and classroom mode (gateway_config.GatewayConfig)
    data_dir: Path | None = None  # where created Ollama models are kept (None: store.data_dir() when the app is made)


def _key_from(headers: dict[str, str], query: str) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for h in ("x-api-key", "x-goog-api-key"):
        if headers.get(h):
            return headers[h]
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "key":
            return value
    return None


def _same(given: str | None, key: str) -> bool:
    return bool(given) and secrets.compare_digest(given.encode(), key.encode())


def is_loopback(client) -> bool:
    """Whether an ASGI `client` (host, port) is this machine (a Unix socket counts)."""
    if not client:
        return True
    try:
        ip = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


class BodyTooLarge(APIError):
    def __init__(self, limit: int, size: int | None = None):
        got = f" ({size:,} bytes)" if size is not None else ""
        super().__init__(413, f"Request body too large{got}: this gateway accepts at most {limit:,} bytes "
                              "(set LLMKIT_MAX_BODY_BYTES or `llmkit serve --max-body-bytes` to change it).",
                         code="request_too_large")


_SECRET_PARAM = re.compile(r"(?i)([?&][^=&#\s]*(?:key|token|secret|password|passwd|auth|signature|sig)[^=&#\s]*=)"
                           r"[^&#\s\"]*")


def redact(text: str) -> str:
    """A URL or log line with the values of secret-looking query parameters masked."""
    return _SECRET_PARAM.sub(r"\1***", text) if "=" in text else text


class RedactSecrets(logging.Filter):
    """Masks `?key=...` (and api_key, token, ...) in access-log lines: a key sent in the URL,
    as Gemini's REST API allows, must not end up in a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "llmkit.server"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


class GatewayMiddleware:
    """Adds `id`/`backend` headers; enforces the optional API key; serves injected faults;
    makes the app's created models the current ones for the request (models.use)."""

    def __init__(self, app, settings: Settings, backend: str, faults: faults_mod.Schedule,
                 created: models.CreatedModels):
        self.app = app
        self.settings = settings
        self.backend = backend.encode()
        self.faults = faults
        self.created = created

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        token = models.use(self.created)  # this app's created models, for every route of this request
        try:
            await self._http(scope, receive, send)
        finally:
            models.done(token)

    async def _http(self, scope, receive, send):
        started = False

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._checked(scope, receive, tracked)
        except Exception as exc:
            # Starlette's own last-resort handler answers and then re-raises, and uvicorn closes the
            # connection on a re-raise: the client's next request on that keep-alive connection fails.
            if started:
                raise  # mid-response: nothing well-formed can be sent; closing says it was cut
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            await _answer(send, _protocol(scope)[0], unexpected(exc))

    async def _checked(self, scope, receive, send):
        rid = uuid.uuid4().hex
        extra = [(b"id", rid.encode()), (b"x-request-id", rid.encode()), (b"request-id", rid.encode()),
                 (b"backend", self.backend)]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                headers = list(message.get("headers", []))
                routed = any(k == b"backend" for k, _ in headers)  # an upstream answered (router.py)
                message["headers"] = headers + [h for h in extra if not (routed and h[0] == b"backend")]
            await send(message)

        async def refuse(err: APIError):
            await _answer(send_with_headers, proto, err)

        path = scope["path"]
        limit = self.settings.max_body_bytes
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        receive = _limited(receive, limit)
        key = self.settings.api_key
        admin = path == "/admin" or path.startswith("/admin/")
        faults = self.faults.faults and scope["method"] == "POST" and not admin
        too_big = length is not None and length.isdigit() and int(length) > limit
        if not (key and path not in self.settings.open_paths) and not faults and not admin and not too_big:
            return await self.app(scope, receive, send_with_headers)  # the common case: nothing to check
        proto, headers, query = _protocol(scope)
        if too_big:
            return await refuse(BodyTooLarge(limit, int(length)))
        given = _key_from(headers, query) if key or admin else None
        if admin and self.settings.admin_key:
            if not _same(given, self.settings.admin_key):
                what = "No admin key provided" if not given else "Incorrect admin key provided"
                return await refuse(APIError(401, f"{what}: /admin/ routes need the admin key set in "
                                                  "LLMKIT_ADMIN_KEY (`llmkit serve --admin-key`), sent as "
                                                  "'Authorization: Bearer <admin key>'.", code="invalid_api_key"))
            key = None  # the admin key stands in for the API key here
        elif admin and not is_loopback(scope.get("client")):
            return await refuse(APIError(403, "/admin/ routes answer only to this machine (loopback) unless an "
                                              "admin key is set: start the gateway with --admin-key or "
                                              "LLMKIT_ADMIN_KEY.", code="permission_denied"))
        if key and path not in self.settings.open_paths:
            if not _same(given, key):
                what = "No API key provided" if not given else "Incorrect API key provided"
                return await refuse(APIError(401, f"{what}. This gateway requires the key set in LLMKIT_API_KEY, "
                                                  "sent as 'Authorization: Bearer <key>'.", code="invalid_api_key",
                                             type="authentication_error" if proto == "anthropic" else None))
        if faults:
            fault = self.faults.take(faults_mod.provider_of(path, proto))
            if fault is not None:
                log.info("injecting %s into %s %s", fault.kind, scope["method"], path)
                return await faults_mod.apply(fault, proto, self.app, scope, receive, send_with_headers,
                                              self.settings.retry_after)
        await self.app(scope, receive, send_with_headers)


def _protocol(scope) -> tuple[str, dict[str, str], str]:
    """(the protocol a request speaks, its headers lower-cased, its query string)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query = scope.get("query_string", b"").decode("latin-1")
    return protocol_of(scope["path"], headers, query), headers, query


async def _answer(send, proto: str, err: APIError) -> None:
    """`err` as the whole response, in protocol `proto`'s own format."""
    status, hdrs, body = render(proto, err)
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in hdrs.items()]})
    await send({"type": "http.response.body", "body": body})


def unexpected(exc: Exception) -> APIError:
    """The 500 a failure nobody anticipated becomes (never a stack trace in the body)."""
    return APIError(500, f"The gateway failed on this request: {type(exc).__name__}: {exc}")


def _limited(receive, limit: int):
    """`receive` that raises a 413 (BodyTooLarge) once more than `limit` body bytes arrive,
    for bodies sent without a Content-Length (chunked) or with a false one."""
    seen = 0

    async def wrapped():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return wrapped


def _allowed_methods(request: Request) -> str:
    """Every method some route serves on this path (what a 405's Allow header lists)."""
    from starlette.routing import Match

    routes = request.app.router.routes
    allowed = [m for m in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
               if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)]
    return ", ".join(allowed)


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
    app.state.created = models.CreatedModels.load(settings.data_dir)  # Ollama's created models, from earlier runs

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
        headers = {}
        if exc.status_code == 405:
            allow = _allowed_methods(request) or (exc.headers or {}).get("Allow", "")
            headers["allow"] = allow
            msg += f" (allowed: {allow})"
        return error_response(request, APIError(exc.status_code, msg, headers=headers))

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
        return error_response(request, unexpected(exc))

    for name in ROUTERS:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__package__}.{name}":
                continue  # protocol not built yet
            raise
        app.include_router(module.router)

    install_log_redaction()
    if settings.gateway is not None:  # inside the middleware below: it checks admin keys and faults first
        from .gateway_config import install

        install(app, settings)
    backend = json.dumps({"engine_type": "llmkit-offline", "engine": engine.name,
                          "machine_name": socket.gethostname()})
    app.add_middleware(GatewayMiddleware, settings=settings, backend=backend, faults=app.state.faults,
                       created=app.state.created)
    return app

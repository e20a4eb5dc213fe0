"""Which backend answers which model name, for every protocol at once.

`Router` holds the routes (a model name or a glob such as "llama*" -> an `Upstream`), tried
in order; a name no route takes goes to the offline model (or is a 404 when the config says
`default = "none"`). It lives on the app (`app.state.router`); `RoutingMiddleware` makes the
app's router the current one for each request, so the pipeline (run.py) and the model
checks (models.known) see it without any adapter knowing: the Anthropic SDK over a
llama.cpp upstream, the Ollama SDK over vLLM, the course's /chat over a real provider.

The middleware also refreshes what upstreams list before GET /v1/models, /models and
/api/tags (a few seconds' cache, each upstream asked at most `list_timeout` seconds), and
holds a `Meter` per request where the pipeline notes the tokens used (classroom mode
bills them).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import fnmatch
import time
from dataclasses import dataclass, field

from .upstreams import Upstream, UpstreamError


@dataclass
class Meter:
    """What one request used: filled by the pipeline, read once the response is sent."""

    model: str | None = None
    upstream: Upstream | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0


@dataclass
class Scope:
    router: "Router | None"
    meter: Meter = field(default_factory=Meter)


_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("llmkit_route_scope", default=None)


def current() -> Scope | None:
    return _current.get()


def upstream_for(model: str) -> Upstream | None:
    """The upstream that answers `model` for the current request (None: the offline model)."""
    s = _current.get()
    return s.router.route(model) if s and s.router else None


def serves(model: str) -> bool | None:
    """True if a route takes `model`; False if no route does and the offline model is off;
    None when the offline rules decide (no router, or the default is offline)."""
    s = _current.get()
    if not s or not s.router:
        return None
    if s.router.route(model) is not None:
        return True
    return None if s.router.offline_default else False


def offline_on() -> bool:
    """Whether names no route takes go to the offline model (for the current request)."""
    s = _current.get()
    return not (s and s.router) or s.router.offline_default


def chose(up: Upstream) -> None:
    """The pipeline sends this request to `up` (before any byte of the answer)."""
    s = _current.get()
    if s is not None:
        s.meter.upstream = up


def note(model: str, prompt_tokens: int, completion_tokens: int) -> None:
    """The pipeline reports a finished reply's tokens (for the request's meter)."""
    s = _current.get()
    if s is None:
        return
    m = s.meter
    m.model = m.model or model
    m.upstream = m.upstream or upstream_for(model)
    m.prompt_tokens += prompt_tokens
    m.completion_tokens += completion_tokens
    m.calls += 1


def listed() -> list[tuple[str, Upstream]]:
    """(model name, upstream) for what the current router's upstreams serve (cached)."""
    s = _current.get()
    return s.router.listed() if s and s.router else []


class Router:
    """Routes tried in order; `offline_default` sends other names to the offline model."""

    LIST_TTL = 5.0

    def __init__(self, routes: list[tuple[str, Upstream]], offline_default: bool = True,
                 list_timeout: float = 1.0):
        self.routes = routes
        self.offline_default = offline_default
        self.list_timeout = list_timeout
        self._listed: dict[str, list[str]] = {}
        self._listed_at = 0.0

    @property
    def upstreams(self) -> list[Upstream]:
        out: list[Upstream] = []
        for _, u in self.routes:
            if all(u is not o for o in out):
                out.append(u)
        return out

    def route(self, model: str) -> Upstream | None:
        if not isinstance(model, str):
            return None
        for pattern, up in self.routes:
            if pattern == model or (_is_glob(pattern) and fnmatch.fnmatchcase(model, pattern)):
                return up
        return None

    async def check(self, up: Upstream) -> tuple[bool, list[str], str | None]:
        """(up?, the names it serves, why not) asked of the upstream now."""
        try:
            names = await asyncio.wait_for(up.models(), self.list_timeout + up.connect_timeout)
            return True, names, None
        except UpstreamError as e:
            return False, [], e.message
        except asyncio.TimeoutError:
            return False, [], f"The {up.label} did not list its models within {self.list_timeout:g} s."

    async def refresh(self, force: bool = False) -> dict[str, tuple[bool, list[str], str | None]]:
        """Ask every upstream what it serves (all at once); cached LIST_TTL seconds."""
        ups = self.upstreams
        results = await asyncio.gather(*(self.check(u) for u in ups))
        self._listed = {u.name: r[1] for u, r in zip(ups, results)}
        self._listed_at = time.monotonic()
        return {u.name: r for u, r in zip(ups, results)}

    async def refresh_if_stale(self) -> None:
        if time.monotonic() - self._listed_at > self.LIST_TTL:
            await self.refresh()

    def listed(self) -> list[tuple[str, Upstream]]:
        """Names the routes send to an upstream: exact names always, the upstream's own names
        where a route's glob takes them."""
        out, seen = [], set()
        for pattern, up in self.routes:
            names = [pattern] if not _is_glob(pattern) else \
                [n for n in self._listed.get(up.name, []) if fnmatch.fnmatchcase(n, pattern)]
            for n in names:
                if n not in seen and self.route(n) is up:
                    seen.add(n)
                    out.append((n, up))
        return out

    async def health(self) -> list[dict]:
        """Each upstream: up or down, why, and what it serves (for GET /health)."""
        checked = await self.refresh()
        out = []
        for up in self.upstreams:
            ok, names, why = checked[up.name]
            entry = {"name": up.name, "url": up.base_url, "wire": up.wire, "status": "up" if ok else "down",
                     "routes": [p for p, u in self.routes if u is up]}
            if up.provider:
                entry["provider"] = up.provider
                entry["key"] = "set" if up.key() else f"missing ({' or '.join(up.key_env)})"
            if ok:
                entry["models"] = names[:50]
            else:
                entry["error"] = why
            out.append(entry)
        return out

    async def aclose(self) -> None:
        for up in self.upstreams:
            await up.aclose()


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


LISTING_PATHS = ("/v1/models", "/openai/v1/models", "/v1beta/openai/models", "/models", "/api/tags")


class RoutingMiddleware:
    """Makes the app's router (and a fresh Meter) current for each request."""

    def __init__(self, app, router: Router | None):
        self.app = app
        self.router = router

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.router is not None and scope["method"] == "GET" and scope["path"] in LISTING_PATHS:
            await self.router.refresh_if_stale()
        meter = scope.get("llmkit.meter") or Meter()
        token = _current.set(Scope(self.router, meter))

        async def name_backend(message):
            # the `backend` header names the upstream that answered (the gateway's own says the offline engine)
            if message["type"] == "http.response.start" and meter.upstream is not None:
                up = meter.upstream
                value = json.dumps({"engine_type": "upstream", "engine": up.name, "wire": up.wire})
                message = {**message, "headers": list(message.get("headers", [])) + [(b"backend", value.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, name_backend)
        finally:
            _current.reset(token)


def install(app, router: Router | None) -> None:
    """Route this app's model names with `router` (kept on app.state.router; None: only a Meter
    per request, for classroom mode over the offline model)."""
    app.state.router = router
    app.add_middleware(RoutingMiddleware, router=router)
    if router is not None:  # the upstreams' connection pools close with the app
        inner = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(a):
            async with inner(a) as state:
                try:
                    yield state
                finally:
                    await router.aclose()

        app.router.lifespan_context = lifespan

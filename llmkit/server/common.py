"""Running the engine from async handlers, shared by every protocol adapter.

The engine is synchronous numpy code; these helpers run it in the thread pool so the
event loop keeps serving other requests while a reply is generated or streamed.
"""

from __future__ import annotations

import json
import time
from typing import AsyncIterator

from anyio import CapacityLimiter, to_thread
from starlette.requests import Request

from ..engine import Engine, Generation, SamplingParams, Token

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
_limiter: CapacityLimiter | None = None


def _engine_limiter() -> CapacityLimiter:
    """One engine thread at a time: the model is CPU-bound Python/numpy under the GIL, so
    more threads only thrash; requests take turns at token granularity instead."""
    global _limiter
    if _limiter is None:
        _limiter = CapacityLimiter(1)
    return _limiter


async def run(fn, *args):
    return await to_thread.run_sync(fn, *args, limiter=_engine_limiter())


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


async def complete(engine: Engine, messages: list[dict], params: SamplingParams) -> tuple[list[Token], Generation]:
    """Generate a whole reply: (tokens, finished generation)."""

    def run_all():
        gen = engine.generate(messages, params)
        return list(gen), gen

    return await run(run_all)


async def start(engine: Engine, messages: list[dict], params: SamplingParams) -> Generation:
    """Begin a generation (prompt checks happen here, before any byte is sent)."""
    return await run(engine.generate, messages, params)


_DONE = object()


async def tokens(gen: Generation) -> AsyncIterator[Token]:
    """Tokens as the engine makes them, one engine turn per token so streams interleave."""
    it = iter(gen)
    while True:
        t = await run(next, it, _DONE)
        if t is _DONE:
            return
        yield t


def sse(data: dict | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def now() -> int:
    return int(time.time())

"""Running the engine from async handlers, shared by every protocol adapter.

The engine is synchronous numpy code; these helpers run it in the thread pool so the
event loop keeps serving other requests while a reply is generated or streamed.
"""

from __future__ import annotations

import json
import time
from typing import AsyncIterator

from anyio import to_thread
from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request

from ..engine import Engine, Generation, SamplingParams, Token

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


async def complete(engine: Engine, messages: list[dict], params: SamplingParams) -> tuple[list[Token], Generation]:
    """Generate a whole reply: (tokens, finished generation)."""

    def run():
        gen = engine.generate(messages, params)
        return list(gen), gen

    return await to_thread.run_sync(run)


async def start(engine: Engine, messages: list[dict], params: SamplingParams) -> Generation:
    """Begin a generation (prompt checks happen here, before any byte is sent)."""
    return await to_thread.run_sync(engine.generate, messages, params)


async def tokens(gen: Generation) -> AsyncIterator[Token]:
    async for t in iterate_in_threadpool(iter(gen)):
        yield t


def sse(data: dict | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def now() -> int:
    return int(time.time())

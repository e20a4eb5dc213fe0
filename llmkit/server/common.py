"""Running the engine from async handlers, shared by every protocol adapter.

The engine is synchronous numpy code; these helpers run it in the thread pool so the
event loop keeps serving other requests (and /health answers at once) while a reply is
generated or streamed, texts are embedded or prompts are tokenized. A prompt far longer
than the context is refused from its length in characters, before any tokenizing.
"""

from __future__ import annotations

import time
from typing import AsyncIterator

from anyio import CapacityLimiter, to_thread
from starlette.requests import Request

from ..engine import Engine, EngineInputError, Generation, SamplingParams, Token
from ..engine.scheduler import enabled as scheduler_enabled
from . import models

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


async def off_loop(fn, *args):
    """Run `fn` in a worker thread (not the engine's turn: tokenizing, hashing, file writes)."""
    return await to_thread.run_sync(fn, *args)


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


_token_chars: dict[str, int] = {}


def max_token_chars(engine: Engine) -> int:
    """The most characters one token of this engine's vocabulary can stand for (+1 slack)."""
    if engine.name not in _token_chars:
        try:  # through the engine's interface (decode, vocab), not its tokenizer
            longest = max(len(engine.decode([i])) for i in range(engine.vocab))
        except Exception:
            longest = 63
        _token_chars[engine.name] = longest + 1
    return _token_chars[engine.name]


def text_limit(engine: Engine) -> int:
    """Characters beyond which a text surely holds more tokens than the context."""
    return engine.context_length * max_token_chars(engine)


def check_prompt_size(engine: Engine, messages: list[dict]) -> None:
    """Refuse, without tokenizing, a prompt whose length alone proves it cannot fit."""
    chars = sum(len(m.get("content") or "") for m in messages)
    if chars > text_limit(engine):
        raise EngineInputError(
            f"This model's maximum context length is {engine.context_length} tokens. However, your messages are "
            f"{chars:,} characters long: at least {chars // max_token_chars(engine):,} tokens.",
            param="messages", code="context_length_exceeded")


async def count_chat(engine: Engine, messages: list[dict], tools: list | None = None, model: str | None = None) -> int:
    """Tokens in a templated conversation with the tools offered (what generation bills as the
    prompt), counted off the event loop; with `model`, as the run step sends it (a created model's
    saved messages and system prompt first, run.start)."""
    if model is not None:
        messages, _ = models.apply_custom(model, messages)
    check_prompt_size(engine, messages)
    if tools:
        return await off_loop(engine.count_chat_tokens, messages, tools)
    return await off_loop(engine.count_chat_tokens, messages)


async def count_texts(engine: Engine, texts: list[str]) -> list[int]:
    return await off_loop(lambda: [engine.count_tokens(t) for t in texts])


async def embed(engine: Engine, texts: list[str], dimensions: int | None = None):
    """Embeddings, one input per engine turn so other requests interleave; an input is cut
    to `text_limit` characters (the model reads no further than its context anyway).
    Raises ValueError for bad `dimensions`, as engine.embed does."""
    import numpy as np

    limit = text_limit(engine)
    rows = [await run(engine.embed, [t[:limit]], dimensions) for t in texts]
    return np.concatenate(rows, axis=0) if rows else np.zeros((0, dimensions or 1), dtype=np.float32)


async def complete(engine: Engine, messages: list[dict], params: SamplingParams) -> tuple[list[Token], Generation]:
    """Generate a whole reply: (tokens, finished generation)."""
    check_prompt_size(engine, messages)
    if _batched(engine):
        gen = await start(engine, messages, params)
        return [t async for t in tokens(gen)], gen

    def run_all():
        gen = engine.generate(messages, params)
        return list(gen), gen

    return await run(run_all)


def _batched(engine: Engine) -> bool:
    """The engine batches concurrent replies itself (engine/scheduler.py): its generate() only
    prepares, so it need not wait for the engine's turn, and its Generation is read asynchronously."""
    return getattr(engine, "_scheduler", False) is not False and scheduler_enabled()


async def start(engine: Engine, messages: list[dict], params: SamplingParams) -> Generation:
    """Begin a generation (prompt checks happen here, before any byte is sent)."""
    check_prompt_size(engine, messages)
    if _batched(engine):
        return await off_loop(engine.generate, messages, params)
    return await run(engine.generate, messages, params)


_DONE = object()


async def tokens(gen: Generation) -> AsyncIterator[Token]:
    """Tokens as the engine makes them. A batched engine's Generation is read as its scheduler
    fills it; any other runs one engine turn per token so streams interleave. Whichever way
    the stream ends (done, error, the client left and the response was cancelled or dropped),
    the Generation is closed, so the engine stops working for a reader who is gone."""
    try:
        if hasattr(gen, "__aiter__"):
            async for t in gen:
                yield t
            return
        it = iter(gen)
        while True:
            t = await run(next, it, _DONE)
            if t is _DONE:
                return
            yield t
    finally:
        close = getattr(gen, "close", None)
        if close is not None and gen.finish_reason is None:
            close()


def now() -> int:
    return int(time.time())

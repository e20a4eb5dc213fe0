"""The one request pipeline: what every protocol adapter hands its parsed request to.

An adapter parses its wire format into a `ChatRequest` and renders what comes back; the
run step here is the same for every protocol (the shape of Ollama's server, where the
OpenAI layer only translates):

- created models (Ollama's /api/create) applied: their messages and system prompt go
  first, their parameters fill what the request left out (`ChatRequest.asked`);
- n choices, choice i seeded with seed + i (reproducible, yet not n copies);
- `complete()` for a whole reply, `start()` for a stream: the prompt is checked before
  any byte is sent, so a bad prompt is still a 4xx in the protocol's format;
- `Stream.events()` yields each choice's tokens then its end, and stops the engine's
  work when the client leaves (the response's task is cancelled);
- `guard()` hands a failure after the headers went out to the protocol's own renderer
  (an error event or line in its format) instead of tearing the connection.

The engine is called only through common.py's helpers (they run it off the event loop).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import AsyncIterable, AsyncIterator, Callable, Iterable

from ..engine import Engine, Generation, SamplingParams, Token
from . import common, models, router
from .errors import APIError

log = logging.getLogger("llmkit.server")


@dataclass
class ChatRequest:
    """A chat request in no protocol's words. `params` holds the sampling settings (max
    tokens, temperature, top-p/k, stop, seed, json_schema / json_object, logprobs)."""

    model: str
    messages: list[dict]
    params: SamplingParams
    n: int = 1
    stream: bool = False
    # the request's own fields (by Ollama option names or the aliases in models.OPTION_ALIASES):
    # a created model's parameters apply only where the request set nothing
    asked: dict | None = None


@dataclass
class Choice:
    index: int
    tokens: list[Token]
    gen: Generation
    first_ns: int | None = None  # perf_counter_ns() at the first token (when timed)

    @property
    def text(self) -> str:
        return "".join(t.text for t in self.tokens if t.tool_call is None)

    @property
    def tool_calls(self) -> list[dict]:
        """The reply's tool calls ([{"id", "name", "arguments"}]), empty for a text reply."""
        return list(getattr(self.gen, "tool_calls", None) or [])


@dataclass
class Result:
    choices: list[Choice]
    req: ChatRequest  # as run: created model applied

    @property
    def prompt_tokens(self) -> int:
        return self.choices[0].gen.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return sum(c.gen.completion_tokens for c in self.choices)


def resolve(req: ChatRequest) -> ChatRequest:
    """The request with a created model's messages and parameters applied (other names unchanged)."""
    messages, params = models.apply_custom(req.model, req.messages, req.asked, req.params)
    return replace(req, messages=messages, params=params)


def seeded(params: SamplingParams, i: int) -> SamplingParams:
    """Choice i's parameters: seed + i, so n seeded choices differ yet repeat run to run."""
    return params if i == 0 or params.seed is None else replace(params, seed=params.seed + i)


async def complete(engine: Engine, req: ChatRequest, *, timed: bool = False) -> Result:
    """Every choice, whole. `timed` records when each choice's first token came (Ollama reports it)."""
    up = router.upstream_for(req.model)  # a routed name: the upstream answers (router.py)
    if up is not None:
        result = await up.complete(req)
        router.note(req.model, result.prompt_tokens, result.completion_tokens)
        return result
    req = resolve(req)
    choices = []
    for i in range(req.n):
        params = seeded(req.params, i)
        if not timed:
            toks, gen = await common.complete(engine, req.messages, params)
            choices.append(Choice(i, toks, gen))
            continue
        gen, toks, first = await common.start(engine, req.messages, params), [], None
        async for t in common.tokens(gen):
            first = first or time.perf_counter_ns()
            toks.append(t)
        choices.append(Choice(i, toks, gen, first))
    result = Result(choices, req)
    router.note(req.model, result.prompt_tokens, result.completion_tokens)
    return result


@dataclass
class Piece:
    """One streamed step of choice `index`: its "start" (before any token is made), a
    "token", or its "end" (then `gen` holds the finish reason and counts)."""

    kind: str
    index: int
    gen: Generation
    token: Token | None = None


class Stream:
    """Started generations, one per choice; iterate `events()` once."""

    def __init__(self, req: ChatRequest, gens: list[Generation]):
        self.req = req
        self.gens = gens

    @property
    def prompt_tokens(self) -> int:
        return self.gens[0].prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return sum(g.completion_tokens for g in self.gens)

    async def events(self) -> AsyncIterator[Piece]:
        try:
            for i, gen in enumerate(self.gens):
                yield Piece("start", i, gen)
                async for t in common.tokens(gen):
                    yield Piece("token", i, gen, t)
                yield Piece("end", i, gen)
        finally:  # finished, failed or the client left: no engine work continues for it
            for gen in self.gens:
                if gen.finish_reason is None:
                    gen.close()
            router.note(self.req.model, self.prompt_tokens, self.completion_tokens)


async def start(engine: Engine, req: ChatRequest) -> Stream:
    """Begin every choice's generation; prompt errors raise here, before any byte is sent."""
    up = router.upstream_for(req.model)
    if up is not None:  # its refusals (down, 429, unknown model) raise here too
        return await up.start(req)
    req = resolve(req)
    return Stream(req, [await common.start(engine, req.messages, seeded(req.params, i)) for i in range(req.n)])


async def guard(events: AsyncIterable, on_error: Callable[[Exception], Iterable]) -> AsyncIterator:
    """The events; a failure once the headers are sent ends the stream with what `on_error`
    renders (the protocol's own mid-stream error), and is logged."""
    try:
        async for e in events:
            yield e
    except Exception as e:
        if isinstance(e, APIError):  # an upstream's failure, said in words: no traceback to add
            log.warning("stream failed: %s", e.message)
        else:
            log.exception("stream failed")
        for b in on_error(e):
            yield b


def failure(e: Exception) -> str:
    """The message a mid-stream error carries."""
    return f"The generation failed: {type(e).__name__}: {e}"

"""How a streamed reply travels, for every protocol: Server-Sent Events (OpenAI, Anthropic,
Gemini with alt=sse, the course API), NDJSON lines (Ollama) or one JSON array sent piece by
piece (Gemini without alt=sse). Adapters build the events; this module frames them and
makes the streaming response.
"""

from __future__ import annotations

import asyncio
import json
from typing import AsyncIterable, AsyncIterator, Iterable

import anyio
import orjson
from starlette.responses import StreamingResponse

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
DONE = b"data: [DONE]\n\n"  # OpenAI's (and the course API's) end of stream
NDJSON = "application/x-ndjson"


def _json(data) -> bytes:
    """Compact UTF-8 JSON (what json.dumps gives with separators=(",", ":"), ensure_ascii=False),
    written by orjson: a streamed reply encodes one of these per token. What orjson refuses (an
    integer past 64 bits, which the model can write into a tool call's arguments) json.dumps writes."""
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sse(data: dict | str, event: str | None = None) -> bytes:
    """One event: `event: <name>` (when named) and `data: <json>`."""
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + (data.encode() if isinstance(data, str) else _json(data)) + b"\n\n"


def ndjson(data: dict) -> bytes:
    """One NDJSON line."""
    return _json(data) + b"\n"


async def json_array(chunks: AsyncIterable[dict]) -> AsyncIterator[bytes]:
    """The objects as one JSON array, each written as it comes ("[a" ",\\r\\n b" ... "]")."""
    sep = "["
    async for c in chunks:
        yield (sep + json.dumps(c)).encode()
        sep = ",\r\n"
    yield b"[" if sep == "[" else b""
    yield b"]"


class Streamed(StreamingResponse):
    """Starlette's StreamingResponse, with the client's leaving watched by one plain asyncio task
    instead of an anyio task group (two tasks per response, a tenth of a routed stream's CPU): when
    the client disconnects, the stream's cancel scope is cancelled, so the body's generator stops
    where it waits (its cleanup stops the engine's or the upstream's work). An anyio scope, not a
    bare task.cancel(): a cancellation that arrives inside a shielded wait (a worker thread's turn)
    is delivered when the shield ends, instead of being lost."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)

        async def watch(stream: anyio.CancelScope):
            while (await receive())["type"] != "http.disconnect":
                pass
            stream.cancel()

        with anyio.CancelScope() as stream:
            watcher = asyncio.get_running_loop().create_task(watch(stream))
            try:
                await self.stream_response(send)
            finally:
                watcher.cancel()
        if self.background is not None and not stream.cancelled_caught:
            await self.background()


def sse_response(events: AsyncIterable[bytes]) -> StreamingResponse:
    return Streamed(events, media_type="text/event-stream", headers=SSE_HEADERS)


def ndjson_response(lines: AsyncIterable[bytes] | Iterable[bytes]) -> StreamingResponse:
    return Streamed(lines, media_type=NDJSON)


def json_array_response(chunks: AsyncIterable[dict]) -> StreamingResponse:
    return Streamed(json_array(chunks), media_type="application/json", headers=SSE_HEADERS)

"""How a streamed reply travels, for every protocol: Server-Sent Events (OpenAI, Anthropic,
Gemini with alt=sse, the course API), NDJSON lines (Ollama) or one JSON array sent piece by
piece (Gemini without alt=sse). Adapters build the events; this module frames them and
makes the streaming response.
"""

from __future__ import annotations

import json
from typing import AsyncIterable, AsyncIterator, Iterable

from starlette.responses import StreamingResponse

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
DONE = b"data: [DONE]\n\n"  # OpenAI's (and the course API's) end of stream
NDJSON = "application/x-ndjson"


def _json(data) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def sse(data: dict | str, event: str | None = None) -> bytes:
    """One event: `event: <name>` (when named) and `data: <json>`."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data if isinstance(data, str) else _json(data)}\n\n".encode()


def ndjson(data: dict) -> bytes:
    """One NDJSON line."""
    return _json(data).encode() + b"\n"


async def json_array(chunks: AsyncIterable[dict]) -> AsyncIterator[bytes]:
    """The objects as one JSON array, each written as it comes ("[a" ",\\r\\n b" ... "]")."""
    sep = "["
    async for c in chunks:
        yield (sep + json.dumps(c)).encode()
        sep = ",\r\n"
    yield b"[" if sep == "[" else b""
    yield b"]"


def sse_response(events: AsyncIterable[bytes]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


def ndjson_response(lines: AsyncIterable[bytes] | Iterable[bytes]) -> StreamingResponse:
    return StreamingResponse(lines, media_type=NDJSON)


def json_array_response(chunks: AsyncIterable[dict]) -> StreamingResponse:
    return StreamingResponse(json_array(chunks), media_type="application/json", headers=SSE_HEADERS)

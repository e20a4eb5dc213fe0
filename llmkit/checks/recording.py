"""Record the HTTP traffic of a block of code, whatever SDK sends it.

    with recording() as rec:
        ask(client, "What is an API?")
    rec.last.path, rec.last.json["messages"], rec.last.response_json

Every official SDK sends through httpx (groq, ollama, google-genai) or httpx2 (openai,
anthropic). `recording()` wraps `Client.send` and `AsyncClient.send` of both for the
duration of the block, so requests are seen exactly as sent, from any thread, and the
bytes of each response are kept as they are read (streams included), without changing
what the caller receives.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import urlsplit

LIBRARIES = ("httpx", "httpx2")
_lock = threading.Lock()


@dataclass
class Exchange:
    """One request and its response, as they crossed the wire."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    streamed: bool = False
    sent_at: float = 0.0  # time.perf_counter() when the request was handed to the transport
    headers_at: float = 0.0  # ... when the response's status and headers came back
    times: list[float] = field(default_factory=list)  # ... when each of `chunks` was read

    def timed_sse(self) -> list[tuple[float, Any]]:
        """(arrival time, parsed `data:` payload) for each server-sent event: the time is when
        the bytes that completed the event were read, so a check can tell what came when."""
        out, buffer = [], ""
        for at, chunk in zip(self.times, self.chunks):
            buffer += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
            *events, buffer = buffer.split("\n\n")
            for event in events:
                for line in event.splitlines():
                    if line.startswith("data:"):
                        payload = line[5:].strip()
                        try:
                            out.append((at, json.loads(payload)))
                        except ValueError:
                            out.append((at, payload))
        return out

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def query(self) -> str:
        return urlsplit(self.url).query

    @property
    def json(self) -> Any:
        """The request body parsed as JSON (None if it is not JSON)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def response_body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def response_json(self) -> Any:
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    @property
    def sse_data(self) -> list[Any]:
        """The `data:` payloads of a server-sent-events response, parsed where they are JSON."""
        out = []
        for line in self.response_body.decode("utf-8", "replace").splitlines():
            if line.startswith("data:"):
                payload = line[5:].strip()
                try:
                    out.append(json.loads(payload))
                except ValueError:
                    out.append(payload)
        return out

    @property
    def ndjson(self) -> list[Any]:
        out = []
        for line in self.response_body.decode("utf-8", "replace").splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out


class Recording:
    """The exchanges seen inside a `recording()` block, in the order they were sent."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def __len__(self) -> int:
        return len(self.exchanges)

    def __iter__(self):
        return iter(self.exchanges)

    @property
    def last(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    def to(self, path_part: str) -> list[Exchange]:
        """Exchanges whose path contains `path_part`."""
        return [e for e in self.exchanges if path_part in e.path]


def _tee_classes(mod):
    class SyncTee(mod.SyncByteStream):
        def __init__(self, inner, ex: Exchange):
            self.inner, self.ex = inner, ex

        def __iter__(self):
            for chunk in self.inner:
                self.ex.times.append(time.perf_counter())
                self.ex.chunks.append(bytes(chunk))
                yield chunk

        def close(self):
            close = getattr(self.inner, "close", None)
            if close:
                close()

    class AsyncTee(mod.AsyncByteStream):
        def __init__(self, inner, ex: Exchange):
            self.inner, self.ex = inner, ex

        async def __aiter__(self):
            async for chunk in self.inner:
                self.ex.times.append(time.perf_counter())
                self.ex.chunks.append(bytes(chunk))
                yield chunk

        async def aclose(self):
            aclose = getattr(self.inner, "aclose", None)
            if aclose:
                await aclose()

    return SyncTee, AsyncTee


def _exchange(request) -> Exchange:
    try:
        body = bytes(request.content)
    except Exception:  # a streaming request body: not read here
        body = b""
    return Exchange(method=request.method, url=str(request.url),
                    headers={k.lower(): v for k, v in request.headers.items()}, body=body)


def _attach(ex: Exchange, response, tee) -> None:
    ex.headers_at = time.perf_counter()
    ex.status = response.status_code
    ex.response_headers = {k.lower(): v for k, v in response.headers.items()}
    if hasattr(response, "_content"):  # already read (send(stream=False))
        ex.times.append(ex.headers_at)
        ex.chunks.append(bytes(response._content))
    else:
        ex.streamed = True
        response.stream = tee(response.stream, ex)


@contextmanager
def recording() -> Iterator[Recording]:
    """Record every httpx/httpx2 request sent (and its response) while the block runs."""
    rec = Recording()
    restore = []
    with _lock:
        for name in LIBRARIES:
            try:
                mod = importlib.import_module(name)
            except ImportError:
                continue
            SyncTee, AsyncTee = _tee_classes(mod)
            orig_send, orig_asend = mod.Client.send, mod.AsyncClient.send

            def send(self, request, *args, _orig=orig_send, _tee=SyncTee, **kwargs):
                ex = _exchange(request)
                rec.exchanges.append(ex)
                ex.sent_at = time.perf_counter()
                response = _orig(self, request, *args, **kwargs)
                _attach(ex, response, _tee)
                return response

            async def asend(self, request, *args, _orig=orig_asend, _tee=AsyncTee, **kwargs):
                ex = _exchange(request)
                rec.exchanges.append(ex)
                ex.sent_at = time.perf_counter()
                response = await _orig(self, request, *args, **kwargs)
                _attach(ex, response, _tee)
                return response

            mod.Client.send, mod.AsyncClient.send = send, asend
            restore.append((mod, orig_send, orig_asend))
    try:
        yield rec
    finally:
        with _lock:
            for mod, orig_send, orig_asend in restore:
                mod.Client.send, mod.AsyncClient.send = orig_send, orig_asend

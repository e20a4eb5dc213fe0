"""Fault injection: a schedule of failures for the next N model requests, each rendered
in the caller's own protocol so its SDK raises its own exception class.

Kinds: rate_limit (429 + Retry-After), server_error (500), overloaded (503; 529 on the
Anthropic protocol), auth (401), permission (403: a valid key that may not use this model),
context_length (400 in each provider's wording), too_large (413: the request body is over
the size limit), timeout (the request hangs past the client's timeout), slow (every chunk delayed),
cut (the response stops mid-way: a broken stream; on Ollama an error line).

Only model requests (POST outside /admin) consume faults; listing models or /health
never does. Driven over HTTP by /admin/faults (see `router`) and from Python by
`llmkit.faults`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from dataclasses import asdict, dataclass, field

from fastapi import APIRouter, Request

from .errors import APIError, render
from .validate import field as get, json_body

KINDS = ("rate_limit", "server_error", "overloaded", "auth", "permission", "context_length", "too_large", "timeout",
         "slow", "cut")
MAX_SECONDS = 3600.0  # delay / retry_after: an hour at most
MAX_TIMES = 10_000  # times / after
PROVIDERS = ("openai", "anthropic", "gemini", "groq", "ollama", "course")


@dataclass
class Fault:
    kind: str
    times: int = 1
    provider: str | None = None  # None: any protocol
    retry_after: float | None = None  # rate_limit / overloaded: seconds in Retry-After
    delay: float | None = None  # timeout: how long to hang; slow: delay per chunk
    after: int = 3  # cut: how many body chunks get through first
    served: int = 0


@dataclass
class Schedule:
    faults: list[Fault] = field(default_factory=list)
    served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def take(self, provider: str) -> Fault | None:
        """The first scheduled fault for this provider, counted as served."""
        with self.lock:
            for f in self.faults:
                if f.provider in (None, provider):
                    f.times -= 1
                    f.served += 1
                    self.served += 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def describe(self) -> dict:
        """What is pending, JSON-safe whatever was stored (a non-finite number shows as null)."""
        def safe(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        with self.lock:
            return {"pending": [{k: safe(v) for k, v in asdict(f).items() if k != "served"} for f in self.faults],
                    "served": self.served}


class StreamCut(Exception):
    """Raised from inside a response to drop the connection mid-body (a 'cut' fault)."""


class _QuietCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, StreamCut) and not (exc and isinstance(exc.__cause__, StreamCut))


logging.getLogger("uvicorn.error").addFilter(_QuietCuts())
logging.getLogger("llmkit.server").addFilter(_QuietCuts())  # a cut stream is on purpose, not a gateway failure


def provider_of(path: str, protocol: str) -> str:
    return "groq" if path.startswith("/openai/") else protocol


def error_for(fault: Fault, protocol: str, retry_after_default: float) -> APIError | None:
    """The error response a fault turns into (None for timeout / slow / cut)."""
    k = fault.kind
    if k == "rate_limit":
        ra = fault.retry_after if fault.retry_after is not None else retry_after_default
        msg = {"anthropic": "This request would exceed your organization's rate limit. Please try again later.",
               "gemini": "Resource has been exhausted (e.g. check quota).",
               }.get(protocol, "Rate limit reached for requests per minute. Please try again in "
                               f"{ra:g}s.")
        return APIError(429, f"{msg} (injected fault)", code="rate_limit_exceeded",
                        type="requests" if protocol == "openai" else None,
                        headers={"retry-after": f"{ra:g}", "retry-after-ms": str(int(ra * 1000))})
    if k == "server_error":
        return APIError(500, "The server had an error while processing your request. (injected fault)")
    if k == "overloaded":
        ra = fault.retry_after if fault.retry_after is not None else retry_after_default
        status = 529 if protocol == "anthropic" else 503
        msg = "Overloaded" if protocol == "anthropic" else "The model is overloaded. Please try again later."
        return APIError(status, f"{msg} (injected fault)", type="overloaded_error" if protocol == "anthropic" else None,
                        headers={"retry-after": f"{ra:g}"})
    if k == "auth":
        msg = {"gemini": "API key not valid. Please pass a valid API key.",
               "anthropic": "invalid x-api-key"}.get(protocol, "Incorrect API key provided.")
        return APIError(401, f"{msg} (injected fault)", code="invalid_api_key",
                        type="authentication_error" if protocol == "anthropic" else None)
    if k == "permission":
        msg = {"anthropic": "Your API key does not have permission to use the specified resource.",
               "gemini": "The caller does not have permission.",
               }.get(protocol, "You do not have access to this model. Ask your organization's owner for access.")
        return APIError(403, f"{msg} (injected fault)", param="model", code="model_not_allowed")
    if k == "too_large":
        msg = {"anthropic": "Request exceeds the maximum allowed number of bytes.",
               "gemini": "Request payload size exceeds the limit: 20971520 bytes.",
               }.get(protocol, "Request body too large: the maximum is 20971520 bytes.")
        return APIError(413, f"{msg} (injected fault)", code="request_too_large")
    if k == "context_length":
        msg = {"openai": "This model's maximum context length is 128000 tokens. However, your messages resulted "
                         "in 131072 tokens. Please reduce the length of the messages.",
               "anthropic": "prompt is too long: 210000 tokens > 200000 maximum",
               "gemini": "The input token count (1100000) exceeds the maximum number of tokens allowed (1048576).",
               "ollama": "the input length exceeds the context length",
               }.get(protocol, "The input is longer than the model's context window.")
        return APIError(400, f"{msg} (injected fault)", param="messages", code="context_length_exceeded")
    return None


def response_for(fault: Fault, protocol: str, retry_after_default: float) -> tuple[int, dict, bytes] | None:
    err = error_for(fault, protocol, retry_after_default)
    return render(protocol, err) if err else None


router = APIRouter()


@router.get("/admin/faults")
async def list_faults(request: Request):
    return request.app.state.faults.describe()


@router.post("/admin/faults")
async def add_fault(request: Request):
    body = await json_body(request)
    fault = Fault(kind=get(body, "kind", str, required=True, choices=KINDS),
                  times=get(body, "times", int, 1, minimum=1, maximum=MAX_TIMES),
                  provider=get(body, "provider", str, None, choices=PROVIDERS),
                  retry_after=get(body, "retry_after", float, None, minimum=0, maximum=MAX_SECONDS),
                  delay=get(body, "delay", float, None, minimum=0, maximum=MAX_SECONDS),
                  after=get(body, "after", int, 3, minimum=0, maximum=MAX_TIMES))
    request.app.state.faults.add(fault)
    return request.app.state.faults.describe()


@router.delete("/admin/faults")
async def clear_faults(request: Request):
    request.app.state.faults.clear()
    return request.app.state.faults.describe()


async def apply(fault: Fault, protocol: str, app, scope, receive, send, retry_after_default: float):
    """Serve one request under a fault."""
    canned = response_for(fault, protocol, retry_after_default)
    if canned is not None:
        status, headers, body = canned
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": body})
        return
    if fault.kind == "timeout":
        await asyncio.sleep(fault.delay if fault.delay is not None else 30.0)
        return await app(scope, receive, send)
    if fault.kind == "slow":
        delay = fault.delay if fault.delay is not None else 0.25

        async def slow_send(message):
            if message["type"] == "http.response.body" and message.get("body"):
                await asyncio.sleep(delay)
            await send(message)

        return await app(scope, receive, slow_send)
    # cut: let `after` body chunks through, then break the response
    sent = 0

    async def cut_send(message):
        nonlocal sent
        if message["type"] != "http.response.body":
            return await send(message)
        if sent >= fault.after:
            if protocol == "ollama":  # Ollama reports a failure mid-stream as an error line
                line = json.dumps({"error": "an error was encountered while running the model: "
                                            "connection cut (injected fault)"}) + "\n"
                await send({"type": "http.response.body", "body": line.encode(), "more_body": False})
            raise StreamCut("response cut by an injected fault")
        body = message.get("body", b"")
        if not message.get("more_body") and sent == 0 and body:  # a whole JSON body: send half of it
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise StreamCut("response cut by an injected fault")
        sent += 1
        await send(message)

    try:
        await app(scope, receive, cut_send)
    except StreamCut:
        if protocol != "ollama":
            raise

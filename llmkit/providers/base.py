"""What every provider adapter shares: the normalised request (`Params`), what a call
returns (`Result`), what a stream accumulates (`StreamState`), and the `Adapter` base.

An adapter only translates: llmkit's parameters into one SDK's call, and that SDK's
reply or stream chunks back into text, usage and a finish reason. Retries and fallbacks
live in llmkit.client, costs, budget and ledger in llmkit.usage, so they behave the same
for every provider; variables and URL shapes in llmkit.endpoints.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

FINISH = ("stop", "length", "content_filter", "tool_calls")


@dataclass
class Params:
    """llmkit's provider-neutral parameters; `extra` holds provider-native ones, checked."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    text: str
    finish_raw: str | None
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    model_version: str | None = None


@dataclass
class StreamState:
    """Filled in while a stream is read; the final Reply is built from it."""

    finish_raw: str | None = None
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    model_version: str | None = None
    tool_calls: bool = False


def unsupported(provider: str, name: str) -> None:
    warnings.warn(f"{name} is not supported by {provider}: ignored", UserWarning, stacklevel=5)


def merge(req: dict, extra: dict) -> dict:
    """Add provider-native `extra` to a request; `extra_body` dicts are merged, not replaced."""
    extra = dict(extra)
    if isinstance(extra.get("extra_body"), dict) and isinstance(req.get("extra_body"), dict):
        req["extra_body"] = {**req["extra_body"], **extra.pop("extra_body")}
    req.update(extra)
    return req


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts with "text"."""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


class Adapter:
    """One official SDK. Subclasses set the names and implement the methods below."""

    name: str = ""
    env: tuple[str, ...] = ()  # variables that decide where the SDK goes and with which key
    timeout_on_client = False  # True where the SDK takes a timeout only when the client is built
    native: frozenset[str] = frozenset()  # SDK keyword arguments llmkit passes through unchanged

    def new_client(self, aio: bool, timeout: float | None, base_url: str | None) -> Any:
        raise NotImplementedError

    def request(self, model: str, system: str | None, turns: list[dict], p: Params, stream: bool) -> dict:
        raise NotImplementedError

    def send(self, client: Any, req: dict, timeout: float | None) -> Any:
        raise NotImplementedError

    async def asend(self, client: Any, req: dict, timeout: float | None) -> Any:
        raise NotImplementedError

    def parse(self, raw: Any) -> Result:
        raise NotImplementedError

    def open(self, client: Any, req: dict, timeout: float | None) -> Any:
        """An iterator of raw stream chunks (the request is sent now)."""
        raise NotImplementedError

    async def aopen(self, client: Any, req: dict, timeout: float | None) -> Any:
        raise NotImplementedError

    def feed(self, chunk: Any, st: StreamState) -> str:
        """Record what `chunk` says about usage and finish in `st`; return its text delta."""
        raise NotImplementedError

    async def aclose_client(self, client: Any) -> None:
        """Close an async client while its event loop still runs."""
        await client.close()

    def close(self, stream: Any) -> None:
        """Release a stream's connection when the caller stops reading early."""
        close = getattr(stream, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # pragma: no cover - best effort
                pass

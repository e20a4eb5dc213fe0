"""The anthropic SDK (2.x): messages.create.

max_tokens is required there (llmkit always sends one); the system prompt is a top-level
field, not a message; 2.x's create() has no temperature/top_p/top_k arguments, so they
travel in `extra_body` (the API still reads them); there is no seed (warned, dropped).
Input tokens include prompt-cache reads and writes, so the count is what was processed.
"""

from __future__ import annotations

import inspect
from functools import cached_property
from typing import Any

from ..endpoints import ENDPOINTS
from .base import Adapter, Params, Result, StreamState, merge, unsupported

FINISH = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
          "model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter"}
HANDLED = {"self", "max_tokens", "messages", "model", "system", "stop_sequences", "stream", "timeout"}
DEFAULT_MAX_TOKENS = 1024


def finish(raw: str | None) -> str | None:
    return None if raw is None else FINISH.get(raw, raw)


def _input(u: Any) -> int | None:
    n = getattr(u, "input_tokens", None)
    if n is None:
        return None
    cached = (getattr(u, "cache_creation_input_tokens", None) or 0) + (getattr(u, "cache_read_input_tokens", None) or 0)
    return n + cached


class AnthropicAdapter(Adapter):
    name = "anthropic"
    env = ENDPOINTS["anthropic"].env

    @cached_property
    def native(self) -> frozenset[str]:  # type: ignore[override]
        import anthropic

        params = inspect.signature(anthropic.resources.messages.Messages.create).parameters
        return frozenset(params) - HANDLED

    def new_client(self, aio: bool, timeout: float | None, base_url: str | None) -> Any:
        import anthropic

        return (anthropic.AsyncAnthropic if aio else anthropic.Anthropic)(max_retries=0)

    def request(self, model: str, system: str | None, turns: list[dict], p: Params, stream: bool) -> dict:
        req: dict[str, Any] = {"model": model, "messages": turns,
                               "max_tokens": DEFAULT_MAX_TOKENS if p.max_tokens is None else p.max_tokens}
        if system:
            req["system"] = system
        if p.stop:
            req["stop_sequences"] = p.stop
        sampling = {k: getattr(p, k) for k in ("temperature", "top_p", "top_k") if getattr(p, k) is not None}
        if sampling:
            req["extra_body"] = sampling
        if p.seed is not None:
            unsupported(self.name, "seed")
        if stream:
            req["stream"] = True
        return merge(req, p.extra)

    def send(self, client: Any, req: dict, timeout: float | None) -> Any:
        return client.messages.create(**req, timeout=timeout)

    async def asend(self, client: Any, req: dict, timeout: float | None) -> Any:
        return await client.messages.create(**req, timeout=timeout)

    open = send
    aopen = asend

    def parse(self, raw: Any) -> Result:
        text = "".join(b.text for b in raw.content if getattr(b, "type", None) == "text")
        return Result(text=text, finish_raw=raw.stop_reason, finish_reason=finish(raw.stop_reason),
                      input_tokens=_input(raw.usage), output_tokens=getattr(raw.usage, "output_tokens", None),
                      model_version=raw.model)

    def feed(self, event: Any, st: StreamState) -> str:
        kind = getattr(event, "type", None)
        if kind == "content_block_delta" and getattr(event.delta, "type", None) == "text_delta":
            return event.delta.text
        if kind == "message_start":
            st.model_version = event.message.model
            st.input_tokens = _input(event.message.usage)
            st.output_tokens = getattr(event.message.usage, "output_tokens", None)
        elif kind == "content_block_start" and getattr(event.content_block, "type", None) == "tool_use":
            st.tool_calls = True
        elif kind == "message_delta":
            if event.delta.stop_reason:
                st.finish_raw = event.delta.stop_reason
                st.finish_reason = finish(event.delta.stop_reason)
            u = event.usage
            if getattr(u, "output_tokens", None) is not None:
                st.output_tokens = u.output_tokens
            if getattr(u, "input_tokens", None) is not None:
                st.input_tokens = _input(u)
        return ""

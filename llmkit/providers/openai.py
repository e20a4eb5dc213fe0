"""The openai SDK (3.x): chat.completions, the protocol Groq and many servers copy.

max_tokens goes out as `max_completion_tokens` (OpenAI deprecated `max_tokens`, and the
reasoning models accept only the new name); top_k does not exist there (warned, dropped);
streams ask for `stream_options.include_usage` so the last chunk carries token counts.
"""

from __future__ import annotations

import inspect
from functools import cached_property
from typing import Any

from ..endpoints import DUMMY_KEY, ENDPOINTS
from .base import Adapter, Params, Result, StreamState, merge, unsupported

FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter",
          "tool_calls": "tool_calls", "function_call": "tool_calls"}
HANDLED = {"self", "messages", "model", "stream", "stream_options", "max_tokens", "max_completion_tokens",
           "temperature", "top_p", "seed", "stop", "timeout"}


def finish(raw: str | None) -> str | None:
    return None if raw is None else FINISH.get(raw, raw)


class OpenAIAdapter(Adapter):
    name = "openai"
    env = ENDPOINTS["openai"].env

    def _sdk(self):
        import openai

        return openai

    @cached_property
    def native(self) -> frozenset[str]:  # type: ignore[override]
        create = self._sdk().resources.chat.completions.Completions.create
        return frozenset(inspect.signature(create).parameters) - HANDLED

    def new_client(self, aio: bool, timeout: float | None, base_url: str | None) -> Any:
        sdk = self._sdk()
        kw: dict[str, Any] = {"max_retries": 0}  # llmkit's retry policy is the only one
        if base_url:  # only for the "offline" pseudo-provider: always the local gateway
            kw.update(base_url=base_url, api_key=DUMMY_KEY)
        return (sdk.AsyncOpenAI if aio else sdk.OpenAI)(**kw)

    def messages(self, system: str | None, turns: list[dict]) -> list[dict]:
        return ([{"role": "system", "content": system}] if system else []) + turns

    def request(self, model: str, system: str | None, turns: list[dict], p: Params, stream: bool) -> dict:
        req: dict[str, Any] = {"model": model, "messages": self.messages(system, turns)}
        if p.max_tokens is not None:
            req["max_completion_tokens"] = p.max_tokens
        for k in ("temperature", "top_p", "seed"):
            if getattr(p, k) is not None:
                req[k] = getattr(p, k)
        if p.stop:
            req["stop"] = p.stop
        if p.top_k is not None:
            unsupported(self.name, "top_k")
        if stream:
            req["stream"] = True
            self.ask_stream_usage(req)
        return merge(req, p.extra)

    def ask_stream_usage(self, req: dict) -> None:
        req["stream_options"] = {"include_usage": True}

    def send(self, client: Any, req: dict, timeout: float | None) -> Any:
        return client.chat.completions.create(**req, timeout=timeout)

    async def asend(self, client: Any, req: dict, timeout: float | None) -> Any:
        return await client.chat.completions.create(**req, timeout=timeout)

    open = send
    aopen = asend

    def parse(self, raw: Any) -> Result:
        choice = raw.choices[0] if raw.choices else None
        msg = getattr(choice, "message", None)
        fr = getattr(choice, "finish_reason", None)
        if getattr(msg, "tool_calls", None) and fr == "stop":
            fr = "tool_calls"
        u = getattr(raw, "usage", None)
        return Result(text=(getattr(msg, "content", None) or ""), finish_raw=fr, finish_reason=finish(fr),
                      input_tokens=getattr(u, "prompt_tokens", None),
                      output_tokens=getattr(u, "completion_tokens", None),
                      model_version=getattr(raw, "model", None))

    def feed(self, chunk: Any, st: StreamState) -> str:
        st.model_version = getattr(chunk, "model", None) or st.model_version
        self.feed_usage(chunk, st)
        text = ""
        for choice in getattr(chunk, "choices", None) or ():
            if choice.index not in (0, None):
                continue
            delta = choice.delta
            if delta is not None:
                text += delta.content or ""
                if getattr(delta, "tool_calls", None):
                    st.tool_calls = True
            if choice.finish_reason:
                st.finish_raw = choice.finish_reason
                st.finish_reason = "tool_calls" if st.tool_calls else finish(choice.finish_reason)
        return text

    def feed_usage(self, chunk: Any, st: StreamState) -> None:
        u = getattr(chunk, "usage", None)
        if u is not None:
            st.input_tokens, st.output_tokens = u.prompt_tokens, u.completion_tokens


class OfflineAdapter(OpenAIAdapter):
    """The course's own model by name ("offline", "llmkit-offline"): the OpenAI protocol
    of the local gateway, whatever keys are set."""

    name = "offline"
    env = ()

"""The ollama SDK (0.6): Client.chat.

Sampling lives in `options` (max_tokens -> num_predict; temperature, top_p, top_k, seed,
stop); any other Ollama option (num_ctx, repeat_penalty, ...) goes there too, and chat()'s
own arguments (format, think, keep_alive, tools) pass through. The SDK takes a timeout
only when a Client is built, so clients are cached per timeout. A Client reads
OLLAMA_HOST when it is built, which is what llmkit.setup() sets.
"""

from __future__ import annotations

import inspect
from functools import cached_property
from typing import Any

from ..endpoints import ENDPOINTS
from .base import Adapter, Params, Result, StreamState, text_of

FINISH = {"stop": "stop", "length": "length", "load": "stop", "unload": "stop"}


def finish(raw: str | None) -> str | None:
    return None if raw is None else FINISH.get(raw, raw)


class OllamaAdapter(Adapter):
    name = "ollama"
    env = ENDPOINTS["ollama"].env
    timeout_on_client = True

    @cached_property
    def option_names(self) -> frozenset[str]:
        from ollama import Options

        return frozenset(Options.model_fields)

    @cached_property
    def chat_names(self) -> frozenset[str]:
        import ollama

        return frozenset(inspect.signature(ollama.Client.chat).parameters) - {"self", "model", "messages", "stream",
                                                                             "options"}

    @cached_property
    def native(self) -> frozenset[str]:  # type: ignore[override]
        return self.option_names | self.chat_names | {"options"}

    def new_client(self, aio: bool, timeout: float | None, base_url: str | None) -> Any:
        import ollama

        return (ollama.AsyncClient if aio else ollama.Client)(timeout=timeout)

    def request(self, model: str, system: str | None, turns: list[dict], p: Params, stream: bool) -> dict:
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {**t, "content": text_of(t["content"])} for t in turns]
        options: dict[str, Any] = {}
        if p.max_tokens is not None:
            options["num_predict"] = p.max_tokens
        for k in ("temperature", "top_p", "top_k", "seed"):
            if getattr(p, k) is not None:
                options[k] = getattr(p, k)
        if p.stop:
            options["stop"] = p.stop
        req: dict[str, Any] = {"model": model, "messages": messages}
        for k, v in p.extra.items():
            if k == "options":
                options.update(v or {})
            elif k in self.option_names:
                options[k] = v
            else:
                req[k] = v
        if options:
            req["options"] = options
        if stream:
            req["stream"] = True
        return req

    def send(self, client: Any, req: dict, timeout: float | None) -> Any:
        return client.chat(**req)

    async def asend(self, client: Any, req: dict, timeout: float | None) -> Any:
        return await client.chat(**req)

    open = send
    aopen = asend

    def parse(self, raw: Any) -> Result:
        st = StreamState()
        text = self.feed(raw, st)
        return Result(text=text, finish_raw=st.finish_raw, finish_reason=st.finish_reason,
                      input_tokens=st.input_tokens, output_tokens=st.output_tokens, model_version=st.model_version)

    def feed(self, chunk: Any, st: StreamState) -> str:
        msg = getattr(chunk, "message", None)
        if getattr(msg, "tool_calls", None):
            st.tool_calls = True
        st.model_version = getattr(chunk, "model", None) or st.model_version
        if getattr(chunk, "done", False):
            st.input_tokens = getattr(chunk, "prompt_eval_count", None)
            st.output_tokens = getattr(chunk, "eval_count", None)
            st.finish_raw = getattr(chunk, "done_reason", None) or "stop"
            st.finish_reason = "tool_calls" if st.tool_calls else finish(st.finish_raw)
        return getattr(msg, "content", None) or ""

"""The google-genai SDK (3.x): models.generate_content.

Turns become `contents` (assistant -> role "model"); the system prompt is
`config.system_instruction`; sampling and max_output_tokens go in the config, and any
other GenerateContentConfig field passes through. The per-call timeout is the config's
http_options.timeout (milliseconds). Retries are switched off explicitly
(HttpRetryOptions(attempts=1)), which also stops the SDK's hidden reconnect loop.
Output tokens include "thinking" tokens: they are billed as output.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from ..endpoints import ENDPOINTS
from .base import Adapter, Params, Result, StreamState, text_of

FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
          "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
          "IMAGE_SAFETY": "content_filter", "IMAGE_PROHIBITED_CONTENT": "content_filter",
          "IMAGE_RECITATION": "content_filter", "LANGUAGE": "content_filter",
          "MALFORMED_FUNCTION_CALL": "tool_calls", "UNEXPECTED_TOOL_CALL": "tool_calls"}
HANDLED = {"system_instruction", "max_output_tokens", "temperature", "top_p", "top_k", "stop_sequences", "seed",
           "http_options"}


def _name(value: Any) -> str | None:
    if value is None:
        return None
    return getattr(value, "value", None) or getattr(value, "name", None) or str(value)


def finish(raw: str | None) -> str | None:
    return None if raw is None else FINISH.get(raw, raw.lower())


class GeminiAdapter(Adapter):
    name = "gemini"
    env = ENDPOINTS["gemini"].env

    @cached_property
    def native(self) -> frozenset[str]:  # type: ignore[override]
        from google.genai import types

        return frozenset(types.GenerateContentConfig.model_fields) - HANDLED

    def new_client(self, aio: bool, timeout: float | None, base_url: str | None) -> Any:
        from google import genai
        from google.genai import types

        # the same Client serves async calls through .aio; it is cached whole, because a
        # Client closes its connections when it is garbage-collected
        return genai.Client(http_options=types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1)))

    async def aclose_client(self, client: Any) -> None:
        await client.aio.aclose()
        client.close()

    def request(self, model: str, system: str | None, turns: list[dict], p: Params, stream: bool) -> dict:
        contents = [{"role": "model" if t["role"] == "assistant" else "user",
                     "parts": [{"text": text_of(t["content"])}]} for t in turns]
        cfg: dict[str, Any] = {}
        if system:
            cfg["system_instruction"] = system
        if p.max_tokens is not None:
            cfg["max_output_tokens"] = p.max_tokens
        for k in ("temperature", "top_p", "top_k", "seed"):
            if getattr(p, k) is not None:
                cfg[k] = getattr(p, k)
        if p.stop:
            cfg["stop_sequences"] = p.stop
        cfg.update(p.extra)
        return {"model": model, "contents": contents, "config": cfg}

    @staticmethod
    def _args(req: dict, timeout: float | None) -> dict:
        cfg = dict(req["config"])
        if timeout is not None:
            cfg["http_options"] = {"timeout": max(1, int(timeout * 1000))}
        return {"model": req["model"], "contents": req["contents"], "config": cfg or None}

    def send(self, client: Any, req: dict, timeout: float | None) -> Any:
        return client.models.generate_content(**self._args(req, timeout))

    async def asend(self, client: Any, req: dict, timeout: float | None) -> Any:
        return await client.aio.models.generate_content(**self._args(req, timeout))

    def open(self, client: Any, req: dict, timeout: float | None) -> Any:
        return client.models.generate_content_stream(**self._args(req, timeout))

    async def aopen(self, client: Any, req: dict, timeout: float | None) -> Any:
        return await client.aio.models.generate_content_stream(**self._args(req, timeout))

    @staticmethod
    def _read(resp: Any, st: StreamState) -> str:
        """Text of one response (or stream chunk); usage and finish go into `st`."""
        st.model_version = getattr(resp, "model_version", None) or st.model_version
        u = getattr(resp, "usage_metadata", None)
        if u is not None and u.prompt_token_count is not None:
            st.input_tokens = u.prompt_token_count
            st.output_tokens = (u.candidates_token_count or 0) + (u.thoughts_token_count or 0)
        text = ""
        cands = getattr(resp, "candidates", None) or []
        if not cands:
            block = getattr(getattr(resp, "prompt_feedback", None), "block_reason", None)
            if block is not None:
                st.finish_raw, st.finish_reason = _name(block), "content_filter"
            return ""
        cand = cands[0]
        for part in getattr(cand.content, "parts", None) or ():
            if getattr(part, "function_call", None) is not None:
                st.tool_calls = True
            elif part.text and not getattr(part, "thought", False):
                text += part.text
        if cand.finish_reason is not None:
            st.finish_raw = _name(cand.finish_reason)
            st.finish_reason = "tool_calls" if st.tool_calls else finish(st.finish_raw)
        return text

    def parse(self, raw: Any) -> Result:
        st = StreamState()
        text = self._read(raw, st)
        return Result(text=text, finish_raw=st.finish_raw, finish_reason=st.finish_reason,
                      input_tokens=st.input_tokens, output_tokens=st.output_tokens, model_version=st.model_version)

    def feed(self, chunk: Any, st: StreamState) -> str:
        return self._read(chunk, st)

"""The groq SDK (1.x): the OpenAI chat protocol under /openai/v1, so this adapter is the
OpenAI one with Groq's client and Groq's place for stream usage (`x_groq.usage`; the SDK
has no `stream_options` argument, so it travels in `extra_body`)."""

from __future__ import annotations

from typing import Any

from ..endpoints import ENDPOINTS
from .base import StreamState
from .openai import OpenAIAdapter


class GroqAdapter(OpenAIAdapter):
    name = "groq"
    env = ENDPOINTS["groq"].env

    def _sdk(self):
        import groq

        return groq

    def new_client(self, aio: bool, timeout: float | None, base_url: str | None) -> Any:
        sdk = self._sdk()
        return (sdk.AsyncGroq if aio else sdk.Groq)(max_retries=0)

    def ask_stream_usage(self, req: dict) -> None:
        req["extra_body"] = {**req.get("extra_body", {}), "stream_options": {"include_usage": True}}

    def feed_usage(self, chunk: Any, st: StreamState) -> None:
        super().feed_usage(chunk, st)
        u = getattr(getattr(chunk, "x_groq", None), "usage", None)
        if u is not None:
            st.input_tokens, st.output_tokens = u.prompt_tokens, u.completion_tokens

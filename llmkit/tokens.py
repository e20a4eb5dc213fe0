"""Counting tokens before a call: exact where the model's tokenizer is on this machine,
otherwise an estimate that says it is one.

`count_tokens(text_or_messages, model)` returns a `TokenCount`: an int (use it in
arithmetic as usual) that also carries `.exact` and `.method`; its repr says which.
A string counts the text alone; a list of messages counts the whole prompt as the API
bills it (with each message's framing). Sources, in order:

1. the model is answered offline (llmkit.setup() sent its provider to the gateway, or it
   is "llmkit-offline"): the gateway counts with the offline model's own tokenizer, exact
   (messages: POST /v1/messages/count_tokens, as Anthropic's API counts a prompt; a text
   alone: the `usage` of POST /v1/embeddings), so the model is never loaded in this process;
2. an OpenAI model, tiktoken is installed and its encoding file is already in tiktoken's
   cache (TIKTOKEN_CACHE_DIR, DATA_GYM_CACHE_DIR or <tmp>/data-gym-cache): exact for text,
   the OpenAI cookbook's framing for messages (exact=False) — checked first, so this
   never starts a download that could hang a notebook;
3. otherwise ~4 characters per token (OpenAI's rule of thumb for English), exact=False.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import tempfile
from typing import Any

from .providers.base import text_of

_TIKTOKEN_FILES = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
CHARS_PER_TOKEN = 4


class TokenCount(int):
    """An int with where it came from: `.exact` (bool), `.method` (words), `.model`."""

    exact: bool
    method: str
    model: str | None

    def __new__(cls, n: int, exact: bool, method: str, model: str | None = None) -> "TokenCount":
        self = super().__new__(cls, n)
        self.exact, self.method, self.model = exact, method, model
        return self

    def __repr__(self) -> str:
        return f"{'' if self.exact else '~'}{int(self)} tokens ({'exact' if self.exact else 'estimate'}: {self.method})"

    __str__ = int.__repr__  # print(n) shows the number, like any int

    def _repr_markdown_(self) -> str:
        kind = "exact" if self.exact else "estimate"
        return f"**{'' if self.exact else '~'}{int(self)}** tokens *({kind}: {self.method})*"


def as_messages(text_or_messages: Any) -> list[dict] | None:
    if isinstance(text_or_messages, str):
        return None
    return [m if isinstance(m, dict) else {"role": m[0], "content": m[1]} for m in text_or_messages]


def _tiktoken(model: str):
    """tiktoken's encoding for an OpenAI model, only if it loads without the network."""
    if importlib.util.find_spec("tiktoken") is None:
        return None
    import tiktoken
    import tiktoken.model

    try:
        name = tiktoken.model.encoding_name_for_model(model)
    except KeyError:
        return None
    url = _TIKTOKEN_FILES.get(name)
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if url is None or not cache or not os.path.exists(os.path.join(cache, hashlib.sha1(url.encode()).hexdigest())):
        return None
    try:
        return tiktoken.get_encoding(name)
    except Exception:  # a corrupt cache file: fall back to the estimate
        return None


def count_tokens(text_or_messages: Any, model: str | None = None) -> TokenCount:
    """How many tokens `text_or_messages` is for `model` (an id, alias or provider:model)."""
    from .providers import is_offline, resolve

    target = resolve(model)
    messages = as_messages(text_or_messages)
    if is_offline(target.provider):
        n, engine = _gateway_count(target, text_or_messages, messages)
        return TokenCount(n, True, f"{engine} tokenizer, offline", target.model)
    if target.provider in ("openai", "offline"):
        enc = _tiktoken(target.model)
        if enc is not None:
            if messages is None:
                return TokenCount(len(enc.encode(text_or_messages)), True, f"tiktoken {enc.name}", target.model)
            n = 3 + sum(3 + len(enc.encode(m.get("role", ""))) + len(enc.encode(text_of(m.get("content"))))
                        for m in messages)
            return TokenCount(n, False, f"tiktoken {enc.name} + OpenAI's per-message framing", target.model)
    if messages is None:
        n = math.ceil(len(text_or_messages) / CHARS_PER_TOKEN)
    else:
        n = 3 + sum(4 + math.ceil(len(text_of(m.get("content"))) / CHARS_PER_TOKEN) for m in messages)
    return TokenCount(n, False, f"~{CHARS_PER_TOKEN} characters per token", target.model)


def _gateway_count(target: Any, text: Any, messages: list[dict] | None) -> tuple[int, str]:
    """The gateway's exact count for an offline target (its provider's SDK is pointed at it),
    and the name of the engine that counted (from the gateway's `backend` header)."""
    import httpx

    from .endpoints import DUMMY_KEY, ENDPOINTS
    from .errors import classify
    from .startup import gateway_http

    ep = ENDPOINTS.get(target.provider)
    if ep is None:  # the "offline" pseudo-provider: always the llmkit gateway
        from .startup import gateway_url

        url = gateway_url()
    else:
        url = ep.gateway_of(os.environ.get(ep.base_var, ""))
    key = os.environ.get("LLMKIT_API_KEY") or (ep and ep.key_vars and os.environ.get(ep.key_vars[0])) or DUMMY_KEY
    if messages is None:
        if not text:
            return 0, _engine_name(None)
        path, body = "/v1/embeddings", {"model": target.model, "input": [text]}
    else:
        if not messages:
            return 0, _engine_name(None)
        turns = [{"role": "system" if m.get("role") == "developer" else m.get("role"),
                  "content": text_of(m.get("content"))} for m in messages]
        path, body = "/v1/messages/count_tokens", {"model": target.model, "messages": turns}
    try:
        r = gateway_http().post(url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        r.raise_for_status()
        data = r.json()
    except httpx.HTTPError as e:
        raise classify(e, target.provider, target.model) from e
    n = data["usage"]["prompt_tokens"] if messages is None else data["input_tokens"]
    return int(n), _engine_name(r.headers.get("backend"))


def _engine_name(backend: str | None) -> str:
    """The engine named in the gateway's `backend` header, else the one setup() started."""
    import json

    try:
        name = json.loads(backend).get("engine") if backend else None
    except (ValueError, AttributeError):
        name = None
    if not name:
        from .startup import status

        st = status()
        name = st.engine if st is not None else None
    return name or "the offline model's"

"""Make the offline gateway fail on purpose, to practise error handling.

    import llmkit
    llmkit.faults.inject("rate_limit", times=2)          # the next 2 model calls get 429
    with llmkit.faults.injected("overloaded", provider="anthropic"):
        ...                                              # cleared when the block ends
    llmkit.faults.clear()

Kinds: rate_limit, server_error, overloaded, auth, permission, context_length, too_large,
timeout, slow, cut.
Each is rendered in the caller's own protocol, so every SDK raises its own exception.
Talks to the gateway's /admin/faults endpoint (the one setup() started, or `url`).
"""

from __future__ import annotations

import functools
import os
from contextlib import contextmanager
from typing import Iterator

KINDS = ("rate_limit", "server_error", "overloaded", "auth", "permission", "context_length", "too_large", "timeout",
         "slow", "cut")


@functools.lru_cache(maxsize=8)
def _http(base_url: str, key: str | None):
    """One client per gateway and key, kept: a new httpx.Client loads the CA bundle into an SSL
    context (~40 ms of CPU), and a lesson that injects a fault per call made dozens."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=10)


def _client(url: str | None):
    from .startup import gateway_url

    key = os.environ.get("LLMKIT_ADMIN_KEY") or os.environ.get("LLMKIT_API_KEY")  # /admin/ takes the admin key
    return _http((url or gateway_url()).rstrip("/"), key or None)


def inject(kind: str, times: int = 1, provider: str | None = None, *, retry_after: float | None = None,
           delay: float | None = None, after: int | None = None, url: str | None = None) -> dict:
    """Schedule `kind` for the next `times` model requests (of `provider` only, if given)."""
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(KINDS)}")
    body = {"kind": kind, "times": times, "provider": provider, "retry_after": retry_after, "delay": delay}
    if after is not None:
        body["after"] = after
    r = _client(url).post("/admin/faults", json={k: v for k, v in body.items() if v is not None})
    if r.status_code != 200:
        raise ValueError(f"the gateway refused the fault: {r.text}")
    return r.json()


def clear(url: str | None = None) -> dict:
    """Remove every scheduled fault."""
    return _client(url).delete("/admin/faults").json()


def pending(url: str | None = None) -> dict:
    """What is still scheduled, and how many faults were served so far."""
    return _client(url).get("/admin/faults").json()


@contextmanager
def injected(kind: str, times: int = 1, provider: str | None = None, **kw) -> Iterator[dict]:
    """`inject` for the duration of a with-block; whatever was not used is cleared after."""
    state = inject(kind, times, provider, **kw)
    try:
        yield state
    finally:
        clear(kw.get("url"))

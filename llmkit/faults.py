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

import os
from contextlib import contextmanager
from typing import Iterator

KINDS = ("rate_limit", "server_error", "overloaded", "auth", "permission", "context_length", "too_large", "timeout",
         "slow", "cut")


def _call(method: str, url: str | None, **kw):
    """`method` on the gateway's /admin/faults, with the admin key (the kept client: startup.gateway_http)."""
    from .startup import gateway_http, gateway_url

    key = os.environ.get("LLMKIT_ADMIN_KEY") or os.environ.get("LLMKIT_API_KEY")  # /admin/ takes the admin key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return gateway_http().request(method, (url or gateway_url()).rstrip("/") + "/admin/faults", headers=headers,
                                  timeout=10, **kw)


def inject(kind: str, times: int = 1, provider: str | None = None, *, retry_after: float | None = None,
           delay: float | None = None, after: int | None = None, url: str | None = None) -> dict:
    """Schedule `kind` for the next `times` model requests (of `provider` only, if given)."""
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(KINDS)}")
    body = {"kind": kind, "times": times, "provider": provider, "retry_after": retry_after, "delay": delay}
    if after is not None:
        body["after"] = after
    r = _call("POST", url, json={k: v for k, v in body.items() if v is not None})
    if r.status_code != 200:
        raise ValueError(f"the gateway refused the fault: {r.text}")
    return r.json()


def clear(url: str | None = None) -> dict:
    """Remove every scheduled fault."""
    return _call("DELETE", url).json()


def pending(url: str | None = None) -> dict:
    """What is still scheduled, and how many faults were served so far."""
    return _call("GET", url).json()


@contextmanager
def injected(kind: str, times: int = 1, provider: str | None = None, **kw) -> Iterator[dict]:
    """`inject` for the duration of a with-block; whatever was not used is cleared after."""
    state = inject(kind, times, provider, **kw)
    try:
        yield state
    finally:
        clear(kw.get("url"))

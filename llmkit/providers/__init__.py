"""Provider adapters, one per official SDK, and what picks and builds them.

`resolve(model)` turns "provider:model" or a catalog id/alias into a `Target` (a retired
id becomes its replacement, with a warning). `client_for()` keeps one SDK client per
provider (per event loop for async ones, per timeout for Ollama), built with no base_url
and no key so it follows the environment llmkit.setup() prepared, and builds a new one
when those variables change. `is_offline(provider)` says whether calls go to the local
gateway. No SDK is imported until a client is built.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import threading
import warnings
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import catalog
from ..endpoints import DUMMY_KEY, ENDPOINTS, OLLAMA_DEFAULT, PROVIDERS
from .anthropic import AnthropicAdapter
from .base import Adapter, Params, Result, StreamState
from .gemini import GeminiAdapter
from .groq import GroqAdapter
from .ollama import OllamaAdapter
from .openai import OfflineAdapter, OpenAIAdapter

ADAPTERS: dict[str, Adapter] = {a.name: a for a in (OpenAIAdapter(), AnthropicAdapter(), GeminiAdapter(),
                                                    GroqAdapter(), OllamaAdapter(), OfflineAdapter())}
# ids the catalog does not list, but whose provider is beyond doubt
_PREFIXES = (("gpt-", "openai"), ("chatgpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"),
             ("claude-", "anthropic"), ("gemini-", "gemini"))

__all__ = ["ADAPTERS", "Adapter", "Params", "Result", "StreamState", "Target", "RetiredModelWarning",
           "resolve", "client_for", "is_offline", "default_model"]


class RetiredModelWarning(UserWarning):
    """A retired model id was replaced by the catalog's `replacement`."""


@dataclass(frozen=True)
class Target:
    """Which provider answers, under which model id; `entry` is its catalog entry (or None)."""

    provider: str
    model: str
    entry: catalog.Model | None = None
    requested: str | None = None

    @property
    def adapter(self) -> Adapter:
        return ADAPTERS[self.provider]

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"


def default_model() -> str:
    """LLMKIT_MODEL, else the catalog default of the first live provider, else OpenAI's."""
    if os.environ.get("LLMKIT_MODEL"):
        return os.environ["LLMKIT_MODEL"]
    from ..startup import status

    st = status()
    for p in PROVIDERS:
        if st is not None and st.live(p):
            return f"{p}:{catalog.default_for(p)}"
    return f"openai:{catalog.default_for('openai')}"


def resolve(model: str | None, *, stacklevel: int = 3) -> Target:
    """The Target for "provider:model", a catalog id or alias, or None (the default model)."""
    requested = model or default_model()
    name = requested.strip()
    provider = None
    head, sep, tail = name.partition(":")
    if sep and head.strip().lower() in ADAPTERS:
        provider, name = head.strip().lower(), tail.strip()
        name = name or catalog.default_for(provider)
    entry = catalog.find(name)
    if entry is not None and provider is not None and entry.provider != provider:
        entry = None  # e.g. "groq:llama3.1": the id as written, sent to that provider
    if entry is not None and entry.retired:
        new = catalog.find(entry.replacement or "")
        if new is None:
            raise ValueError(f"model {entry.id!r} was retired ({entry.retired}) and the catalog names no replacement")
        warnings.warn(f"model {entry.id!r} was retired ({entry.retired}); using its replacement {new.id!r}",
                      RetiredModelWarning, stacklevel=stacklevel)
        entry = new
    if entry is not None:
        if entry.kind != "chat":
            raise ValueError(f"model {entry.id!r} is an {entry.kind} model, not a chat model")
        return Target(entry.provider, entry.id, entry, requested)
    if provider is None:
        low = name.lower()
        provider = next((p for prefix, p in _PREFIXES if low.startswith(prefix)), None)
    if provider is None:
        raise ValueError(f"unknown model {requested!r}: not an id or alias in the catalog (llmkit.catalog.models()); "
                         f"write 'provider:model' to use any other id (providers: {', '.join(PROVIDERS)})")
    return Target(provider, name, None, requested)


# ---- where calls go ------------------------------------------------------------------

def _norm(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    path = parts.path[:-3] if parts.path.endswith("/v1") else parts.path
    return f"{parts.hostname}:{parts.port}{path}".lower()


def _gateway_urls() -> tuple:
    from ..startup import status

    st = status()
    bg = sys.modules.get("llmkit.server.background")
    gw = bg.current() if bg is not None else None
    return (st.gateway_url if st is not None else None, os.environ.get("LLMKIT_GATEWAY_URL"),
            gw.url if gw is not None else None)


_offline_memo: dict[tuple, bool] = {}


def is_offline(provider: str) -> bool:
    """Whether this provider's calls are answered by the llmkit gateway (no cost): its SDK
    variable points at a known gateway, or at loopback with llmkit's placeholder key."""
    if provider == "offline":
        return True
    ep = ENDPOINTS.get(provider)
    key = (provider, os.environ.get(ep.base_var, "") if ep else "",
           os.environ.get(ep.key_vars[0]) if ep and ep.key_vars else None) + _gateway_urls()
    hit = _offline_memo.get(key)
    if hit is None:
        if len(_offline_memo) > 256:
            _offline_memo.clear()
        hit = _offline_memo[key] = _decide_offline(provider, key[1], key[2], key[3:])
    return hit


def _decide_offline(provider: str, value: str, api_key: str | None, gateways: tuple) -> bool:
    if not value:
        return False
    try:
        if _norm(value) in {_norm(u) for u in gateways if u}:
            return True
        host = urlsplit(value if "://" in value else "http://" + value)
        loopback = host.hostname in ("127.0.0.1", "localhost", "::1")
        port = host.port
    except ValueError:
        return False
    if not loopback:
        return False
    if not ENDPOINTS[provider].key_vars:  # Ollama: any loopback port but a real Ollama's
        return port not in (None, OLLAMA_DEFAULT[1])
    return api_key == DUMMY_KEY


# ---- SDK clients ---------------------------------------------------------------------

_clients: dict[tuple, tuple[tuple, Any, Any]] = {}  # key -> (environment, client, weakref to its loop)
_closers: dict[int, tuple[Any, list]] = {}  # id(loop) -> (its closer, [(adapter, client), ...])
_lock = threading.Lock()


def _none() -> None:
    return None


async def _close_at_loop_end(owned: list, loop_id: int):
    """An async generator the event loop finalises at shutdown (asyncio.run() calls
    loop.shutdown_asyncgens() before closing): async clients are closed while their loop
    still runs, instead of being collected later inside another loop (which fails with
    "Event loop is closed")."""
    try:
        yield
    finally:
        with _lock:
            for k in [k for k in _clients if k[1] and k[2] == loop_id]:
                del _clients[k]
            _closers.pop(loop_id, None)
        for adapter, client in owned:
            try:
                await adapter.aclose_client(client)
            except Exception:  # pragma: no cover - best effort
                pass


def _own(loop: asyncio.AbstractEventLoop, adapter: Adapter, client: Any) -> None:
    entry = _closers.get(id(loop))
    if entry is None:
        owned: list = []
        gen = _close_at_loop_end(owned, id(loop))
        step = gen.__anext__()  # registers it with the running loop's async-generator hooks...
        try:
            step.send(None)  # ...and runs it to its `yield` (no await before it)
        except StopIteration:
            pass
        entry = _closers[id(loop)] = (gen, owned)
    entry[1].append((adapter, client))


def close_all() -> None:
    """Close the cached sync clients (registered with atexit: no socket left to the
    interpreter's teardown, which would warn about it)."""
    with _lock:
        items = [(k, c) for k, (_, c, _) in _clients.items() if not k[1]]
        for k, _ in items:
            del _clients[k]
    for _, c in items:
        try:
            c.close()
        except Exception:  # pragma: no cover - best effort
            pass


atexit.register(close_all)


def client_for(adapter: Adapter, *, aio: bool = False, timeout: float | None = None) -> Any:
    """The cached SDK client for this adapter, rebuilt when its environment changed."""
    loop = asyncio.get_running_loop() if aio else None
    base_url = None
    if adapter.name == "offline":
        from ..startup import gateway_url

        base_url = gateway_url() + "/v1"
    env = tuple(os.environ.get(v) for v in adapter.env) + (base_url,)
    key = (adapter.name, aio, id(loop) if aio else None, timeout if adapter.timeout_on_client else None)
    with _lock:
        hit = _clients.get(key)
        if hit is not None and hit[0] == env and (loop is None or hit[2]() is loop):
            return hit[1]
        client = adapter.new_client(aio, timeout, base_url)
        _clients[key] = (env, client, weakref.ref(loop) if loop is not None else _none)
        if loop is not None:
            _own(loop, adapter, client)
        return client

"""The one place the widgets call a model: `open_stream()` and the session totals.

It uses `llmkit.stream` (llmkit.client) and its ledger. If llmkit.client is not
importable, a thin stand-in streams through the official openai SDK (offline models go to
the gateway) so the widgets keep working; nothing else in the widgets knows which one
is in use.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterator

PARAM_NAMES = ("temperature", "max_tokens", "top_p", "top_k", "seed", "stop", "timeout")


@dataclass
class Figures:
    """What one reply cost and how long it took."""

    model: str
    provider: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    ttft: float | None = None  # seconds to the first text
    latency: float | None = None  # seconds to the end (or to Stop)
    cost: float | None = None  # USD spent; None when unknown
    free: bool = False  # offline (or a local model): costs nothing
    finish_reason: str | None = None
    would_cost: float | None = None  # offline: what the same tokens cost live, at list price
    counted: bool = False  # tokens counted here (a stopped reply: the provider never said)

    def as_dict(self) -> dict:
        return asdict(self)


# ---- which models, live or offline -------------------------------------------------------

def ensure_setup():
    """llmkit.status(), running llmkit.setup() first if nothing has."""
    from .. import startup

    st = startup.status()
    if st is None:
        st = startup.setup(quiet=True)
    return st


def provider_of(model: str) -> str | None:
    from .. import catalog

    m = catalog.find(model)
    return m.provider if m else None


def is_live(model: str) -> bool:
    """Whether calls to `model` reach the real provider (per llmkit.status())."""
    from .. import startup

    prov = provider_of(model)
    st = startup.status()
    if prov is None or prov == "offline" or st is None:
        return False
    return st.live(prov)


def label(model: str) -> str:
    """"gpt-4o-mini · openai · live" (or offline): how the model picker shows a model."""
    prov = provider_of(model)
    if prov == "offline":
        return f"{model} · offline"
    return f"{model} · {prov or '?'} · {'live' if is_live(model) else 'offline'}"


def chat_models() -> list[tuple[str, str]]:
    """(label, id) for the model picker: catalog chat models, each marked live or offline."""
    from .. import catalog

    out = []
    for m in catalog.models():
        if m.kind != "chat" or m.retired:
            continue
        out.append((label(m.id), m.id))
    # live first, then offline; catalog order inside each group
    return sorted(out, key=lambda lm: 0 if lm[0].endswith("live") else 1)


def default_model() -> str:
    from .. import catalog, config

    st = ensure_setup()
    for prov in config.PROVIDERS:
        if st is not None and st.live(prov):
            try:
                return catalog.default_for(prov)
            except KeyError:
                continue
    return catalog.default_for("offline")


def list_price(model: str, tokens_in: int | None, tokens_out: int | None) -> float | None:
    """USD for these tokens at the catalog's list price (None if unknown)."""
    from .. import catalog

    m = catalog.find(model)
    if m is None or m.price_in is None or m.price_out is None or tokens_in is None or tokens_out is None:
        return None
    return (tokens_in * m.price_in + tokens_out * m.price_out) / 1e6


def price(model: str, tokens_in: int | None, tokens_out: int | None) -> tuple[float | None, bool, float | None]:
    """(cost in USD or None, free, would_cost) for a reply, from the catalog's prices."""
    at_list = list_price(model, tokens_in, tokens_out)
    if not is_live(model) or provider_of(model) == "ollama":
        return 0.0, True, at_list
    if at_list == 0:
        return 0.0, True, None
    return at_list, False, None


def count_stopped(fig: Figures, messages: list[dict], text: str) -> Figures:
    """Fill in a stopped reply's token counts with llmkit.count_tokens (the provider
    reports usage only at the end of a stream), and the cost they imply."""
    try:
        from ..tokens import count_tokens

        fig.tokens_in = int(count_tokens(messages, fig.model))
        fig.tokens_out = int(count_tokens(text, fig.model)) if text else 0
    except Exception:
        return fig
    fig.counted = True
    cost, free, would = price(fig.model, fig.tokens_in, fig.tokens_out)
    fig.cost, fig.free, fig.would_cost = (0.0 if free else cost), free, (would if free else None)
    return fig


# ---- streams -----------------------------------------------------------------------------

class Stream:
    """Text chunks of one reply. Iterate it (in a worker thread); `figures` is set when
    the iteration ends; `close()` lets go of the connection early."""

    def __init__(self, model: str, chunks: Iterator[str], finish, closer=None, t0: float | None = None):
        self.model = model
        self._chunks = chunks
        self._finish = finish  # () -> dict of figures known at the end
        self._closer = closer
        self.t0 = time.perf_counter() if t0 is None else t0  # when the request was sent
        self.ttft: float | None = None
        self.text = ""
        self.figures: Figures | None = None

    def __iter__(self):
        for piece in self._chunks:
            if not piece:
                continue
            if self.ttft is None:
                self.ttft = time.perf_counter() - self.t0
            self.text += piece
            yield piece
        self.figures = self._figures(self._finish() or {})

    def _figures(self, known: dict, stopped: bool = False) -> Figures:
        tin, tout = known.get("tokens_in"), known.get("tokens_out")
        cost, free, would = price(self.model, tin, tout)
        if known.get("offline") is not None:
            free = bool(known["offline"]) or free
        if known.get("cost") is not None:
            if free:
                would = known["cost"]  # llmkit's Reply: an offline call's cost is what it would cost
            else:
                cost = known["cost"]
        return Figures(model=self.model, provider=known.get("provider") or provider_of(self.model),
                       tokens_in=tin, tokens_out=tout,
                       ttft=known["ttft"] if known.get("ttft") is not None else self.ttft,
                       latency=known.get("latency") or (time.perf_counter() - self.t0),
                       cost=0.0 if free else cost, free=free, would_cost=would if free else None,
                       finish_reason="stopped" if stopped else known.get("finish_reason"))

    def stopped_figures(self) -> Figures:
        """Figures for a reply stopped by the user: times so far; tokens as far as known."""
        return self._figures({}, stopped=True)

    def close(self) -> None:
        if self._closer is not None:
            try:
                self._closer()
            except Exception:
                pass


def _client_module():
    try:
        from .. import client  # noqa: F401  (llmkit.client, the course's client layer)
    except ImportError:
        return None
    return client if hasattr(client, "stream") else None


def open_stream(messages: list[dict], model: str, params: dict | None = None) -> Stream:
    """Start streaming a reply; raises an llmkit.errors exception if the call fails at once."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    client = _client_module()
    if client is not None:
        return _via_client(client, messages, model, params)
    return _via_openai(messages, model, params)


def _via_client(client, messages, model, params) -> Stream:
    t0 = time.perf_counter()
    s = client.stream(messages, model=model, **params)

    def chunks():
        for c in s:
            yield c if isinstance(c, str) else (getattr(c, "text", None) or getattr(c, "delta", None) or "")

    def finish() -> dict:
        reply = None
        for name in ("reply", "final", "result"):
            reply = getattr(s, name, None)
            if callable(reply):
                reply = reply()
            if reply is not None:
                break
        return _reply_figures(reply)

    return Stream(model, chunks(), finish, getattr(s, "close", None), t0=t0)


def _reply_figures(reply: Any) -> dict:
    if reply is None:
        return {}

    def first(obj, *names):
        for n in names:
            v = obj.get(n) if isinstance(obj, dict) else getattr(obj, n, None)
            if v is not None:
                return v
        return None

    usage = first(reply, "usage")
    out = {
        "tokens_in": first(reply, "input_tokens", "tokens_in", "prompt_tokens"),
        "tokens_out": first(reply, "output_tokens", "tokens_out", "completion_tokens"),
        "cost": first(reply, "cost"),
        "ttft": first(reply, "ttft", "time_to_first_token"),
        "latency": first(reply, "latency", "elapsed", "duration"),
        "finish_reason": first(reply, "finish_reason"),
        "offline": first(reply, "offline"),
        "provider": first(reply, "provider"),
    }
    if usage is not None:
        out["tokens_in"] = out["tokens_in"] if out["tokens_in"] is not None else first(
            usage, "input_tokens", "prompt_tokens", "tokens_in")
        out["tokens_out"] = out["tokens_out"] if out["tokens_out"] is not None else first(
            usage, "output_tokens", "completion_tokens", "tokens_out")
        if out["cost"] is None:
            out["cost"] = first(usage, "cost")
    return out


def _via_openai(messages, model, params) -> Stream:
    """Stand-in for llmkit.stream: the openai SDK, to the gateway for offline models."""
    import os

    from openai import OpenAI

    from .. import config, errors, startup

    ensure_setup()
    prov = provider_of(model) or "openai"
    kw: dict[str, Any] = {"max_retries": 2}
    if "timeout" in params:
        kw["timeout"] = params.pop("timeout")
    if not is_live(model):
        kw.update(base_url=startup.gateway_url() + "/v1", api_key=os.environ.get("LLMKIT_API_KEY") or config.DUMMY_KEY)
    elif prov == "groq":
        kw.update(base_url=os.environ.get("GROQ_BASE_URL", "https://api.groq.com") + "/openai/v1",
                  api_key=os.environ.get("GROQ_API_KEY"))
    elif prov != "openai":
        raise errors.LLMError(f"{model} is live on {prov}: the chat panel needs llmkit.client for it",
                              provider=prov, model=model)
    for name in ("retries", "max_time", "fallbacks", "system"):  # llmkit.client's own: not the SDK's
        params.pop(name, None)
    sdk = OpenAI(**kw)
    state: dict[str, Any] = {}
    t0 = time.perf_counter()
    try:
        raw = sdk.chat.completions.create(model=model, messages=messages, stream=True,
                                          stream_options={"include_usage": True}, **params)
    except Exception as e:
        raise errors.classify(e, prov, model) from e

    def chunks():
        try:
            for ch in raw:
                if ch.usage is not None:
                    state["tokens_in"] = ch.usage.prompt_tokens
                    state["tokens_out"] = ch.usage.completion_tokens
                for choice in ch.choices or ():
                    if choice.finish_reason:
                        state["finish_reason"] = choice.finish_reason
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        except Exception as e:
            err = errors.classify(e, prov, model)
            raise err from e

    return Stream(model, chunks(), lambda: state, raw.close, t0=t0)


# ---- session totals ----------------------------------------------------------------------

_lock = threading.Lock()
_local = {"calls": 0, "tokens_in": 0, "tokens_out": 0, "cost": 0.0, "would_cost": 0.0, "paid": False}


def record(fig: Figures) -> None:
    """Count a reply in the widgets' own totals (used only when llmkit has no ledger)."""
    with _lock:
        _local["calls"] += 1
        _local["tokens_in"] += fig.tokens_in or 0
        _local["tokens_out"] += fig.tokens_out or 0
        _local["cost"] += fig.cost or 0.0
        _local["would_cost"] += fig.would_cost or 0.0
        _local["paid"] = _local["paid"] or not fig.free


def _ledger():
    for modname in ("usage", "client"):  # llmkit.usage.ledger(): the session's Ledger
        try:
            mod = __import__(f"llmkit.{modname}", fromlist=["ledger"])
        except ImportError:
            continue
        led = getattr(mod, "ledger", None)
        if led is not None:
            return led() if callable(led) else led
    return None


def uses_ledger() -> bool:
    return _client_module() is not None and _ledger() is not None


def session_totals() -> dict:
    """calls, tokens_in, tokens_out, cost (spent live), would_cost (offline calls at list
    price): from llmkit's session ledger, or the widgets' own count without llmkit.client."""
    led = _ledger() if _client_module() is not None else None
    if led is None:
        with _lock:
            return dict(_local)

    def get(*names, default=None):
        for n in names:
            v = getattr(led, n, None)
            if callable(v):
                v = v()
            if v is not None:
                return v
        return default

    cost = get("total_cost", "cost", default=None)
    return {"calls": get("calls", default=0), "tokens_in": get("input_tokens", default=0),
            "tokens_out": get("output_tokens", default=0), "cost": cost,
            "would_cost": get("offline_cost", default=None), "paid": bool(cost)}

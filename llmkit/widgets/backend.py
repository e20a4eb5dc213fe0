"""The one place the widgets call a model: `open_stream()` (llmkit.stream) and the
session totals (llmkit's ledger), with the figures the panels show.
"""

from __future__ import annotations

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
    """(label, id) for the model picker: catalog chat models, each marked live or offline;
    deprecated ones are left out, as providers close them to new users."""
    from .. import catalog

    out = []
    for m in catalog.models():
        if m.kind != "chat" or m.retired or m.deprecated:
            continue
        out.append((label(m.id), m.id))
    # live first, then offline; catalog order inside each group
    return sorted(out, key=lambda lm: 0 if lm[0].endswith("live") else 1)


def default_model() -> str:
    from .. import catalog
    from ..endpoints import PROVIDERS

    st = ensure_setup()
    for prov in PROVIDERS:
        if st is not None and st.live(prov):
            try:
                return catalog.default_for(prov)
            except KeyError:
                continue
    return catalog.default_for("offline")


def list_price(model: str, tokens_in: int | None, tokens_out: int | None) -> float | None:
    """USD for these tokens at the catalog's list price (None if unknown): llmkit.usage's rule."""
    from .. import catalog, usage

    m = catalog.find(model)
    return None if m is None else usage.cost(m.provider, m, tokens_in, tokens_out)


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


def open_stream(messages: list[dict], model: str, params: dict | None = None) -> Stream:
    """Start streaming a reply with llmkit.stream; raises an llmkit.errors exception if the
    call fails at once."""
    from .. import client

    params = {k: v for k, v in (params or {}).items() if v is not None}
    t0 = time.perf_counter()
    s = client.stream(messages, model=model, **params)
    return Stream(model, iter(s), lambda: reply_figures(s.reply), s.close, t0=t0)


def reply_figures(reply: Any) -> dict:
    """What a finished llmkit Reply says about tokens, cost and timing ({} before it ends)."""
    if reply is None:
        return {}
    return {"tokens_in": reply.usage.input_tokens, "tokens_out": reply.usage.output_tokens, "cost": reply.cost,
            "ttft": reply.ttft, "latency": reply.latency, "finish_reason": reply.finish_reason,
            "offline": reply.offline, "provider": reply.provider}


# ---- session totals ----------------------------------------------------------------------

def session_totals() -> dict:
    """calls, tokens_in, tokens_out, cost (spent live), would_cost (offline calls at list
    price), paid: from llmkit's session ledger."""
    from ..usage import ledger

    led = ledger()
    cost = led.total_cost
    return {"calls": led.calls, "tokens_in": led.input_tokens, "tokens_out": led.output_tokens, "cost": cost,
            "would_cost": led.offline_cost, "paid": bool(cost)}

"""Tokens into money, per call and per session: `cost()`, the session `ledger()` and a
`budget()` that refuses a call before it is sent.

Prices come from the catalog only (per 1M tokens, as read on `catalog.prices_as_of()`);
a model without a price has cost None, never a guess. Ollama runs locally: 0.
Offline calls (answered by the llmkit gateway) show what they *would* cost at the
requested model's list price (the catalog entry of the name asked for: offline "gpt-4o"
is priced as gpt-4o), but spend nothing: the ledger keeps them apart. A budget counts
them at that list price by default, so `budget(usd=...)` refuses a call offline exactly
as it would with a key (a learner without keys sees the refusal too);
`budget(usd=..., offline=False)` counts them as $0.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from . import catalog
from .errors import BudgetExceededError

__all__ = ["cost", "price", "usd", "Record", "Ledger", "ledger", "Budget", "budget"]


def price(provider: str, entry: catalog.Model | None) -> tuple[float, float] | None:
    """(USD per 1M input tokens, per 1M output tokens), or None when unknown."""
    if provider == "ollama":
        return 0.0, 0.0
    if entry is None or entry.price_in is None or entry.price_out is None:
        return None
    return float(entry.price_in), float(entry.price_out)


def cost(provider: str, entry: catalog.Model | None, input_tokens: int | None,
         output_tokens: int | None) -> float | None:
    """USD for this many tokens at the catalog's list price; None if price or counts are unknown."""
    p = price(provider, entry)
    if p is None or input_tokens is None or output_tokens is None:
        return None
    return (input_tokens * p[0] + output_tokens * p[1]) / 1_000_000


def usd(x: float | None) -> str:
    """$0.50, $0.001, $0.010027: up to 6 decimals, at least 2, no trailing zeros beyond."""
    if x is None:
        return "?"
    text = f"{x:,.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"${whole}.{frac.ljust(2, '0')}"


# ---- the ledger ----------------------------------------------------------------------

@dataclass
class Record:
    """One request sent to a provider (each retry and fallback is its own request)."""

    provider: str
    model: str
    offline: bool
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None  # list price of these tokens (what it would cost, when offline)
    latency: float = 0.0
    error: str | None = None  # the llmkit error class name, when the request failed
    at: float = field(default_factory=time.time)


@dataclass
class _Row:
    provider: str
    model: str
    mode: str
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    latency: float = 0.0

    def add(self, r: Record) -> None:
        self.calls += 1
        self.errors += r.error is not None
        self.input_tokens += r.input_tokens
        self.output_tokens += r.output_tokens
        self.latency += r.latency
        if r.error is None:
            self.cost = None if self.cost is None or r.cost is None else self.cost + r.cost


COLUMNS = ("provider", "model", "mode", "calls", "errors", "input", "output", "cost", "avg latency")


class Ledger:
    """Every request made through llmkit in this session, totalled by provider and model.

    `total_cost` is money actually spent (live calls); `offline_cost` what the offline
    calls would have cost live. Its repr is a table (plain text, and HTML in a notebook).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[Record] = []

    def record(self, r: Record) -> None:
        with self._lock:
            self.records.append(r)

    def reset(self) -> None:
        with self._lock:
            self.records.clear()

    def _snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)

    def rows(self) -> list[_Row]:
        rows: dict[tuple, _Row] = {}
        for r in self._snapshot():
            mode = "offline" if r.offline else "live"
            rows.setdefault((r.provider, r.model, mode), _Row(r.provider, r.model, mode)).add(r)
        return list(rows.values())

    def _sum(self, offline: bool) -> float:
        return sum(r.cost or 0.0 for r in self._snapshot() if r.offline == offline and r.error is None)

    @property
    def total_cost(self) -> float:
        """USD spent on live calls (offline calls cost nothing)."""
        return self._sum(False)

    @property
    def offline_cost(self) -> float:
        """USD the offline calls would have cost at list price."""
        return self._sum(True)

    @property
    def calls(self) -> int:
        return len(self._snapshot())

    @property
    def errors(self) -> int:
        return sum(r.error is not None for r in self._snapshot())

    @property
    def input_tokens(self) -> int:
        return sum(r.input_tokens for r in self._snapshot())

    @property
    def output_tokens(self) -> int:
        return sum(r.output_tokens for r in self._snapshot())

    def table(self) -> list[tuple]:
        out = []
        for w in self.rows():
            c = usd(w.cost) if w.mode == "live" else f"({usd(w.cost)})"
            out.append((w.provider, w.model, w.mode, w.calls, w.errors, w.input_tokens, w.output_tokens, c,
                        f"{w.latency / w.calls:.3f} s" if w.calls else "-"))
        return out

    def _footer(self) -> str:
        return (f"spent {usd(self.total_cost)} on live calls; offline calls would have cost "
                f"{usd(self.offline_cost)} (in brackets, not charged). Prices as of {catalog.prices_as_of()}; "
                "a call is one request: retries and fallbacks count.")

    def __repr__(self) -> str:
        rows = [COLUMNS] + [tuple(map(str, r)) for r in self.table()]
        rows.append(("total", "", "", str(self.calls), str(self.errors), str(self.input_tokens),
                     str(self.output_tokens), usd(self.total_cost), ""))
        widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines + [self._footer()])

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in self.table())
        total = (f"<tr><th>total</th><td></td><td></td><th>{self.calls}</th><th>{self.errors}</th>"
                 f"<th>{self.input_tokens}</th><th>{self.output_tokens}</th><th>{usd(self.total_cost)}</th>"
                 "<td></td></tr>")
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}{total}</tbody></table>"
                f"<p><small>{html.escape(self._footer())}</small></p>")


_ledger = Ledger()


def ledger() -> Ledger:
    """The session's ledger (one per process)."""
    return _ledger


# ---- the budget ----------------------------------------------------------------------

class Budget:
    """A spending cap from the moment it is set. A call is refused before it is sent when
    spent + reserved + its worst-case estimate would pass the limit; concurrent calls
    reserve their estimate, so a batch cannot overshoot either.

    `offline=True` (the default): offline calls count at the list price of the model asked
    for, as if they were live, so the budget behaves the same with or without keys.
    `offline=False`: only live calls count; offline ones are noted in `would_cost`."""

    def __init__(self, usd: float, offline: bool = True) -> None:
        if usd < 0:
            raise ValueError("a budget is a non-negative amount of USD")
        self.limit = float(usd)
        self.offline = bool(offline)  # whether offline calls count at list price
        self.spent = 0.0
        self.reserved = 0.0
        self.would_cost = 0.0  # offline calls not counted (offline=False): their list price
        self._lock = threading.Lock()

    def counts(self, offline: bool) -> bool:
        """Whether a call (offline or live) is checked against this budget."""
        return self.offline or not offline

    @property
    def remaining(self) -> float:
        return max(0.0, self.limit - self.spent)

    def reserve(self, estimate: float | None, what: str, why_unknown: str = "") -> None:
        with self._lock:
            if estimate is None:
                raise BudgetExceededError(
                    f"cannot check {what} against the budget: {why_unknown or 'its price is unknown'}; "
                    f"spent {usd(self.spent)} of {usd(self.limit)}", spent=self.spent, limit=self.limit, estimate=None)
            if self.spent + self.reserved + estimate > self.limit:
                raise BudgetExceededError(
                    f"{what} could cost up to {usd(estimate)}; spent {usd(self.spent)}"
                    + (f" (+{usd(self.reserved)} in flight)" if self.reserved else "")
                    + f" of the {usd(self.limit)} budget, so it was not sent. Lower max_tokens, pick a cheaper "
                      "model, or raise the budget with llmkit.budget(usd=...)",
                    spent=self.spent, limit=self.limit, estimate=estimate)
            self.reserved += estimate

    def settle(self, estimate: float, actual: float | None) -> None:
        with self._lock:
            self.reserved = max(0.0, self.reserved - estimate)
            self.spent += estimate if actual is None else actual  # unknown usage: assume the worst

    def note_offline(self, would: float | None) -> None:
        with self._lock:
            self.would_cost += would or 0.0

    def __repr__(self) -> str:
        extra = f"; offline calls would have cost {usd(self.would_cost)} (not counted)" if self.would_cost else ""
        mode = "offline calls at list price" if self.offline else "live calls only"
        return f"Budget(spent {usd(self.spent)} of {usd(self.limit)}, {usd(self.remaining)} left, {mode}{extra})"


_budget: Budget | None = None
_UNSET: Any = object()


def budget(usd: float | None = _UNSET, *, offline: bool = True) -> Budget | None:
    """budget(usd=0.50) caps spending from now on, offline calls counted at the list price
    of the model asked for (offline=False: live calls only); budget(None) removes the cap;
    budget() returns the current one (or None)."""
    global _budget
    if usd is not _UNSET:
        _budget = None if usd is None else Budget(usd, offline=offline)
    return _budget


def current_budget() -> Budget | None:
    return _budget


# ---- one call's bookkeeping ------------------------------------------------------------

class Spend:
    """The budget and ledger side of one call to one target (a model of the fallback chain):
    `reserve()` before anything is sent, `failed()` / `answered()` per request, and
    `settle()` once at the end. llmkit.client's attempt loop calls only these."""

    def __init__(self, target: Any, offline: bool) -> None:
        self.target, self.offline = target, offline  # target: llmkit.providers.Target
        self.reserved: float | None = None

    def reserve(self, messages: list[dict], max_tokens: int | None) -> None:
        """Check the budget before anything is sent (BudgetExceededError if it would pass the cap)."""
        b = current_budget()
        if b is None or not b.counts(self.offline):
            return
        from .providers.anthropic import DEFAULT_MAX_TOKENS
        from .tokens import count_tokens

        t, out = self.target, max_tokens
        if out is None and t.provider == "anthropic":
            out = DEFAULT_MAX_TOKENS
        if out is None and t.entry is not None:
            out = t.entry.max_output
        what = f"this call to {t.label}"
        if out is None:
            b.reserve(None, what, "no max_tokens and the catalog gives no maximum output for it: pass max_tokens")
        estimate = cost(t.provider, t.entry, int(count_tokens(messages, t.label)), out)
        b.reserve(estimate, what + (f" (max_tokens={out})" if max_tokens is None else ""))
        self.reserved = estimate

    def settle(self, actual: float | None) -> None:
        """Release the reservation for what the call cost (None: unknown, so the worst case)."""
        b = current_budget()
        if b is None:
            return
        if not b.counts(self.offline):
            b.note_offline(actual)
        elif self.reserved is not None:
            b.settle(self.reserved, actual)

    def failed(self, latency: float, error: str) -> None:
        """A request that failed: in the ledger, no tokens."""
        ledger().record(Record(self.target.provider, self.target.model, self.offline, latency=latency, error=error))

    def answered(self, input_tokens: int | None, output_tokens: int | None, latency: float) -> float | None:
        """A request that answered: in the ledger and settled; returns its cost at list price."""
        c = cost(self.target.provider, self.target.entry, input_tokens, output_tokens)
        ledger().record(Record(self.target.provider, self.target.model, self.offline, input_tokens or 0,
                               output_tokens or 0, c, latency))
        self.settle(c)
        return c

"""What llmkit.chat returns: the same shape whichever provider answered.

`str(reply)` is the text; in a notebook a Reply shows the text with one line of facts
(model, tokens, cost, time, retries); its repr is one short line.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None or self.output_tokens is None:
            return None
        return self.input_tokens + self.output_tokens

    def __repr__(self) -> str:
        return f"Usage(input={self.input_tokens}, output={self.output_tokens}, total={self.total_tokens})"


@dataclass
class Attempt:
    """One request: which model, and how it failed (error None: it answered)."""

    provider: str
    model: str
    error: str | None = None  # llmkit error class name
    message: str | None = None
    status_code: int | None = None
    wait: float | None = None  # seconds slept before the next attempt
    latency: float = 0.0

    def __repr__(self) -> str:
        what = "ok" if self.error is None else f"{self.error}({self.status_code or ''})"
        wait = f", waited {self.wait:.2f}s" if self.wait else ""
        return f"<{self.provider}:{self.model} {what}{wait}>"


@dataclass
class Reply:
    text: str
    provider: str  # who answered (after fallbacks)
    model: str  # the model id that answered, as sent to the provider
    finish_reason: str | None  # stop | length | content_filter | tool_calls
    usage: Usage
    cost: float | None  # USD at catalog list price; None when the price is unknown
    latency: float  # seconds, from the call to the last byte, retries included
    ttft: float | None = None  # seconds to the first text chunk (streams only)
    retries: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    offline: bool = False  # answered by the llmkit gateway: `cost` is what it would have cost
    requested: str | None = None  # the model as asked for (alias, provider:model)
    model_version: str | None = None  # the model string in the provider's response
    finish_raw: str | None = None  # the provider's own finish/stop reason
    raw: Any = field(default=None, repr=False)  # the SDK's response (a stream: its last chunk)

    def __str__(self) -> str:
        return self.text

    @property
    def fallback_used(self) -> bool:
        first = self.attempts[0] if self.attempts else None
        return first is not None and (first.provider, first.model) != (self.provider, self.model)

    def _facts(self) -> list[str]:
        u = self.usage
        facts = [f"{self.provider}:{self.model}" + (" (offline)" if self.offline else ""),
                 f"{u.input_tokens}+{u.output_tokens} tokens"]
        if self.cost is None:
            facts.append("cost unknown")
        elif self.cost == 0:
            facts.append("free")
        else:
            from .usage import usd

            facts.append(f"{'would cost ' if self.offline else ''}{usd(self.cost)}")
        facts.append(f"{self.latency:.2f}s" + (f" (first token {self.ttft:.2f}s)" if self.ttft is not None else ""))
        facts.append(f"finish: {self.finish_reason}")
        if self.retries:
            facts.append(f"{self.retries} retr{'y' if self.retries == 1 else 'ies'}")
        if self.fallback_used:
            facts.append(f"fallback from {self.attempts[0].provider}:{self.attempts[0].model}")
        return facts

    def __repr__(self) -> str:
        short = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"Reply({short!r}, {', '.join(self._facts())})"

    def _repr_markdown_(self) -> str:
        return f"{self.text}\n\n<small>{html.escape(' · '.join(self._facts()))}</small>"

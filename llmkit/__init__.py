"""llmkit: the helper package of the LLM APIs course.

`import llmkit` is cheap: it imports no provider SDK, no FastAPI, no numpy. Each public
name below is imported from its module on first use.

    import llmkit; llmkit.setup()     # live where keys exist, the offline gateway elsewhere
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "setup": ("startup", "setup"),
    "status": ("startup", "status"),
    "gateway_url": ("startup", "gateway_url"),
    "Status": ("startup", "Status"),
    "catalog": ("catalog", None),
    "config": ("config", None),
    "engine": ("engine", None),
    "faults": ("faults", None),
    "widgets": ("widgets", None),
    # the client layer: one call for every provider
    "chat": ("client", "chat"),
    "stream": ("client", "stream"),
    "achat": ("client", "achat"),
    "astream": ("client", "astream"),
    "batch": ("client", "batch"),
    "Reply": ("reply", "Reply"),
    "count_tokens": ("tokens", "count_tokens"),
    "ledger": ("usage", "ledger"),
    "budget": ("usage", "budget"),
    "errors": ("errors", None),
    "usage": ("usage", None),
    "client": ("client", None),
    "LLMError": ("errors", "LLMError"),
}

if TYPE_CHECKING:  # pragma: no cover
    from .client import achat, astream, batch, chat, stream
    from .errors import LLMError
    from .reply import Reply
    from .startup import Status, gateway_url, setup, status
    from .tokens import count_tokens
    from .usage import budget, ledger


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'llmkit' has no attribute {name!r}") from None
    mod = importlib.import_module(f".{module}", __name__)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))


__all__ = ["setup", "status", "gateway_url", "Status", "chat", "stream", "achat", "astream", "batch", "Reply",
           "count_tokens", "ledger", "budget", "LLMError", "errors", "faults", "catalog", "__version__"]

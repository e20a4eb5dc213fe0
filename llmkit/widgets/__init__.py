"""Chat widgets for the course's notebooks (ipywidgets; the message box is an anywidget).

    from llmkit.widgets import ChatPanel, ComparePanel
    ChatPanel(model="gpt-4o-mini", system="Answer in one sentence.")
    ComparePanel(models=["gpt-4o-mini", "claude-haiku-4-5"])

`llmkit ui` serves the same panel as a page with no notebook code (through Voilà).
Names are imported on first use: `import llmkit.widgets` does not import ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ChatPanel": "chat",
    "ComparePanel": "compare",
    "Composer": "composer",
}

if TYPE_CHECKING:  # pragma: no cover
    from .chat import ChatPanel
    from .compare import ComparePanel
    from .composer import Composer


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'llmkit.widgets' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))


__all__ = ["ChatPanel", "ComparePanel", "Composer"]

"""The model catalog: one data file (catalog.json) with ids, aliases, provider, context
length, prices per 1M tokens (with the date they were read), replacements for retired ids,
retirement dates of deprecated ids (`retires`: they still answer until then, as the real
APIs do, so old code keeps working while the lessons move on) and which real model each
id stands for (`stands_for`, facts read on `as_of`). The course never hard-codes a model
id anywhere else. Capabilities are the real model's; offline, one small model answers for
every name and the gateway reports what that one can do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).parent / "catalog.json"


@dataclass(frozen=True)
class Model:
    id: str
    provider: str
    aliases: tuple[str, ...] = ()
    kind: str = "chat"
    context_length: int = 0
    max_output: int | None = None
    price_in: float | None = None  # USD per 1M input tokens
    price_out: float | None = None  # USD per 1M output tokens
    capabilities: tuple[str, ...] = field(default_factory=tuple)
    retired: str | None = None
    retires: str | None = None  # deprecated: the announced retirement date (YYYY-MM-DD)
    replacement: str | None = None
    stands_for: str | None = None  # the real model this id names (what a live call reaches)
    as_of: str | None = None  # when this entry's facts were read (else the file's prices_as_of)

    @property
    def deprecated(self) -> bool:
        """Still served, but with a retirement date and a replacement to move to."""
        return bool(self.retires) and not self.retired

    @property
    def lifecycle(self) -> str:
        """active, deprecated or retired: the words Anthropic's Models API uses."""
        return "retired" if self.retired else "deprecated" if self.deprecated else "active"


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def models() -> tuple[Model, ...]:
    out = []
    for m in _data()["models"]:
        m = dict(m)
        m["aliases"] = tuple(m.get("aliases", ()))
        m["capabilities"] = tuple(m.get("capabilities", ()))
        out.append(Model(**m))
    return tuple(out)


@lru_cache(maxsize=1)
def _index() -> dict[str, Model]:
    idx: dict[str, Model] = {}
    for m in models():
        idx.setdefault(m.id.lower(), m)
        for a in m.aliases:
            idx.setdefault(a.lower(), m)
    return idx


def find(name: str) -> Model | None:
    """The catalog entry for an id or alias (case-insensitive), or None."""
    if not name:
        return None
    name = name.strip()
    if name.lower().startswith("models/"):
        name = name[len("models/"):]
    found = _index().get(name.lower())
    if found is None and name.lower().endswith(":latest"):  # Ollama's default tag
        found = _index().get(name.lower()[:-len(":latest")])
    return found


def default_for(provider: str) -> str:
    return _data()["defaults"][provider]


def prices_as_of() -> str:
    return _data()["prices_as_of"]


def accepted_offline(name: str) -> bool:
    """Whether the offline gateway answers to this model name: catalog entries, and any
    id shaped like a provider's own (gpt-..., claude-..., gemini-..., llama...)."""
    if find(name):
        return True
    low = (name or "").strip().lower()
    return bool(low) and any(low.startswith(p) for p in _data()["accepted_offline_prefixes"])

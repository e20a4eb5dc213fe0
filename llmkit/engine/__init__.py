"""The offline model behind the gateway. `get_engine()` loads it once per process.

Engines implement `base.Engine`: generate (a stream of tokens), count tokens, embed.
`LLMKIT_ENGINE` picks one by name; v1 is the retrieval-conditioned n-gram model.
"""

from __future__ import annotations

import os

from .base import Engine, EngineInputError, Generation, SamplingParams, Token, ToolSpec

ENGINES = {"ngram-v1": "llmkit.engine.ngram",
           "transformer-v2": "llmkit.engine.transformer",
           "transformer-v3": "llmkit.engine.transformer"}
DEFAULT = "transformer-v3"


def get_engine(name: str | None = None) -> Engine:
    import importlib

    name = name or os.environ.get("LLMKIT_ENGINE") or DEFAULT
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of {sorted(ENGINES)}")
    module = importlib.import_module(ENGINES[name])
    return module.get(name) if name.startswith("transformer") else module.get()


__all__ = ["Engine", "EngineInputError", "Generation", "SamplingParams", "Token", "ToolSpec", "get_engine"]

"""Which model names the gateway answers to, and how it lists them.

Offline, every chat model is the one offline engine under many names: the catalog's ids
and aliases, any id shaped like a provider's own (gpt-..., claude-..., gemini-...,
llama...), and models created through Ollama's /api/create. A reply names the model that
was asked for; the `backend` header says which engine really answered.

Created models (and the built-in names deleted with /api/delete) belong to one app: a
`CreatedModels` on `app.state.created`, read from that app's data folder when the app is
made. The app's middleware makes it the current one for each request (`use`), so every
protocol's model check and the pipeline (run.py) see it without passing it around, as
the router is seen (router.py); outside a request there are none.
"""

from __future__ import annotations

import contextvars
import re
import time
from pathlib import Path

from .. import catalog
from . import router, store
from .errors import APIError

CREATED = int(time.time())


class CreatedModels:
    """One app's models created with Ollama's /api/create or /api/copy, and the built-in
    names deleted with /api/delete, kept in the data folder `folder` (None: kept nowhere)."""

    def __init__(self, folder: Path | None = None, custom: dict | None = None, removed=()):
        self.folder = folder
        self.custom: dict[str, dict] = dict(custom or {})  # name (no ":latest") -> {"from", "system", "parameters", ...}
        self.removed: set[str] = set(removed)  # built-in names deleted (no ":latest"), until pulled again

    @classmethod
    def load(cls, folder: Path | None = None) -> "CreatedModels":
        """What the data folder `folder` (default: store.data_dir()) holds from earlier runs."""
        folder = Path(folder) if folder is not None else store.data_dir()
        return cls(folder, store.load(folder), store.load_removed(folder))

    def get(self, name: str) -> dict | None:
        return self.custom.get(name) or self.custom.get(_strip_latest(name))

    def save(self, name: str) -> Path | None:
        """Save what this app now holds for `name` (a ":latest"-less key: created, deleted, or a
        built-in name deleted or pulled back) into the data folder, leaving the other names there
        as they are. Blocking: call it from a thread; StoreFull past the file's limit."""
        if self.folder is None:
            return None
        return store.update(self.folder, {name: self.custom.get(name)}, {name: name in self.removed})


_NONE = CreatedModels()  # outside a request: no app, no created models
_current: contextvars.ContextVar[CreatedModels] = contextvars.ContextVar("llmkit_created_models", default=_NONE)


def use(created: CreatedModels) -> contextvars.Token:
    """Make `created` (an app's) the current request's; reset with `_current.reset(token)`."""
    return _current.set(created)


def done(token: contextvars.Token) -> None:
    _current.reset(token)


def current() -> CreatedModels:
    """The created models of the app serving the current request."""
    return _current.get()


MAX_NAME = 256  # characters in a model name
_WELL_FORMED = re.compile(r"[A-Za-z0-9][\w.:/@+]*(?:-[\w.:/@+]+)*")  # no empty part between dashes


def known(name: str) -> bool:
    if not isinstance(name, str) or len(name) > MAX_NAME:
        return False
    routed = router.serves(name)  # a name routed to an upstream (or the offline model turned off)
    if routed is not None:
        return routed
    made = current()
    if made.get(name) is not None:
        return True
    if _strip_latest(name) in made.removed:  # deleted like an Ollama model: gone until pulled again
        return False
    if catalog.find(name):
        return True
    return bool(_WELL_FORMED.fullmatch(name)) and catalog.accepted_offline(name)


def lineage(name: str, limit: int = 64) -> list[str]:
    """`name` and the models it was created FROM, nearest first; stops at a model the
    gateway serves itself, at a cycle (a saved file may hold one) or after `limit` steps."""
    chain, seen = [name], {_strip_latest(name)}
    while len(chain) <= limit:
        made = custom_model(chain[-1])
        parent = made.get("from") if made else None
        if not isinstance(parent, str) or not parent or _strip_latest(parent) in seen:
            break
        seen.add(_strip_latest(parent))
        chain.append(parent)
    return chain


def creates_cycle(name: str, parent: str) -> bool:
    """Whether making `name` FROM `parent` would make a model its own ancestor."""
    return _strip_latest(name) in {_strip_latest(n) for n in lineage(parent)}


def _strip_latest(name: str) -> str:
    return name[:-7] if name.endswith(":latest") else name


def custom_model(name: str) -> dict | None:
    """The current app's created model of that name (with or without ":latest"), or None."""
    return current().get(name)


def require(name: str | None, param: str = "model") -> str:
    """The model name if the gateway serves it; otherwise a 404 saying so."""
    if not name or not isinstance(name, str):
        raise APIError(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    if not known(name):
        raise APIError(404, f"The model `{name}` does not exist or you do not have access to it.",
                       param=param, code="model_not_found")
    return name


def context_length(name: str, engine_context: int) -> int:
    """What a model reports as its context: the engine's, since the engine answers."""
    return engine_context


def openai_list(engine_context: int) -> list[dict]:
    """Entries for GET /v1/models: catalog chat and embedding models plus created ones."""
    out = []
    for m in catalog.models():
        if m.retired:
            continue
        out.append({"id": m.id, "object": "model", "created": CREATED, "owned_by": m.provider,
                    "max_model_len": engine_context, "aliases": list(m.aliases)})
    for name in current().custom:
        out.append({"id": name, "object": "model", "created": CREATED, "owned_by": "ollama",
                    "max_model_len": engine_context, "aliases": []})
    routed = routed_list()
    taken = {e["id"] for e in routed}
    return routed + ([e for e in out if e["id"] not in taken] if router.offline_on() else [])


def routed_list() -> list[dict]:
    """What the upstreams serve, as /v1/models lists it (owned_by: the upstream's name)."""
    return [{"id": n, "object": "model", "created": CREATED, "owned_by": up.name, "aliases": []}
            for n, up in router.listed()]


def routed_tags() -> list[dict]:
    """What the upstreams serve, as Ollama's /api/tags lists it."""
    from datetime import datetime, timezone

    when = datetime.fromtimestamp(CREATED, timezone.utc).isoformat().replace("+00:00", "Z")
    return [{"name": n, "model": n, "modified_at": when, "size": 0, "digest": "",
             "details": {"parent_model": "", "format": up.wire, "family": up.name, "families": [up.name],
                         "parameter_size": "", "quantization_level": ""}} for n, up in router.listed()]


def openai_entry(name: str, engine_context: int) -> dict:
    m = catalog.find(name)
    return {"id": name, "object": "model", "created": CREATED, "owned_by": m.provider if m else "llmkit",
            "max_model_len": engine_context, "aliases": list(m.aliases) if m else []}


_digest_cache: dict[str, str] = {}


def engine_digest(engine) -> str:
    """sha256 of the engine's files: what Ollama calls a model's digest."""
    import hashlib

    if engine.name not in _digest_cache:
        h = hashlib.sha256()
        for f in engine.files:
            h.update(f.read_bytes())
        _digest_cache[engine.name] = h.hexdigest()
    return _digest_cache[engine.name]


def _human(n: int) -> str:
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def tag_entry(name: str, engine, modified_at: str | None = None) -> dict:
    """One model as Ollama's /api/tags lists it (the course gateway's /models uses it too)."""
    from datetime import datetime, timezone

    size = sum(f.stat().st_size for f in engine.files)
    when = modified_at or datetime.fromtimestamp(CREATED, timezone.utc).isoformat().replace("+00:00", "Z")
    base = custom_model(name)
    return {"name": name, "model": name, "modified_at": when, "size": size, "digest": engine_digest(engine),
            "details": {"parent_model": base["from"] if base else "", "format": "npz",
                        "family": engine.name, "families": [engine.name],
                        "parameter_size": _human(engine.parameters), "quantization_level": "F32"}}


# Request fields of other protocols that stand for an Ollama option (a request that sets
# one of them overrides the created model's value for that option).
OPTION_ALIASES = {"num_predict": ("max_tokens", "max_completion_tokens", "max_output_tokens")}


def to_sampling(options: dict, base):
    """A copy of SamplingParams `base` with these Ollama options (by Ollama's names) applied."""
    from dataclasses import replace

    changes = {}
    for key, field_name in (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k"),
                            ("min_p", "min_p"), ("repeat_penalty", "repeat_penalty")):
        if options.get(key) is not None:
            changes[field_name] = options[key]
    if options.get("seed") is not None:
        changes["seed"] = None if options["seed"] < 0 else options["seed"]  # Ollama: -1 = random
    if options.get("stop") is not None:
        changes["stop"] = [options["stop"]] if isinstance(options["stop"], str) else list(options["stop"])
    if options.get("num_predict") is not None:
        changes["max_tokens"] = None if options["num_predict"] < 0 else options["num_predict"]  # -1/-2: no cap
    return replace(base, **changes)


def apply_custom(name: str, messages: list[dict], overrides: dict | None = None, params=None):
    """Apply a created model (Ollama's /api/create) the way Ollama does, for any protocol.

    Its saved messages and system prompt go before the conversation (the system prompt only
    when the conversation does not open with its own); its parameters are defaults under the
    request's `overrides` (keyed by Ollama option names or the aliases above). Returns
    (messages, merged options dict), or (messages, SamplingParams) when the request's
    SamplingParams are passed as `params`: then the defaults fill what the request left out.
    Any other model name comes back unchanged.
    """
    base = custom_model(name)
    overrides = dict(overrides or {})
    if not base:
        return messages, (params if params is not None else overrides)
    msgs = list(messages)
    if msgs:
        msgs = [dict(m) for m in base.get("messages") or []] + msgs
        if base.get("system") and messages[0].get("role") != "system":
            msgs.insert(0, {"role": "system", "content": base["system"]})
    given = {k for k, v in overrides.items() if v is not None}
    defaults = {k: v for k, v in (base.get("parameters") or {}).items()
                if k not in given and not given.intersection(OPTION_ALIASES.get(k, ()))}
    if params is not None:
        return msgs, to_sampling(defaults, params)
    return msgs, {**defaults, **{k: v for k, v in overrides.items() if v is not None}}

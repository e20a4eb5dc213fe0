"""What Ollama's inference (ollama.py) and model management (ollama_models.py) both say
about models: how a name is spelled (`llama3.1` is `llama3.1:latest`), which built-in
names /api/tags lists, Ollama's "not found" words, what a model can do (/api/show's
capabilities), which models are "in memory" (keep_alive, /api/ps) and Ollama's timestamps.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from starlette.requests import Request
from starlette.responses import JSONResponse

from .. import catalog
from . import models
from .errors import APIError
from .validate import field


def now() -> datetime:
    return datetime.now(timezone.utc)


def stamp(when: datetime | None = None) -> str:
    """A time as Ollama writes it (RFC 3339, "Z")."""
    return (when or now()).isoformat().replace("+00:00", "Z")


def reply(data: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def key(name: str) -> str:
    """The name without ":latest" (how created, deleted and loaded models are keyed)."""
    return name[:-7] if name.endswith(":latest") else name


def display(name: str) -> str:
    """The name as Ollama lists it: with a tag (":latest" when it has none)."""
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def not_found(name: str) -> APIError:
    return APIError(404, f"model '{name}' not found", param="model", code="model_not_found")


def offline_pull_error(name: str) -> str:
    return (f"pull model manifest: file does not exist (the offline gateway cannot download '{name}': "
            "GET /api/tags lists the models it serves)")


def name_of(body: dict, name: str = "model") -> str:
    """The request's model name (`name` is the legacy spelling); required."""
    value = field(body, name, str, None) or field(body, "name", str, None)
    if not value:
        raise APIError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    return value


def served(body: dict, name: str = "model") -> str:
    """The request's model name, which must be one the gateway serves (else Ollama's 404)."""
    value = name_of(body, name)
    if not models.known(value):
        raise not_found(value)
    return value


def base_names() -> list[str]:
    """The built-in Ollama models /api/tags lists (those not deleted in this data folder)."""
    return [display(m.id) for m in catalog.models()
            if m.provider == "ollama" and not m.retired and key(m.id) not in models.current().removed]


def capabilities(name: str) -> list[str]:
    """What the model answering for `name` can do, as /api/show lists it. The offline engine
    completes and embeds; it has no thinking phase and no fill-in-the-middle ("thinking" and
    "insert" never appear), so think=true and `suffix` are refused, as Ollama refuses them; it
    calls tools (engine/tools.py), so chat models list "tools"."""
    root = models.lineage(name)[-1]  # bounded: a saved file may hold a cycle
    m = catalog.find(root)
    return ["embedding"] if m and m.kind == "embedding" else ["completion", "tools"]


def loaded(request: Request) -> dict[str, datetime]:
    """This app's models "in memory": name -> when keep_alive runs out (what /api/ps lists)."""
    state = request.app.state
    if getattr(state, "ollama_loaded", None) is None:
        state.ollama_loaded = {}
    return state.ollama_loaded


def touch(request: Request, name: str, keep: timedelta | None) -> None:
    """Record that `name` is in memory until keep_alive runs out (0 = unloaded now, None = forever)."""
    if keep is not None and keep.total_seconds() == 0:
        loaded(request).pop(key(name), None)
    else:
        loaded(request)[key(name)] = now() + (keep if keep is not None else timedelta(days=365 * 100))

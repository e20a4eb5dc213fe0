"""Ollama's model management: /api/version, /api/tags, /api/ps, /api/show, /api/create,
/api/copy, /api/delete, /api/pull, /api/push.

Created models live on the app (`app.state.created`, a models.CreatedModels: every
protocol answers to them through run.py) and are saved in its data folder so they
outlive the process. Nothing is ever downloaded: pulling
a name the gateway serves reports honestly that the offline model already answers for it.
Deleting a built-in name works as in Ollama: it leaves /api/tags (and every route answers
404 for it) in this data folder until /api/pull brings it back (`CreatedModels.removed`).
"""

from __future__ import annotations

import hashlib
import json
import re

from fastapi import APIRouter, Request
from starlette.responses import Response

from . import modelfile, models, ollama_names as names, store
from .models import CreatedModels
from .common import engine_of, off_loop
from .errors import APIError
from .framing import ndjson, ndjson_response
from .modelfile import OPTION_KINDS, parse_modelfile
from .ollama import chat_messages
from .validate import field, json_body

router = APIRouter()
VERSION = "0.12.6"  # the Ollama release whose API this adapter follows
NAME_RE = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*){0,2}(:[\w][\w.-]{0,127})?$")


@router.api_route("/api/version", methods=["GET", "HEAD"])
async def version():
    return names.reply({"version": VERSION})


@router.api_route("/api/tags", methods=["GET", "HEAD"])
async def tags(request: Request):
    engine = engine_of(request)
    created = _created(request).custom
    made = sorted(created.items(), key=lambda kv: kv[1].get("modified_at", ""), reverse=True)
    out = [models.tag_entry(names.display(n), engine, d.get("modified_at")) for n, d in made]
    out += [models.tag_entry(n, engine) for n in names.base_names() if names.key(n) not in created]
    routed = models.routed_tags()
    taken = {e["name"] for e in routed}
    own = [e for e in out if e["name"] not in taken] if models.router.offline_on() else []
    return names.reply({"models": routed + own})


@router.get("/api/ps")
async def ps(request: Request):
    engine = engine_of(request)
    now, loaded = names.now(), names.loaded(request)
    for name in [n for n, until in loaded.items() if until <= now]:
        del loaded[name]
    out = []
    for name, until in sorted(loaded.items(), key=lambda kv: kv[1], reverse=True):
        entry = models.tag_entry(names.display(name), engine)
        entry.pop("modified_at", None)
        out.append({**entry, "expires_at": names.stamp(until), "size_vram": 0, "context_length": engine.context_length})
    return names.reply({"models": out})


def _definition(name: str) -> dict:
    """A model's system prompt, parameters, template, messages and parent, created or built in."""
    made = models.custom_model(name)
    return made or {"from": "", "system": None, "parameters": {}}


@router.post("/api/show")
async def show(request: Request):
    body = await json_body(request)
    name = names.served(body)
    engine = engine_of(request)
    d = _definition(name)
    entry = models.tag_entry(names.display(name), engine, d.get("modified_at"))
    arch = engine.name
    info = {"general.architecture": arch, "general.basename": names.key(name),
            "general.parameter_count": engine.parameters,
            f"{arch}.context_length": engine.context_length, "tokenizer.ggml.model": "bpe"}
    info[f"{arch}.vocab_size"] = engine.vocab
    return names.reply({"modelfile": modelfile.render(names.display(name), d, engine),
                        "parameters": modelfile.parameters_text(d.get("parameters") or {}),
                        "template": modelfile.template(d), "system": d.get("system") or "",
                        "license": d.get("license") or "", "details": entry["details"], "model_info": info,
                        "capabilities": names.capabilities(name), "messages": d.get("messages") or [],
                        "modified_at": entry["modified_at"]})


def _valid_name(name, label: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise APIError(400, f"invalid model name: {label} {json.dumps(name)} must look like 'name' or "
                            "'namespace/name:tag'", param=label, code="invalid_value")
    return name


def _stream_statuses(statuses: list[dict], stream: bool):
    if not stream:
        return names.reply(statuses[-1])
    return ndjson_response([ndjson(s) for s in statuses])


def _created(request: Request) -> CreatedModels:
    return request.app.state.created


async def _save(created: CreatedModels, key: str, previous: dict | None) -> None:
    """Save the change to `key`, in a thread; when the file would pass its limit, undo it
    (back to `previous`) and answer 413."""
    try:
        await off_loop(created.save, key)
    except store.StoreFull as e:
        if previous is None:
            created.custom.pop(key, None)
        else:
            created.custom[key] = previous
        raise APIError(413, f"cannot save the model: {e} (delete models with /api/delete to make room)",
                       param="model", code="request_too_large") from None


def _no_cycle(name: str, parent: str, label: str) -> None:
    """A model may not be made FROM itself, nor FROM one that comes from it (A -> B -> A)."""
    if models.creates_cycle(name, parent):
        chain = " -> ".join([name] + models.lineage(parent))
        raise APIError(400, f"invalid '{label}': model '{name}' cannot be created from itself ({chain})",
                       param=label, code="invalid_value")


@router.post("/api/create")
async def create(request: Request):
    body = await json_body(request)
    name = _valid_name(field(body, "model", str, None) or field(body, "name", str, None), "model")
    stream = field(body, "stream", bool, True)
    spec: dict = {"parameters": {}, "messages": []}
    text = field(body, "modelfile", str, None)
    if text:
        spec.update(parse_modelfile(text))
    if body.get("path"):
        raise APIError(400, "The offline gateway cannot read a Modelfile from a path: send its text as 'modelfile'.",
                       param="path", code="invalid_value")
    if body.get("files") or body.get("adapters") or spec.get("adapter"):
        raise APIError(400, "The offline gateway cannot import model files or adapters (GGUF, safetensors, LoRA): "
                            "create a model from one it serves with 'from'.", param="files", code="invalid_value")
    if body.get("quantize"):
        raise APIError(400, "The offline gateway cannot quantize: its offline model is kept as it is.",
                       param="quantize", code="invalid_value")
    parent = field(body, "from", str, None) or spec.get("from")
    if not parent:
        raise APIError(400, "neither 'from' or 'files' was specified", param="from", code="missing_required_parameter")
    if not models.known(parent):
        raise APIError(404, names.offline_pull_error(parent), param="from", code="model_not_found")
    _no_cycle(name, parent, "from")
    for key in field(body, "parameters", dict, None) or {}:
        if key not in OPTION_KINDS and key != "stop":
            raise APIError(400, f"unknown parameter '{key}'", param=f"parameters.{key}", code="invalid_value")
    params = {**spec["parameters"], **modelfile.options(body, "parameters")}
    msgs = field(body, "messages", list, None)
    messages = chat_messages({"messages": msgs}) if msgs is not None else chat_messages(spec)
    system = field(body, "system", str, None)
    template = field(body, "template", str, None)
    license_ = body.get("license")
    if isinstance(license_, list):
        license_ = "\n".join(str(x) for x in license_)
    inherited = models.custom_model(parent) or {}
    definition = {
        "from": parent,
        "system": system if system is not None else spec.get("system", inherited.get("system")),
        "parameters": {**(inherited.get("parameters") or {}), **params},
        "template": template if template is not None else spec.get("template", inherited.get("template")),
        "messages": messages or inherited.get("messages") or [],
        "license": license_ if isinstance(license_, str) else spec.get("license", inherited.get("license")),
        "modified_at": names.stamp(),
    }
    definition = {k: v for k, v in definition.items() if v not in (None, "", [], {}) or k in ("from", "parameters")}
    statuses = [{"status": "reading model metadata"}]
    for part in ("template", "system", "license", "parameters", "messages"):
        if definition.get(part):
            statuses.append({"status": f"creating {part} layer"})
    digest = await off_loop(models.engine_digest, engine_of(request))
    statuses += [{"status": f"using already created layer sha256:{digest}"}, {"status": "writing manifest"},
                 {"status": "success"}]
    created = _created(request)
    previous = created.custom.get(names.key(name))
    created.custom[names.key(name)] = definition
    await _save(created, names.key(name), previous)
    return _stream_statuses(statuses, stream)


@router.post("/api/copy")
async def copy(request: Request):
    body = await json_body(request)
    source = field(body, "source", str, required=True)
    dest = _valid_name(field(body, "destination", str, required=True), "destination")
    if not models.known(source):
        raise APIError(404, f'model "{source}" not found', param="source", code="model_not_found")
    made = models.custom_model(source)
    copied = {**(made or {"from": source, "parameters": {}}), "modified_at": names.stamp()}
    _no_cycle(dest, copied["from"], "destination")
    created = _created(request)
    previous = created.custom.get(names.key(dest))
    created.custom[names.key(dest)] = copied
    await _save(created, names.key(dest), previous)
    return Response(status_code=200)


@router.delete("/api/delete")
async def delete(request: Request):
    body = await json_body(request)
    name = names.name_of(body)
    created = _created(request)
    if names.key(name) not in created.custom:
        if names.key(name) not in {names.key(n) for n in names.base_names()}:
            raise names.not_found(name)
        # a built-in name: gone from /api/tags (and every route) in this data folder until pulled again
        created.removed.add(names.key(name))
        names.loaded(request).pop(names.key(name), None)
        try:
            await off_loop(created.save, names.key(name))
        except Exception:
            created.removed.discard(names.key(name))
            raise
        return Response(status_code=200)
    previous = created.custom.pop(names.key(name))
    names.loaded(request).pop(names.key(name), None)
    await _save(created, names.key(name), previous)
    return Response(status_code=200)


@router.post("/api/pull")
async def pull(request: Request):
    body = await json_body(request)
    name = names.name_of(body)
    stream = field(body, "stream", bool, True)
    field(body, "insecure", bool, False)
    created = _created(request)
    if names.key(name) in created.removed:  # a deleted built-in model comes back
        created.removed.discard(names.key(name))
        await off_loop(created.save, names.key(name))
    if not models.known(name):
        if not stream:
            raise APIError(404, names.offline_pull_error(name), param="model", code="model_not_found")
        # as Ollama does: the manifest lookup is reported, then fails in the stream
        return ndjson_response([ndjson({"status": "pulling manifest"}), ndjson({"error": names.offline_pull_error(name)})])
    engine = engine_of(request)
    statuses = [{"status": "pulling manifest"}]
    hashed = await off_loop(lambda: [(hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_size)
                                     for f in engine.files])
    for digest, size in hashed:
        statuses.append({"status": f"pulling {digest[:12]}", "digest": f"sha256:{digest}", "total": size,
                         "completed": size})
    statuses += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"},
                 {"status": f"offline: '{name}' is answered by the offline model {engine.name}, already here; "
                            "nothing was downloaded"},
                 {"status": "success"}]
    return _stream_statuses(statuses, stream)


@router.post("/api/push")
async def push(request: Request):
    body = await json_body(request)
    name = names.served(body)
    raise APIError(403, f"cannot push '{name}': the offline gateway has no registry to push to and cannot reach "
                        "ollama.com; push from a real Ollama signed in to your account.", param="model")

"""gateway.toml: the routes, the upstreams and classroom mode, read with errors that name the line.

    [gateway]
    offline = true               # names no route takes go to the offline model (false: 404)
    connect_timeout = 2          # seconds, for every upstream unless it sets its own
    read_timeout = 60

    [upstreams.local]            # tried in the order written
    url = "openai+http://127.0.0.1:8080/v1"      # llama.cpp, vLLM, LM Studio, transformers serve
    models = ["llama*", "llmkit-transformer-v3"] # names or globs this upstream answers
    # model = "served-name"      # the name sent upstream, if not the one asked for
    # key_env = "LOCAL_KEY"      # a variable holding a key for it (real providers read their own)

    [upstreams.claude]
    url = "anthropic"            # or openai, gemini, groq: the real API, key from ANTHROPIC_API_KEY
    models = ["claude-*"]

    [classroom]
    db = "classroom.sqlite"      # relative to this file
    requests_per_day = 200       # per student; leave one out for no limit
    tokens_per_day = 200000
    usd_per_day = 0.50

`--upstream NAME=URL` on the command line adds a route the same way (NAME a model name or a
glob). Every mistake is a `ConfigError` whose message starts with `file:line:`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .router import Router
from .upstreams import Upstream, parse_url


class ConfigError(ValueError):
    """A mistake in gateway.toml or an --upstream flag, said with where it is."""


@dataclass
class Quota:
    requests_per_day: int | None = None
    tokens_per_day: int | None = None
    usd_per_day: float | None = None


@dataclass
class ClassroomConfig:
    db: Path
    quota: Quota = field(default_factory=Quota)


@dataclass
class GatewayConfig:
    router: Router | None = None
    classroom: ClassroomConfig | None = None


GATEWAY_KEYS = {"offline": bool, "connect_timeout": (int, float), "read_timeout": (int, float)}
UPSTREAM_KEYS = {"url": str, "models": list, "model": str, "key_env": str,
                 "connect_timeout": (int, float), "read_timeout": (int, float)}
CLASSROOM_KEYS = {"db": str, "requests_per_day": int, "tokens_per_day": int, "usd_per_day": (int, float)}
TYPE_NAMES = {bool: "true or false", str: "a string", list: "a list", int: "a whole number",
              (int, float): "a number"}


def _line_of(text: str, table: str | None, key: str | None = None) -> int:
    """The line where `key` is set in `[table]` (or the table's header), 1-based; 0 if not found."""
    current, header = None, 0
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        m = re.match(r"^\[\s*([^\[\]]+?)\s*\]", s)
        if m:
            current = re.sub(r"\s*\.\s*", ".", m.group(1)).replace('"', "")
            if current == table:
                header = n
                if key is None:
                    return n
            continue
        if key and current == table and re.match(rf"^\"?{re.escape(key)}\"?\s*=", s):
            return n
    return header


def load(path: str | Path, extra_upstreams: list[str] = ()) -> GatewayConfig:
    """Read a gateway.toml (and --upstream flags, routed first). Raises ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the gateway config: {e.strerror or e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = getattr(e, "lineno", None) or _toml_line(str(e), text)
        raise ConfigError(f"{path}:{line}: not valid TOML: {getattr(e, 'msg', str(e))}") from None
    return from_dict(data, text, str(path), path.parent, extra_upstreams)


def _toml_line(msg: str, text: str) -> int | str:
    m = re.search(r"line (\d+)", msg)
    if m:
        return int(m.group(1))
    return len(text.splitlines()) if "end of document" in msg else "?"


def from_flags(flags: list[str]) -> GatewayConfig:
    return from_dict({}, "", "--upstream", Path.cwd(), flags)


def _check(table: dict, allowed: dict, where: str, text: str, file: str) -> None:
    for key, value in table.items():
        line = _line_of(text, where, key)
        if key not in allowed:
            raise ConfigError(f"{file}:{line}: [{where}] has no setting {key!r} "
                              f"(known: {', '.join(sorted(allowed))})")
        want = allowed[key]
        ok = isinstance(value, want) and not (isinstance(value, bool) and want is not bool)
        if not ok:
            raise ConfigError(f"{file}:{line}: {where}.{key} must be {TYPE_NAMES[want]}, not {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"{file}:{line}: {where}.{key} must not be negative (got {value!r})")


def from_dict(data: dict, text: str, file: str, base: Path, flags: list[str] = ()) -> GatewayConfig:
    known = {"gateway", "upstreams", "classroom"}
    for key in data:
        if key not in known:
            raise ConfigError(f"{file}:{_line_of(text, key) or _line_of(text, None, key)}: unknown section "
                              f"{key!r} (expected [gateway], [upstreams.NAME] or [classroom])")
    gw = data.get("gateway", {})
    if not isinstance(gw, dict):
        raise ConfigError(f"{file}:{_line_of(text, None, 'gateway')}: 'gateway' must be a table ([gateway])")
    _check(gw, GATEWAY_KEYS, "gateway", text, file)
    defaults = {k: float(gw[k]) for k in ("connect_timeout", "read_timeout") if k in gw}
    routes: list[tuple[str, Upstream]] = []
    for i, flag in enumerate(flags):
        name, sep, url = flag.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise ConfigError(f"--upstream {flag!r}: expected NAME=URL, e.g. 'llama*=openai+http://127.0.0.1:8080/v1'")
        try:
            routes.append((name.strip(), parse_url(url.strip(), name.strip(), **defaults)))
        except ValueError as e:
            raise ConfigError(f"--upstream {flag!r}: {e}") from None
    ups = data.get("upstreams", {})
    if not isinstance(ups, dict):
        raise ConfigError(f"{file}:{_line_of(text, None, 'upstreams')}: 'upstreams' must hold tables "
                          "([upstreams.NAME])")
    for name, table in ups.items():
        where = f"upstreams.{name}"
        line = _line_of(text, where)
        if not isinstance(table, dict):
            raise ConfigError(f"{file}:{_line_of(text, 'upstreams', name) or line}: {where} must be a table")
        _check(table, UPSTREAM_KEYS, where, text, file)
        for need in ("url", "models"):
            if need not in table:
                raise ConfigError(f"{file}:{line}: [{where}] needs {need!r}")
        names = table["models"]
        if not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise ConfigError(f"{file}:{_line_of(text, where, 'models')}: {where}.models must be a non-empty "
                              "list of model names or globs, e.g. [\"llama*\"]")
        kw = dict(defaults)
        kw.update({k: float(table[k]) for k in ("connect_timeout", "read_timeout") if k in table})
        try:
            up = parse_url(table["url"], name, table.get("key_env"), model=table.get("model"), **kw)
        except ValueError as e:
            raise ConfigError(f"{file}:{_line_of(text, where, 'url')}: {e}") from None
        routes += [(n.strip(), up) for n in names]
    router = Router(routes, offline_default=gw.get("offline", True)) if routes or gw.get("offline") is False else None
    classroom = None
    if "classroom" in data:
        c = data["classroom"]
        if not isinstance(c, dict):
            raise ConfigError(f"{file}:{_line_of(text, None, 'classroom')}: 'classroom' must be a table")
        _check(c, CLASSROOM_KEYS, "classroom", text, file)
        db = Path(c.get("db", "classroom.sqlite"))
        classroom = ClassroomConfig(db if db.is_absolute() else base / db,
                                    Quota(c.get("requests_per_day"), c.get("tokens_per_day"),
                                          float(c["usd_per_day"]) if "usd_per_day" in c else None))
    return GatewayConfig(router, classroom)


def install(app, settings) -> None:
    """Routes and classroom mode on this app, from `settings.gateway` (a GatewayConfig)."""
    from . import classroom, router

    cfg = settings.gateway
    if cfg.router is not None:
        for up in cfg.router.upstreams:
            up.retry_after = settings.retry_after
            up.count_prompt = app.state.engine.count_chat_tokens
    router.install(app, cfg.router)
    if cfg.classroom is not None:
        classroom.install(app, cfg.classroom, settings)

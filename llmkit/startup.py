"""`llmkit.setup()`: point each official SDK at its real provider or at the offline gateway.

Per provider: a key present (or a real Ollama running) leaves the SDK alone; otherwise
the gateway is started once per process (background thread, 127.0.0.1, free port) and
that SDK's own environment variables are set, so lesson code stays `OpenAI()` with no
base_url and no fake key. Calling setup() again first restores what it changed.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass, field

from . import config
from .endpoints import ENDPOINTS
from .lang import t

_saved: dict[str, tuple[str | None, str]] = {}  # variable -> (value before setup(), value it set)


@dataclass
class Status:
    """What setup() decided; its repr is the short table setup() shows."""

    decisions: list[config.Decision]
    gateway_url: str | None
    engine: str | None = None
    dotenv: str | None = None
    warnings: list[str] = field(default_factory=list)

    def live(self, provider: str) -> bool:
        return any(d.live for d in self.decisions if d.provider == provider)

    @property
    def offline(self) -> list[str]:
        return [d.provider for d in self.decisions if not d.live]

    def __repr__(self) -> str:
        lines = []
        if self.gateway_url:
            lines.append(t("llmkit gateway: {url} (offline model {engine})", url=self.gateway_url, engine=self.engine))
        else:
            lines.append(t("llmkit gateway: not started (every provider is live)"))
        head = [t("provider"), t("mode"), t("why")]
        w = max([len(d.provider) for d in self.decisions] + [len(head[0])])
        modes = {True: t("live"), False: t("offline")}
        m = max(len(x) for x in [head[1], *modes.values()])
        lines.append(f"{head[0].ljust(w)}  {head[1].ljust(m)}  {head[2]}")
        for d in self.decisions:
            lines.append(f"{d.provider.ljust(w)}  {modes[d.live].ljust(m)}  {d.why}")
        if self.dotenv:
            lines.append(t("keys read from .env (values never shown)"))
        lines.extend(t("note: {text}", text=w) for w in self.warnings)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<tr><td>{d.provider}</td><td><b>{t('live') if d.live else t('offline')}</b></td>"
                       f"<td>{html.escape(d.why)}</td></tr>" for d in self.decisions)
        head = html.escape(repr(self).splitlines()[0])
        notes = "".join(f"<div>{html.escape(t('note: {text}', text=w))}</div>" for w in self.warnings)
        return (f"<div><code>{head}</code><table><tr><th>{t('provider')}</th><th>{t('mode')}</th><th>{t('why')}</th>"
                f"</tr>{rows}</table>{notes}</div>")


_status: Status | None = None


def _restore() -> None:
    for var, (old, ours) in _saved.items():
        if os.environ.get(var) != ours:
            continue  # changed since by the user: theirs wins
        if old is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = old
    _saved.clear()


def _set(var: str, value: str) -> None:
    _saved[var] = (_saved[var][0] if var in _saved else os.environ.get(var), value)
    os.environ[var] = value


def setup(offline: bool | None = None, *, quiet: bool | None = None) -> Status:
    """Decide live/offline per provider, start the gateway if any is offline, redirect SDKs.

    offline=True (or LLMKIT_OFFLINE=1) forces every provider offline. Returns a Status;
    outside IPython the table is also printed (in a notebook the returned value shows it).
    """
    global _status
    _restore()
    dotenv = config.load_dotenv_file()
    decisions = config.decide(offline)
    warnings: list[str] = []
    url = engine_name = None
    if any(not d.live for d in decisions):
        external = os.environ.get("LLMKIT_GATEWAY_URL", "").rstrip("/")
        if external:
            url = external
        else:
            from .server.background import ensure_running

            gw = ensure_running()
            url = gw.url
            engine_name = gw.app.state.engine.name
        forced = offline if offline is not None else config.truthy(os.environ.get("LLMKIT_OFFLINE"))
        for d in decisions:
            if d.live:
                continue
            # a shared gateway (classroom mode, docs/classroom.md) takes the student's token as every SDK's key
            token = os.environ.get("LLMKIT_API_KEY") if external else None
            for var, value in ENDPOINTS[d.provider].redirect(url).items():
                if var in ENDPOINTS[d.provider].key_vars and forced and config.key_set(d.provider):
                    continue  # keep the user's key: it only travels to the local gateway
                _set(var, token if token and var in ENDPOINTS[d.provider].key_vars else value)
            if token and ENDPOINTS[d.provider].token_var:  # Ollama: its SDK sends it as 'Authorization: Bearer'
                _set(ENDPOINTS[d.provider].token_var, token)
        if "ollama" in sys.modules and not any(d.live for d in decisions if d.provider == "ollama"):
            warnings.append(t("ollama was imported before setup(): its module-level functions keep the old host; "
                              "restart the kernel or use ollama.Client()"))
    _status = Status(decisions, url, engine_name, dotenv, warnings)
    if quiet is False or (quiet is None and not _in_ipython()):
        print(repr(_status))
    return _status


def _in_ipython() -> bool:
    ipy = sys.modules.get("IPython")
    return bool(ipy and getattr(ipy, "get_ipython", lambda: None)())


def status() -> Status | None:
    """The last setup()'s decisions, or None before setup()."""
    return _status


def gateway_url() -> str:
    """Base URL of the offline gateway (started now if setup() has not started it)."""
    if _status is not None and _status.gateway_url:
        return _status.gateway_url
    external = os.environ.get("LLMKIT_GATEWAY_URL", "").rstrip("/")
    if external:
        return external
    from .server.background import ensure_running

    return ensure_running().url


@functools.cache
def gateway_http():
    """One kept HTTP client for llmkit's own calls to a gateway (token counts, faults): a new
    httpx.Client loads the CA bundle into an SSL context (~40 ms of CPU) and opens a connection,
    and lessons count texts and inject faults call after call. Callers give full URLs, headers
    and timeouts per request."""
    import httpx

    return httpx.Client()

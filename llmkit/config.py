"""Which providers are live and which offline, and why: keys, .env, a local Ollama.

Reads only the environment (after loading a `.env` file if there is one) and probes
127.0.0.1:11434 for a real Ollama with a short timeout. Never prints, logs or returns
a key's value, only whether it is set.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from .endpoints import DUMMY_KEY, ENDPOINTS, OLLAMA_DEFAULT, PROVIDERS  # noqa: F401  (DUMMY_KEY: re-exported)
from .lang import t


@dataclass
class Decision:
    provider: str
    live: bool
    why: str


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def load_dotenv_file() -> str | None:
    """Load the nearest .env (from the working directory up) without overriding variables
    already set; returns its path, or None."""
    try:
        from dotenv import find_dotenv, load_dotenv
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        return None
    if truthy(os.environ.get("LLMKIT_NO_DOTENV")):  # the tests: a learner's .env must not change their outputs
        return None
    path = find_dotenv(usecwd=True)
    if path:
        load_dotenv(path, override=False)
    return path or None


def key_set(provider: str, env=os.environ) -> str | None:
    """The name of the variable holding this provider's real key, or None."""
    for var in ENDPOINTS[provider].key_vars if provider in ENDPOINTS else ():
        value = env.get(var, "").strip()
        if value and value != DUMMY_KEY:
            return var
    return None


def ollama_answers(host: str = OLLAMA_DEFAULT[0], port: int = OLLAMA_DEFAULT[1], timeout: float = 0.25) -> bool:
    """Whether a real Ollama server answers on host:port (GET /api/version)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(f"GET /api/version HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
            head = s.recv(256)
        return head.startswith(b"HTTP/") and b" 200 " in head.split(b"\r\n", 1)[0] + b" "
    except OSError:
        return False


def decide(offline: bool | None = None, env=os.environ, probe_ollama: bool = True) -> list[Decision]:
    """Live or offline, per provider, with the reason in words.

    Forcing offline only changes the answer for a provider that would have been live, so
    only there does the reason say "forced": one with no key reads "no OPENAI_API_KEY"
    either way, as a learner without keys sees it (the tests force offline on every run).
    """
    forced = offline if offline is not None else truthy(env.get("LLMKIT_OFFLINE"))
    how = "setup(offline=True)" if offline else "LLMKIT_OFFLINE=1"
    out = []
    for p in PROVIDERS:
        if not ENDPOINTS[p].key_vars:  # Ollama: no key, live when a real server answers
            where = "%s:%d" % OLLAMA_DEFAULT
            live_because = t("a real Ollama answers on {where}", where=where) if probe_ollama and ollama_answers() else None
            offline_because = t("no Ollama server on {where}", where=where)
        else:
            var = key_set(p, env)
            live_because = t("{var} is set", var=var) if var else None
            offline_because = t("no {names}", names=t(" or ").join(ENDPOINTS[p].key_vars))
        if live_because and forced:
            out.append(Decision(p, False, t("offline forced ({how}), though {reason}", how=how, reason=live_because)))
        elif live_because:
            out.append(Decision(p, True, live_because))
        else:
            out.append(Decision(p, False, offline_because))
    return out

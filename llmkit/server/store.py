"""Where models made with Ollama's /api/create and /api/copy are kept between runs.

One JSON file in a per-user data folder: `$LLMKIT_DATA_DIR`, else `$XDG_DATA_HOME/llmkit`,
else `~/.local/share/llmkit`. The folder is looked up on every call (not at import) so a
test or a notebook can point it elsewhere at any time. Writes go to a temporary file in
the same folder and then `os.replace` it, so a crash never leaves half a file behind; a
file that cannot be read is reported and skipped rather than stopping the gateway.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

log = logging.getLogger("llmkit.server")
FILENAME = "ollama-models.json"
_lock = threading.Lock()


def data_dir() -> Path:
    if os.environ.get("LLMKIT_DATA_DIR"):
        return Path(os.environ["LLMKIT_DATA_DIR"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "llmkit"


def path() -> Path:
    return data_dir() / FILENAME


def load() -> dict[str, dict]:
    """The saved models (name -> definition); {} when there are none or the file is unreadable."""
    p = path()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log.warning("ignoring unreadable model store %s: %s", p, e)
        return {}
    found = data.get("models") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        log.warning("ignoring model store %s: no 'models' object in it", p)
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, dict) and v.get("from")}


def save(models: dict[str, dict]) -> Path:
    """Write all models atomically (temp file in the same folder, then os.replace)."""
    p = path()
    with _lock:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".ollama-models-", suffix=".tmp", dir=p.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": 1, "models": models}, f, indent=2, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return p

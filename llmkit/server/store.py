"""Where models made with Ollama's /api/create and /api/copy are kept between runs, with
the built-in names deleted with /api/delete (until /api/pull brings them back).

One JSON file in a per-user data folder: `$LLMKIT_DATA_DIR`, else `$XDG_DATA_HOME/llmkit`,
else `~/.local/share/llmkit`. Each app reads its folder when it is made (models.CreatedModels,
or `Settings.data_dir`), so two gateways in one process can keep two folders. Writes go to a temporary file in
the same folder and then `os.replace` it, so a crash never leaves half a file behind; a
file that cannot be read is reported and skipped rather than stopping the gateway. A
temporary file left by a killed process (its name carries the writer's PID) is removed at
the next start. The file is bounded (`MAX_BYTES`): a save that would pass it raises
`StoreFull` and writes nothing. A gateway saves one change at a time (`update`): the
names it changed, on the file as it is then, under a lock other processes share, so two
gateways on one folder (`make course` and a notebook's own) never drop each other's models.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the thread lock only
    fcntl = None

log = logging.getLogger("llmkit.server")
FILENAME = "ollama-models.json"
MAX_BYTES = 8 * 1024 * 1024  # the saved-models file's limit (8 MiB)
TMP_PREFIX = ".ollama-models-"
STALE_AFTER = 3600  # seconds: a temp file this old is stale whoever wrote it
_lock = threading.Lock()


class StoreFull(Exception):
    """Saving would make the models file larger than MAX_BYTES."""


def data_dir() -> Path:
    if os.environ.get("LLMKIT_DATA_DIR"):
        return Path(os.environ["LLMKIT_DATA_DIR"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "llmkit"


def path(folder: Path | None = None) -> Path:
    return (folder if folder is not None else data_dir()) / FILENAME


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: leave its file alone
    return True


def clean_stale(folder: Path | None = None) -> list[Path]:
    """Remove temp files of writes that never finished (their writer was killed)."""
    import time

    folder = folder or data_dir()
    removed = []
    try:
        candidates = list(folder.glob(TMP_PREFIX + "*.tmp"))
    except OSError:
        return removed
    for f in candidates:
        pid = f.name[len(TMP_PREFIX):].split("-", 1)[0]
        try:
            old = time.time() - f.stat().st_mtime > STALE_AFTER
            if old or (pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid))) or not pid.isdigit():
                f.unlink()
                removed.append(f)
        except OSError:
            continue
    if removed:
        log.info("removed %d unfinished model-store temp file(s) in %s", len(removed), folder)
    return removed


def load(folder: Path | None = None) -> dict[str, dict]:
    """The saved models (name -> definition); {} when there are none or the file is unreadable."""
    p = path(folder)
    clean_stale(p.parent)
    try:
        if p.stat().st_size > MAX_BYTES:
            log.warning("ignoring model store %s: larger than %d bytes", p, MAX_BYTES)
            return {}
    except FileNotFoundError:
        return {}
    except OSError:
        pass
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


def load_removed(folder: Path | None = None) -> set[str]:
    """Built-in model names deleted in this data folder; empty when none or unreadable."""
    p = path(folder)
    try:
        if p.stat().st_size > MAX_BYTES:
            return set()
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    found = data.get("removed") if isinstance(data, dict) else None
    return {n for n in found if isinstance(n, str)} if isinstance(found, list) else set()


@contextmanager
def _locked(folder: Path):
    """This process's threads, then other processes (an flock on a file beside the store)."""
    with _lock:
        if fcntl is None:
            yield
            return
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".ollama-models.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def update(folder: Path | None, models: dict[str, dict | None], removed: dict[str, bool] | None = None) -> Path:
    """Change these names in the saved file as it is now, leaving every other name as it is
    (another gateway on this folder may have saved since): a definition puts a model, None
    drops it; `removed[name]` True lists a deleted built-in name, False takes it off the
    list. Atomic and bounded as `save`; blocking: call it from a thread."""
    p = path(folder)
    with _locked(p.parent):
        saved, gone = load(p.parent), load_removed(p.parent)
        for name, definition in models.items():
            if definition is None:
                saved.pop(name, None)
            else:
                saved[name] = definition
        for name, is_removed in (removed or {}).items():
            (gone.add if is_removed else gone.discard)(name)
        return _write(p, saved, gone)


def save(models: dict[str, dict], removed=(), folder: Path | None = None) -> Path:
    """Write all models (and the deleted built-in names) atomically (temp file in the same
    folder, then os.replace), replacing what the file held; raises StoreFull (writing
    nothing) past MAX_BYTES. Blocking: call it from a thread."""
    p = path(folder)
    with _locked(p.parent):
        return _write(p, models, removed)


def _write(p: Path, models: dict[str, dict], removed) -> Path:
    """The file's new content, atomically (the caller holds the lock)."""
    data = json.dumps({"version": 1, "models": dict(models), "removed": sorted(removed)}, indent=2,
                      ensure_ascii=False).encode()
    if len(data) > MAX_BYTES:
        raise StoreFull(f"the saved models would take {len(data):,} bytes, over the limit of {MAX_BYTES:,}")
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p

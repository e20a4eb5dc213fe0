"""`llmkit ui`: the chat panel (or the comparison panel) as a web page, no notebook code.

It writes a one-cell notebook that shows the panel into a temporary folder and serves it
with Voilà, which runs the cell in a fresh kernel and shows only its output: the same
widgets, live or offline per provider exactly as in the notebooks.

    llmkit ui                                  # http://127.0.0.1:8866
    llmkit ui --model gpt-4o-mini --system "Answer in Spanish."
    llmkit ui --compare gpt-4o-mini claude-haiku-4-5 llmkit-offline
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def panel_code(model: str | None = None, system: str | None = None, compare: list[str] | None = None,
               cwd: str | None = None) -> str:
    """The cell's code: setup() (from `cwd`, so the user's .env is found), then the panel."""
    lines = ["import os", f"os.chdir({(cwd or os.getcwd())!r})", "import llmkit",
             "llmkit.setup(quiet=True)"]
    if compare:
        lines += ["from llmkit.widgets import ComparePanel",
                  f"ComparePanel(models={list(compare)!r}, system={system!r})"]
    else:
        lines += ["from llmkit.widgets import ChatPanel", f"ChatPanel(model={model!r}, system={system!r})"]
    return "\n".join(lines) + "\n"


def notebook(code: str) -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": "llmkit-ui", "metadata": {},
                       "outputs": [], "source": code}],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def write_notebook(folder: str | Path, code: str, name: str = "llmkit-chat.ipynb") -> Path:
    path = Path(folder) / name
    path.write_text(json.dumps(notebook(code), indent=1), encoding="utf-8")
    return path


def voila_command(path: Path, host: str, port: int, open_browser: bool) -> list[str]:
    cmd = [sys.executable, "-m", "voila", str(path), f"--port={port}", f"--Voila.ip={host}",
           "--theme=light", "--strip_sources=True", "--show_tracebacks=False"]
    if not open_browser:
        cmd.append("--no-browser")
    return cmd


def add_arguments(p) -> None:
    p.add_argument("--model", default=None, help="model to start with (default: a live one, else offline)")
    p.add_argument("--system", default=None, help="system prompt to start with")
    p.add_argument("--compare", nargs="+", metavar="MODEL", default=None,
                   help="show the comparison panel for these models instead of the chat")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        import voila  # noqa: F401
    except ImportError:
        print("llmkit ui serves the panel with Voilà, which is not installed: pip install 'voila>=0.5,<0.6'",
              file=sys.stderr)
        return 1
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: anyone who can reach it can chat through your keys",
              file=sys.stderr)
    folder = tempfile.mkdtemp(prefix="llmkit-ui-")
    path = write_notebook(folder, panel_code(args.model, args.system, args.compare),
                          "llmkit-compare.ipynb" if args.compare else "llmkit-chat.ipynb")
    print(f"llmkit ui on http://{args.host}:{args.port}  (Ctrl+C stops)", flush=True)
    proc = subprocess.Popen(voila_command(path, args.host, args.port, not args.no_browser))

    def forward(signum, _frame):  # stopping `llmkit ui` stops Voilà (and so its kernels) too
        if proc.poll() is None:
            proc.send_signal(signum)

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM))}
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl+C reached Voilà too
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for sig, handler in old.items():
            signal.signal(sig, handler)
        try:
            path.unlink()
            os.rmdir(folder)
        except OSError:
            pass

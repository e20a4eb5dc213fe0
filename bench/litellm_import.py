"""`import litellm` next to `import llmkit`, each in fresh interpreters.

    python bench/litellm_import.py [--repeat 5] [--venv PATH] [--keep]

LiteLLM pins openai<3, so it cannot share the project's venv: this script makes a
throw-away venv in a temporary folder, pip installs litellm there (or reuses --venv),
and times both imports. If the install fails (no network, no wheel for this Python),
it says so and still prints llmkit's figure. LiteLLM is imported with
LITELLM_LOCAL_MODEL_COST_MAP=True, so its import reads the bundled price map instead of
fetching one from GitHub: the figure is import work, not a download.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.05


def import_seconds(python: str, module: str, repeat: int, env: dict | None = None) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = []
    for _ in range(repeat):
        p = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300, cwd=str(ROOT),
                           env={**os.environ, **(env or {})})
        if p.returncode != 0:
            raise RuntimeError(f"import {module} failed: {p.stderr.strip().splitlines()[-1:]}")
        runs.append(float(p.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


def install_litellm(where: Path, timeout: float) -> tuple[str | None, str]:
    """(python of a venv with litellm, version) or (None, why not)."""
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        print(f"creating a venv in {where} ...", flush=True)
        venv.create(where, with_pip=True)
    check = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                           capture_output=True, text=True)
    if check.returncode == 0:
        return str(python), check.stdout.strip()
    print("pip install litellm (this can take a few minutes) ...", flush=True)
    try:
        p = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "litellm"],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"pip install litellm did not finish within {timeout:.0f} s"
    if p.returncode != 0:
        tail = " / ".join((p.stderr or p.stdout).strip().splitlines()[-3:])
        return None, f"pip install litellm failed: {tail}"
    check = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                           capture_output=True, text=True)
    return str(python), check.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--venv", help="a venv to use (created if missing, kept afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary venv")
    ap.add_argument("--install-timeout", type=float, default=900)
    args = ap.parse_args()

    kit = import_seconds(sys.executable, "llmkit", args.repeat)
    print(f"import llmkit : {kit * 1000:8.1f} ms  (median of {args.repeat} fresh interpreters, {sys.executable})")

    where = Path(args.venv) if args.venv else Path(tempfile.mkdtemp(prefix="llmkit-litellm-"))
    try:
        try:
            python, info = install_litellm(where, args.install_timeout)
        except Exception as e:  # venv creation itself failed (e.g. no ensurepip)
            python, info = None, f"could not create a venv: {e}"
        if python is None:
            print(f"import litellm: not measured: {info}")
            print("(llmkit's figure above stands alone; run again with network access, or pass --venv to a venv "
                  "that has litellm)")
            return
        try:
            lite = import_seconds(python, "litellm", args.repeat, env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})
        except Exception as e:
            print(f"import litellm: not measured: {e}")
            return
        print(f"import litellm: {lite * 1000:8.1f} ms  (litellm {info}, median of {args.repeat}, {python})")
        ratio = kit / lite
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(f"llmkit / litellm = {ratio:.3f}  (target <= {TARGET_RATIO}: {verdict})")
    finally:
        if not args.venv and not args.keep:
            shutil.rmtree(where, ignore_errors=True)
        elif not args.venv:
            print(f"venv kept in {where}")


if __name__ == "__main__":
    main()

"""Re-execute the lesson notebooks offline and store their fresh outputs (`make notebooks`).

    python tools/run_notebooks.py                       # every notebooks/**/*.ipynb
    python tools/run_notebooks.py notebooks/02_chat_completions.ipynb

Each runs in a fresh kernel in the environment nbval re-runs them in under `make test`
(tools/hermetic.py: none of the shell's keys or LLMKIT_* settings, LLMKIT_OFFLINE=1, no
`.env`, a throw-away data folder, so a key exported in the shell can never be stored in
a notebook), and no parameter is injected (the stored notebooks keep `OFFLINE = None`, so a learner
with keys gets live providers). Stream outputs are merged per cell, so a streamed reply
is stored as one text and not as one output per token.

`execute()` is also what tests/test_notebooks.py runs each notebook with: papermill in this
process (no interpreter and no papermill import per notebook, about 2 s of CPU each), the
kernel started with an environment and folder of its own (so several can run at once from
threads: nothing changes this process's environment or working folder), its output to a log
file, the executed notebook written once at the end (papermill would rewrite and validate the
whole file before and after every cell), and the kernel's CPU time measured.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def find(folder: str | Path) -> list[Path]:
    """Every notebook under `folder`, subfolders (a translation: notebooks/es/) included."""
    return sorted(p for p in Path(folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _kernel_manager(env: dict[str, str], cwd: str, log, cpu: dict):
    """A kernel manager class that starts its kernel with `env` in `cwd`, stdout/stderr to `log`,
    and records the kernel's CPU seconds (its own and its finished children's) before stopping it."""
    from jupyter_client.manager import AsyncKernelManager

    class KernelOfItsOwn(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw.update(env=dict(env), cwd=cwd, stdout=log, stderr=log)
            return await super().start_kernel(**kw)

        async def shutdown_kernel(self, now: bool = False, restart: bool = False):
            try:
                import psutil

                t = psutil.Process(self.provisioner.pid).cpu_times()
                cpu["kernel"] = t.user + t.system + t.children_user + t.children_system
            except Exception:  # noqa: BLE001 - gone already: no figure
                pass
            return await super().shutdown_kernel(now=now, restart=restart)

    return KernelOfItsOwn


def execute(path: Path, out: Path, env: dict[str, str], parameters: dict | None = None,
            timeout: int = 120, **papermill_kw) -> dict:
    """Run `path` in a fresh kernel (environment `env`, working folder its own), write it to `out`.

    Returns {'error': None or the failure as text, 'log': what the kernel printed outside the
    notebook, 'wall': seconds, 'cpu': the kernel's CPU seconds or None}."""
    import papermill

    cpu: dict = {}
    log_path = out.with_suffix(".log")
    start = time.monotonic()
    error = None
    with open(log_path, "wb") as log:
        try:
            papermill.execute_notebook(
                str(path), str(out), parameters=parameters or {}, kernel_name="python3", progress_bar=False,
                execution_timeout=timeout, request_save_on_cell_execute=False, kernel_manager_class=_kernel_manager(env, str(path.parent), log, cpu),
                **papermill_kw)
        except Exception as e:  # noqa: BLE001 - reported by the caller, with the notebook as far as it ran
            error = f"{type(e).__name__}: {e}"
    return {"error": error, "log": log_path.read_text(encoding="utf-8", errors="replace"),
            "wall": time.monotonic() - start, "cpu": cpu.get("kernel")}


def main(argv: list[str]) -> int:
    from hermetic import clean

    paths = [Path(a).resolve().relative_to(ROOT) for a in argv]
    os.chdir(ROOT)
    paths = paths or find("notebooks")
    env = clean(os.environ)
    data = tempfile.mkdtemp(prefix="llmkit-notebooks-data-")
    env.update(LLMKIT_OFFLINE="1", LLMKIT_NO_DOTENV="1", LLMKIT_DATA_DIR=data)
    failed = 0
    try:
        for path in paths:
            print(f"executing {path}", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                run = execute(ROOT / path, Path(tmp) / path.name, env, coalesce_streams=True)
                if run["error"]:
                    failed += 1
                    print(f"  FAILED: {run['error']}\n{run['log'][-2000:]}", file=sys.stderr)
                else:
                    shutil.copyfile(Path(tmp) / path.name, path)
                print(f"  {run['wall']:.1f} s", flush=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

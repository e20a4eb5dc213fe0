"""Re-execute the lesson notebooks offline and store their fresh outputs (`make notebooks`).

    python tools/run_notebooks.py                       # every notebooks/*.ipynb
    python tools/run_notebooks.py notebooks/02_chat_completions.ipynb

Each runs in a fresh kernel in the environment nbval re-runs them in under `make test`
(tools/hermetic.py: none of the shell's keys or LLMKIT_* settings, LLMKIT_OFFLINE=1, no
`.env`, a throw-away data folder, so a key exported in the shell can never be stored in
a notebook), and no parameter is injected (the stored notebooks keep `OFFLINE = None`, so a learner
with keys gets live providers). Stream outputs are merged per cell, so a streamed reply
is stored as one text and not as one output per token.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    import papermill

    from hermetic import clean

    paths = [Path(a).resolve().relative_to(ROOT) for a in argv]
    os.chdir(ROOT)
    paths = paths or sorted(Path("notebooks").glob("*.ipynb"))
    env = clean(os.environ)
    os.environ.clear()
    os.environ.update(env)
    data = tempfile.mkdtemp(prefix="llmkit-notebooks-data-")
    os.environ.update(LLMKIT_OFFLINE="1", LLMKIT_NO_DOTENV="1", LLMKIT_DATA_DIR=data)
    try:
        for path in paths:
            print(f"executing {path}", flush=True)
            papermill.execute_notebook(str(path), str(path), kernel_name="python3", cwd=str(path.parent),
                                       progress_bar=False, execution_timeout=120, coalesce_streams=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

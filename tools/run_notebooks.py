"""Re-execute the lesson notebooks offline and store their fresh outputs (`make notebooks`).

    python tools/run_notebooks.py                       # every notebooks/*.ipynb
    python tools/run_notebooks.py notebooks/02_chat_completions.ipynb

Each runs in a fresh kernel with LLMKIT_OFFLINE=1, as nbval re-runs them in `make test`,
and no parameter is injected (the stored notebooks keep `OFFLINE = None`, so a learner
with keys gets live providers). Stream outputs are merged per cell, so a streamed reply
is stored as one text and not as one output per token.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    import papermill

    os.chdir(ROOT)
    os.environ["LLMKIT_OFFLINE"] = "1"
    os.environ.pop("LLMKIT_CHECKS_STRICT", None)
    paths = [Path(a) for a in argv] or sorted(Path("notebooks").glob("*.ipynb"))
    for path in paths:
        path = path.resolve().relative_to(ROOT)
        print(f"executing {path}", flush=True)
        papermill.execute_notebook(str(path), str(path), kernel_name="python3", cwd=str(path.parent),
                                   progress_bar=False, execution_timeout=120, coalesce_streams=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

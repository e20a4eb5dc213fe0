"""How long each notebook takes offline: lessons, exercises and solutions.

    python bench/notebooks.py [paths...]      (default: every notebook of the course)

Each notebook is executed by papermill in a fresh kernel, one at a time, offline, exactly
as the tests run it (parameter OFFLINE=True; solutions with LLMKIT_CHECKS_STRICT=1), and
the figures come from the metadata papermill writes into the executed notebook:
total (from papermill's start to its end: kernel start, every cell, shutdown), kernel
(start until the first cell began), cells (the sum of the cells' own durations) and the
slowest cell. The target is each notebook under about 20 s on the 2-core CI machine.
Prints figures; never fails on them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from _util import table  # noqa: E402

TARGET_S = 20.0


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def measure(path: Path, out_dir: Path) -> dict:
    import nbformat
    import papermill

    out = out_dir / f"{path.parent.name}__{path.name}"
    strict = "1" if path.parent.name == "solutions" else ""
    old = os.environ.get("LLMKIT_CHECKS_STRICT")
    os.environ["LLMKIT_CHECKS_STRICT"] = strict
    try:
        papermill.execute_notebook(str(path), str(out), parameters={"OFFLINE": True}, kernel_name="python3",
                                   cwd=str(path.parent), progress_bar=False, execution_timeout=120)
    finally:
        if old is None:
            os.environ.pop("LLMKIT_CHECKS_STRICT", None)
        else:
            os.environ["LLMKIT_CHECKS_STRICT"] = old
    nb = nbformat.read(out, as_version=4)
    meta = nb.metadata.papermill
    cells = [(c.metadata.papermill.get("duration") or 0.0, i, c) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and "papermill" in c.metadata]
    first = min((_when(c.metadata.papermill["start_time"]) for _, _, c in cells
                 if c.metadata.papermill.get("start_time")), default=None)
    slowest = max(cells, key=lambda t: t[0]) if cells else (0.0, -1, None)
    label = slowest[2].source.strip().splitlines()[0][:40] if slowest[2] is not None else ""
    return {"notebook": str(path.relative_to(ROOT)), "total": meta["duration"],
            "kernel": (first - _when(meta["start_time"])).total_seconds() if first else float("nan"),
            "cells": sum(d for d, _, _ in cells), "slowest": slowest[0], "slowest_cell": f"#{slowest[1]} {label}"}


def main(argv: list[str]) -> int:
    os.environ["LLMKIT_OFFLINE"] = "1"
    paths = [Path(a).resolve() for a in argv] or [p for d in ("notebooks", "exercises", "solutions")
                                                   for p in sorted((ROOT / d).glob("*.ipynb"))]
    rows = []
    with tempfile.TemporaryDirectory(prefix="llmkit-bench-nb-") as tmp:
        for path in paths:
            r = measure(path, Path(tmp))
            flag = "" if r["total"] <= TARGET_S else f"  over {TARGET_S:.0f} s"
            rows.append((r["notebook"], f"{r['total']:.1f}", f"{r['kernel']:.1f}", f"{r['cells']:.1f}",
                         f"{r['slowest']:.2f}", r["slowest_cell"] + flag))
            print(f"  {r['notebook']}: {r['total']:.1f} s", file=sys.stderr, flush=True)
    print(f"notebooks executed offline, one at a time, {os.cpu_count()} CPUs (seconds; target <= {TARGET_S:.0f} each)")
    print(table(rows, ("notebook", "total", "kernel", "cells", "slowest", "slowest cell")))
    totals = [float(r[1]) for r in rows]
    print(f"sum {sum(totals):.1f} s, max {max(totals):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`import llmkit` next to `import openai` (and the other SDKs), each in a fresh interpreter.

    python bench/import_time.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from _util import table

MODULES = ["llmkit", "openai", "anthropic", "google.genai", "groq", "ollama", "fastapi"]


def import_seconds(module: str, repeat: int, python: str = sys.executable) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(repeat)]
    return statistics.median(runs)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    times = {m: import_seconds(m, args.repeat) for m in MODULES}
    rows = [(m, f"{t * 1000:.1f} ms", f"{t / times['llmkit']:.0f}x" if m != "llmkit" else "1x") for m, t in times.items()]
    print(f"import time, median of {args.repeat} fresh interpreters")
    print(table(rows, ("module", "import", "vs llmkit")))
    print("target: import llmkit <= 0.05 x import litellm (3.6 s measured here) = 180 ms")


if __name__ == "__main__":
    main()

"""A class's questions arriving at once: the engine's scheduler on one core, in process, no HTTP.

    OPENBLAS_NUM_THREADS=1 taskset -c 1 python bench/wave.py                # 32 questions, first tokens only
    OPENBLAS_NUM_THREADS=1 taskset -c 1 python bench/wave.py --n 32 --max-tokens 32

Six waves of `--n` distinct held-out questions (bench/heldout_v3.jsonl), each wave started together and
read to the end before the next; greedy. Prints the wall time of a wave, the first token's p50/p95/max
(from the wave's start), and where the scheduler thread spent the time (the forward passes, retrieval's
candidates, the rerank's normalization, the decode loops' sampling). gateway.py --load measures the same
through HTTP; this one shows what a first token waits for. A benchmark: it prints, it never fails.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmkit.engine import SamplingParams, get_engine  # noqa: E402
from llmkit.engine import guide as G  # noqa: E402
from llmkit.engine import scheduler as S  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32, help="questions per wave")
    ap.add_argument("--max-tokens", type=int, default=1, help="1: the first token only (prefill and rerank)")
    ap.add_argument("--waves", type=int, default=6)
    args = ap.parse_args()
    qs = [json.loads(line)["q"] for line in (ROOT / "bench" / "heldout_v3.jsonl").read_text().splitlines() if line.strip()]
    engine = get_engine()
    spent: collections.Counter = collections.Counter()

    def timed(owner, name: str) -> None:
        f = getattr(owner, name)

        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                spent[name] += time.perf_counter() - t
        setattr(owner, name, wrapper)

    for owner, name in [(S.Scheduler, "_step"), (S, "forward_batch"), (G.Guide, "candidates"), (S, "_logliks"),
                        (S.Scheduler, "_advance"), (G.Guide, "copy_probs"), (S, "softmax_rows")]:
        timed(owner, name)
    engine.generate([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=2)).text()  # warm
    spent.clear()
    firsts: list[float] = []

    def read(gen, t0: float) -> None:
        for i, _ in enumerate(gen):
            if i == 0:
                firsts.append(time.perf_counter() - t0)

    start = time.perf_counter()
    for w in range(args.waves):
        t0 = time.perf_counter()
        gens = [engine.generate([{"role": "user", "content": qs[(w * args.n + i) % len(qs)]}],
                                SamplingParams(max_tokens=args.max_tokens, temperature=0)) for i in range(args.n)]
        threads = [threading.Thread(target=read, args=(g, t0)) for g in gens]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wave_ms = (time.perf_counter() - start) * 1000 / args.waves
    f = np.array(firsts) * 1000
    print(f"{args.n} questions a wave, max_tokens {args.max_tokens}: {wave_ms:.0f} ms a wave; first token "
          f"p50 {np.percentile(f, 50):.0f}, p95 {np.percentile(f, 95):.0f}, max {f.max():.0f} ms")
    for name, s in spent.most_common():
        print(f"  {name:15s} {s * 1000 / args.waves:7.1f} ms a wave")


if __name__ == "__main__":
    main()

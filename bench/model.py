"""Speed and memory of the offline models on one core.

    python bench/model.py                          # both engines
    python bench/model.py --engines transformer-v2

Each engine is measured in a fresh subprocess with one BLAS thread (OMP/OpenBLAS/MKL
threads = 1, and the process pinned to one CPU where the OS allows it):
- load: seconds to load the model (`get_engine`);
- decode tokens/s: greedy generation of up to 256 tokens through `engine.generate`
  (the shared decode loop, sampling and text decoding included), median of 3;
- schema tokens/s: the same under a JSON schema (structured outputs, grammar masks included);
- model steps/s: the bare `next_probs` step with the KV cache (v2 only; the network alone);
- TTFT: time from `generate()` to the first token for a prompt of ~200 tokens, median of 5
  (prefill of the whole prompt plus the first sampling step);
- RSS: resident memory with the model loaded and after the runs (VmRSS), peak (VmHWM).
Targets for v2: >= 300 tokens/s (with a schema too), TTFT < 50 ms, RSS < 250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}

CHILD = r"""
import json, os, statistics, sys, time
try:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
except (AttributeError, OSError):
    pass
sys.path.insert(0, ROOT)

def rss():
    out = {}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out

base = rss()["VmRSS"]
t0 = time.perf_counter()
from llmkit.engine import SamplingParams, get_engine
engine = get_engine(NAME)
load_s = time.perf_counter() - t0
loaded = rss()["VmRSS"]

# decode speed: a long greedy answer
q = [{"role": "user", "content": "How do I stream with the OpenAI SDK and handle errors and retries?"}]
rates = []
for _ in range(3):
    t = time.perf_counter()
    g = engine.generate(q, SamplingParams(temperature=0, max_tokens=256))
    n = sum(1 for _ in g)
    rates.append(g.completion_tokens / (time.perf_counter() - t))
decode_tps = statistics.median(rates)
completion = g.completion_tokens

# the same question answered under a JSON schema (structured outputs: the grammar masks every step)
schema = {"type": "object", "properties": {"answer": {"type": "string"}, "confidence": {"enum": ["low", "high"]}},
          "required": ["answer", "confidence"], "additionalProperties": False}
rates = []
for _ in range(3):
    t = time.perf_counter()
    g = engine.generate(q, SamplingParams(temperature=0, max_tokens=256, json_schema=schema))
    n = sum(1 for _ in g)
    rates.append(g.completion_tokens / (time.perf_counter() - t))
schema_tps = statistics.median(rates)

# the bare model step (network + softmax), v2 only
steps = None
if hasattr(engine, "stepper"):
    ids = engine.tok.render_chat(q)
    nxt = engine.stepper(capacity=len(ids) + 300)
    nxt(ids)
    t = time.perf_counter()
    for i in range(256):
        ids.append(100 + i % 50)
        nxt(ids)
    steps = 256 / (time.perf_counter() - t)

# time to first token for a ~200-token prompt
text = ("I am building a small chat application in Python that calls an LLM API over HTTP. "
        "It keeps the conversation history in a list of messages, streams the answer, retries on 429 "
        "and 5xx errors with exponential backoff and jitter, and logs token usage and cost per request. ")
msgs = [{"role": "system", "content": "You are a helpful assistant for a course on LLM APIs."},
        {"role": "user", "content": text * 3 + "What should I check first when a request fails?"}]
prompt_tokens = engine.count_chat_tokens(msgs)
ttft = []
for i in range(5):
    m = [dict(msgs[0]), dict(msgs[1], content=msgs[1]["content"] + str(i))]
    t = time.perf_counter()
    it = iter(engine.generate(m, SamplingParams(temperature=0, max_tokens=8)))
    next(it)
    ttft.append(time.perf_counter() - t)
mem = rss()
print(json.dumps({"load_s": load_s, "decode_tps": decode_tps, "schema_tps": schema_tps, "completion_tokens": completion, "model_steps_s": steps,
                  "ttft_ms": 1000 * statistics.median(ttft), "prompt_tokens": prompt_tokens,
                  "rss_start_mb": base, "rss_loaded_mb": loaded, "rss_after_mb": mem["VmRSS"], "peak_mb": mem["VmHWM"],
                  "parameters": engine.parameters}))
"""


def measure(name: str) -> dict:
    code = CHILD.replace("ROOT", repr(str(ROOT))).replace("NAME", repr(name))
    env = {**os.environ, **ONE_THREAD, "LLMKIT_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engines", default="ngram-v1,transformer-v2")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "bench"))
    from _util import table

    rows, results = [], {}
    for name in args.engines.split(","):
        r = results[name] = measure(name)
        rows.append((name, f"{r['parameters'] / 1e6:.2f}M", f"{r['load_s']:.2f}", f"{r['decode_tps']:.0f}",
                     f"{r['schema_tps']:.0f}",
                     f"{r['model_steps_s']:.0f}" if r["model_steps_s"] else "-",
                     f"{r['ttft_ms']:.1f} ({r['prompt_tokens']} tok)",
                     f"{r['rss_loaded_mb']:.0f}", f"{r['rss_after_mb']:.0f}", f"{r['peak_mb']:.0f}"))
    print(table(rows, ("engine", "params", "load s", "decode tok/s", "schema tok/s", "model steps/s", "TTFT ms (prompt)",
                       "RSS loaded MB", "RSS after MB", "peak MB")))
    print("targets (v2): >= 300 tok/s, TTFT < 50 ms, RSS < 250 MB; one core, one BLAS thread")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

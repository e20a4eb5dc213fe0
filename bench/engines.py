"""The course's model served by real engines and by our gateway, side by side in one run.

    python bench/engines.py                               # every engine installed
    python bench/engines.py --engines llama-cpp,gateway-bare --max-tokens 64

Each server runs as its own process pinned to the first CPU (the client, this process, moves to
another one where there is one), is sent the same questions one at a time with the real openai
SDK, streaming, temperature 0, and is measured:
- start s: from launch to answering (GET /v1/models, or /health for the gateway);
- tokens/s: completion tokens (counted with the model's own tokenizer, so alike for every engine)
  over the whole request time, all questions together; decode tok/s: after the first token;
- first token ms: p50 and p95 of the time to the first content chunk;
- RSS MiB: the server and its children, after the run;
- same text: how many answers equal the numpy engine's bare network (greedy, retrieval off).

Engines: gateway-bare (`llmkit serve` with LLMKIT_V2_RETRIEVAL=0: the network alone, what the
exports compute), gateway (as shipped, retrieval on), llama-cpp (GGUF f32), vllm, transformers
(`transformers serve`), each where installed. A benchmark: it prints, it never fails on a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

QUESTIONS = [
    "What is a REST API?", "What is exponential backoff?", "How do I retry after a 429 error?",
    "What does the temperature parameter change?", "What is a token?", "How are tokens billed?",
    "What is streaming and why use it?", "How do I set an API key safely?", "What is a system prompt?",
    "What is an embedding?", "¿Qué es un token?", "¿Cómo creo un entorno virtual?", "What is Ollama?",
    "Tell me about rate limits.", "Why does my request time out?", "What is JSON mode?",
]
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _server_cpu() -> tuple[set[int], set[int]]:
    cpus = sorted(os.sched_getaffinity(0))
    return {cpus[0]}, set(cpus[1:]) or {cpus[0]}


def start(name: str):
    """(url, model, pid, stop, start seconds) for engine `name`; the server inherits the first CPU."""
    from _util import start_gateway

    from llmkit import engines

    server_cpu, client_cpu = _server_cpu()
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, server_cpu)  # children inherit it at fork: every thread they make runs there
    try:
        t0 = time.perf_counter()
        if name.startswith("gateway"):
            env = dict(ONE_THREAD, LLMKIT_OFFLINE="1", LLMKIT_V2_RETRIEVAL="0" if name == "gateway-bare" else "1")
            proc, url, secs = start_gateway(env)

            def stop():
                engines.stop_process(proc)

            return url + "/v1", "llmkit-offline", proc.pid, stop, secs
        srv = engines.start(name)
        return srv.url + "/v1", srv.model, srv.pid, srv.stop, time.perf_counter() - t0
    finally:
        os.sched_setaffinity(0, client_cpu if client_cpu != server_cpu else everything)


def rss_mib(pid: int) -> float:
    import psutil

    try:
        p = psutil.Process(pid)
        return sum(x.memory_info().rss for x in [p] + p.children(recursive=True)) / 2**20
    except psutil.Error:
        return float("nan")


def run(name: str, bare, max_tokens: int) -> dict:
    from openai import OpenAI

    from llmkit.engine import SamplingParams

    url, model, pid, stop, start_s = start(name)
    try:
        client = OpenAI(base_url=url, api_key="none", max_retries=0, timeout=300)
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=4)  # warm
        ttft, totals, decodes, tokens, same = [], 0.0, 0.0, 0, 0
        for q in QUESTIONS:
            msgs = [{"role": "user", "content": q}]
            t0 = time.perf_counter()
            first = None
            parts = []
            extra = {"repeat_penalty": 1.0} if name == "llama-cpp" else None  # its server's default is 1.1
            for chunk in client.chat.completions.create(model=model, messages=msgs, temperature=0,
                                                        max_tokens=max_tokens, stream=True, extra_body=extra):
                if chunk.choices and chunk.choices[0].delta.content:
                    if first is None:
                        first = time.perf_counter()
                    parts.append(chunk.choices[0].delta.content)
            end = time.perf_counter()
            text = "".join(parts)
            n = len(bare.tok.encode(text))
            ttft.append((first or end) - t0)
            totals += end - t0
            decodes += end - (first or end)
            tokens += n
            ours = bare.generate(msgs, SamplingParams(temperature=0, max_tokens=max_tokens)).text()
            same += text == ours
        return {"engine": name, "start_s": start_s, "tokens": tokens, "tps": tokens / totals,
                "decode_tps": (tokens - len(QUESTIONS)) / decodes if decodes else float("nan"),
                "ttft_p50_ms": 1000 * statistics.median(ttft),
                "ttft_p95_ms": 1000 * statistics.quantiles(ttft, n=20)[-1], "rss_mib": rss_mib(pid),
                "same": same}
    finally:
        stop()


def main(argv=None) -> None:
    from llmkit import engines

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = ["gateway-bare", "gateway"] + [e for e in engines.ENGINES if engines.installed(e)]
    p.add_argument("--engines", default=",".join(default), help="comma-separated (default: %(default)s)")
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    os.environ.update(ONE_THREAD)
    from _util import table

    from llmkit.engine import DEFAULT
    from llmkit.engine.transformer import DATA_DIRS, TransformerEngine

    bare = TransformerEngine(DATA_DIRS[DEFAULT], retrieval=False)  # the model the engines serve (v2 until 2026-11-29)
    rows, results = [], []
    for name in args.engines.split(","):
        try:
            r = run(name, bare, args.max_tokens)
        except Exception as e:  # a benchmark reports, it does not fail
            print(f"{name}: {type(e).__name__}: {str(e)[:300]}", file=sys.stderr)
            continue
        results.append(r)
        rows.append((name, f"{r['start_s']:.1f}", f"{r['tps']:.0f}", f"{r['decode_tps']:.0f}",
                     f"{r['ttft_p50_ms']:.0f} / {r['ttft_p95_ms']:.0f}", f"{r['rss_mib']:.0f}",
                     f"{r['same']}/{len(QUESTIONS)}"))
    print(f"{len(QUESTIONS)} questions, one at a time, streaming, temperature 0, max_tokens {args.max_tokens}; "
          f"server on one CPU, client on another")
    print(table(rows, ("engine", "start s", "tokens/s", "decode tok/s", "first token ms p50 / p95", "RSS MiB",
                       "same text as numpy")))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

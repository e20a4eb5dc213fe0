"""What routing through the gateway adds: the same request sent to an upstream directly and
through `llmkit serve --upstream`, latency p50/p95 at 1 and 32 concurrent clients.

    python bench/routing.py                 # both upstreams, 200 requests per cell
    python bench/routing.py --requests 400 --upstreams fixed
    python bench/routing.py --requests 1000 --upstreams fixed --pin   # the gateway on a core of its own

Upstreams:
- llama-cpp: the course model on llama.cpp (`llmkit engines start llama-cpp`), max_tokens 1
  (its server takes one request at a time, so at 32 clients the queue dominates);
- fixed: a bare Starlette app on uvicorn answering every chat completion with the same JSON,
  so nothing but the proxying is measured (how LiteLLM's proxy overhead is measured too).

Direct and routed batches alternate (the machine's load drifts); "added" is routed minus
direct. Non-streaming and streaming (time to the last byte) are both measured. A benchmark:
it prints, it never fails on a figure.

On a 2-core machine the client, the upstream and the gateway share the cores, and at 32 clients
the gateway's CPU per request waits in that queue; `--pin` gives the gateway core 0 and the
upstream and this client core 1, as a gateway deployed apart from its engines runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402

from _util import free_port, pin, table  # noqa: E402

FIXED_APP = r'''
import json, sys
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
BODY = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "fixed",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}).encode()
CHUNKS = [b'data: {"choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}\n\n',
          b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\n',
          b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1}}\n\n', b"data: [DONE]\n\n"]
async def chat(request):
    body = await request.json()
    if body.get("stream"):
        async def gen():
            for c in CHUNKS:
                yield c
        return StreamingResponse(gen(), media_type="text/event-stream")
    return Response(BODY, media_type="application/json")
async def models(request):
    return Response(b'{"object":"list","data":[{"id":"fixed"}]}', media_type="application/json")
app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models)])
import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
'''


HEAD = ("gateway CPU ms/req", "failed direct / routed")


def wait(url: str, path: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited")
        try:
            if httpx.get(url + path, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


FAILED: dict[str, list[str]] = {}  # url -> what went wrong, counted per cell


async def one(client: httpx.AsyncClient, url: str, body: dict) -> float | None:
    t0 = time.perf_counter()
    try:
        if body.get("stream"):
            async with client.stream("POST", url, json=body) as r:
                tail = b""
                async for chunk in r.aiter_bytes():
                    tail = (tail + chunk)[-4096:]
            if b'data: {"error"' in tail:  # the gateway's mid-stream error event: a failure, not an answer
                FAILED.setdefault(url, []).append("error event: " + tail.decode("utf-8", "replace")[-200:])
                return None
        else:
            r = await client.post(url, json=body)
    except httpx.HTTPError as e:
        FAILED.setdefault(url, []).append(f"{type(e).__name__}: {e}")
        return None
    if r.status_code != 200:
        FAILED.setdefault(url, []).append(f"{r.status_code}: {r.text[:200] if not body.get('stream') else ''}")
        return None
    return (time.perf_counter() - t0) * 1000


async def batch(url: str, body: dict, n: int, conc: int) -> list[float]:
    sem = asyncio.Semaphore(conc)
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=conc + 4),
                                 trust_env=False) as client:
        await asyncio.gather(*(one(client, url, body) for _ in range(min(conc, 4))))  # warm connections

        async def task():
            async with sem:
                return await one(client, url, body)

        return [x for x in await asyncio.gather(*(task() for _ in range(n))) if x is not None]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) the process has used so far, in ms."""
    import psutil

    t = psutil.Process(pid).cpu_times()
    return (t.user + t.system) * 1000


def measure(direct: str, routed: str, model_direct: str, model_routed: str, n: int, conc: int, stream: bool,
            rounds: int = 4, pids: tuple[int, int] = (0, 0)) -> dict:
    base = {"messages": [{"role": "user", "content": "What is a token?"}], "max_tokens": 1, "temperature": 0,
            "stream": stream}
    d, r, cpu = [], [], 0.0
    FAILED.clear()
    for _ in range(rounds):  # alternate: the machine's load drifts
        d += asyncio.run(batch(direct + "/v1/chat/completions", {**base, "model": model_direct}, n // rounds, conc))
        before = cpu_ms(pids[1])
        r += asyncio.run(batch(routed + "/v1/chat/completions", {**base, "model": model_routed}, n // rounds, conc))
        cpu += cpu_ms(pids[1]) - before
    # the gateway's CPU per routed request (warm-up requests included in the count): what it adds on an idle core
    per = cpu / (rounds * (n // rounds + min(conc, 4)))
    fails = (len(FAILED.get(direct + "/v1/chat/completions", [])), len(FAILED.get(routed + "/v1/chat/completions", [])))
    for url, what in FAILED.items():
        print(f"  {len(what)} failed at {url}: {what[0]}", flush=True)
    return {"direct": (pct(d, .5), pct(d, .95)), "routed": (pct(r, .5), pct(r, .95)), "cpu": per, "failed": fails}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--upstreams", default="fixed,llama-cpp")
    ap.add_argument("--pin", action="store_true",
                    help="the gateway on core 0, the upstream and this client on core 1: the gateway on a core "
                         "of its own, as when it runs apart from the engine (2 cores: the upstream shares the client's)")
    args = ap.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {1})
    procs, rows = [], []
    try:
        targets = {}
        for name in args.upstreams.split(","):
            if name == "fixed":
                port = free_port()
                p = subprocess.Popen([sys.executable, "-c", FIXED_APP, str(port)])
                procs.append(p)
                url = f"http://127.0.0.1:{port}"
                wait(url, "/v1/models", p)
                targets[name] = (url, "fixed")
            elif name == "llama-cpp":
                from llmkit import engines

                srv = engines.start("llama-cpp")
                procs.append(srv.proc)
                targets[name] = (srv.url, srv.model)
        gw_port = free_port()
        flags = []
        for name, (url, model) in targets.items():
            flags += ["--upstream", f"{model}=openai+{url}/v1"]
        gw = subprocess.Popen([sys.executable, "-m", "llmkit", "serve", "--port", str(gw_port), "--log-level",
                               "warning", *flags], stdout=subprocess.DEVNULL)
        procs.append(gw)
        gw_url = f"http://127.0.0.1:{gw_port}"
        wait(gw_url, "/health", gw)
        if args.pin:
            pin(gw.pid, 0)
            for p in procs[:-1]:
                pin(p.pid, 1)
        for name, (url, model) in targets.items():
            for stream in (False, True):
                for conc in (1, 32):
                    m = measure(url, gw_url, model, model, args.requests, conc, stream, pids=(0, gw.pid))
                    (d50, d95), (r50, r95) = m["direct"], m["routed"]
                    rows.append((name, "stream" if stream else "whole", conc, f"{d50:.2f}", f"{r50:.2f}",
                                 f"{r50 - d50:+.2f}", f"{d95:.2f}", f"{r95:.2f}", f"{r95 - d95:+.2f}", f"{m['cpu']:.2f}", "%d / %d" % m["failed"]))
                    print(table(rows[-1:], ("upstream", "reply", "clients", "direct p50", "routed p50", "added p50",
                                            "direct p95", "routed p95", "added p95", *HEAD)).splitlines()[-1], flush=True)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    print()
    where = "; gateway on core 0, upstream and client on core 1" if args.pin else ""
    print(f"{args.requests} requests per cell, ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs{where}")
    print(table(rows, ("upstream", "reply", "clients", "direct p50", "routed p50", "added p50",
                       "direct p95", "routed p95", "added p95", *HEAD)))
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()

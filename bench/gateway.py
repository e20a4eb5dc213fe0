"""The gateway under load, per protocol: requests/s at max_tokens=1, time to first token
with 32 concurrent streams, start-up time and resident memory.

    python bench/gateway.py [--seconds 5] [--concurrency 32] [--streams 32]

Load comes from a second process on loopback: `wrk` when installed (apt-get install wrk),
else a small asyncio HTTP/1.1 keep-alive client (which saturates before a fast server does,
so its figure is a lower bound).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time

import httpx

from _util import rss_mib, start_gateway, table

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


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--streams", type=int, default=32)
    p.add_argument("--protocols", default=",".join(PROTOCOLS))
    args = p.parse_args()
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

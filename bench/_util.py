"""Helpers for the benchmarks: start a gateway process, measure it, print a table."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(extra_env: dict | None = None, python: str | None = None) -> tuple[subprocess.Popen, str, float]:
    """`llmkit serve` on a free port, run by `python` (default: this interpreter); returns (process,
    base URL, seconds until /health answered)."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([python or sys.executable, "-m", "llmkit", "serve", "--port", str(port), "--log-level", "warning"],
                            env={**os.environ, **(extra_env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.perf_counter() - t0 > 60:
            raise RuntimeError("gateway did not start")
        time.sleep(0.01)
    return proc, url, time.perf_counter() - t0


def pin(pid: int, core: int) -> None:
    """Every thread of process `pid` onto `core` (taskset -a): a server measured on a core of its own."""
    subprocess.run(["taskset", "-a", "-cp", str(core), str(pid)], check=True, capture_output=True)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([fmt.format(*header)] + [fmt.format(*map(str, r)) for r in rows])

"""Memory of the whole course stack, as Binder runs it: the JupyterLab server, one kernel
that ran `llmkit.setup()` and made a call, and the gateway `binder/start` runs.

    python bench/memory.py

Starts `llmkit serve` and `jupyter lab` (no browser, a random token, a throw-away runtime
folder), starts a kernel through JupyterLab's REST API, runs the notebooks' first cell and
one OpenAI SDK call in it, then prints each process's resident memory (RSS) and unique
memory (USS: what it alone holds; RSS counts shared libraries in every process), and the
totals. The target is well inside 1 GB (Binder gives 1-2 GB). Stops what it started.
Prints figures; never fails on them.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from _util import free_port, start_gateway, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KERNEL_CODE = """
import llmkit
llmkit.setup()
from openai import OpenAI
reply = OpenAI().chat.completions.create(model="gpt-4o-mini", temperature=0,
                                         messages=[{"role": "user", "content": "What is an API?"}])
print(reply.choices[0].message.content[:60])
"""


def mib(n: int) -> float:
    return n / 2**20


def start_lab(runtime: Path, env: dict) -> tuple[subprocess.Popen, str, str]:
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env={**env, "JUPYTER_RUNTIME_DIR": str(runtime)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).status_code == 200:
                return proc, url, token
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("JupyterLab did not start")
        time.sleep(0.2)


def run_in_kernel(runtime: Path, kernel_id: str, code: str) -> str:
    from jupyter_client import BlockingKernelClient

    conn = runtime / f"kernel-{kernel_id}.json"
    deadline = time.monotonic() + 60
    while not conn.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no connection file {conn}")
        time.sleep(0.1)
    kc = BlockingKernelClient(connection_file=str(conn))
    kc.load_connection_file()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        out = []
        reply = kc.execute_interactive(code, timeout=120,
                                       output_hook=lambda m: out.append(m["content"].get("text", ""))
                                       if m["msg_type"] == "stream" else None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the kernel failed: {reply['content'].get('evalue')}")
        return "".join(out).strip()
    finally:
        kc.stop_channels()


def main() -> int:
    env = {**os.environ, "LLMKIT_OFFLINE": "1"}
    with tempfile.TemporaryDirectory(prefix="llmkit-bench-mem-") as tmp:
        runtime = Path(tmp)
        gateway, gw_url, _ = start_gateway({"LLMKIT_OFFLINE": "1"})
        lab = None
        try:
            lab, url, token = start_lab(runtime, env)
            headers = {"Authorization": f"token {token}"}
            kernel_id = httpx.post(f"{url}/api/kernels", json={"name": "python3"}, headers=headers,
                                   timeout=60).json()["id"]
            said = run_in_kernel(runtime, kernel_id, KERNEL_CODE)
            time.sleep(0.5)
            kernels = [p for p in psutil.Process(lab.pid).children(recursive=True)]
            procs = [("JupyterLab server", psutil.Process(lab.pid))]
            procs += [("kernel (setup() + a call)", p) for p in kernels]
            procs += [("gateway (llmkit serve)", psutil.Process(gateway.pid))]
            rows, rss_total, uss_total = [], 0, 0
            for name, p in procs:
                info = p.memory_full_info()
                rss_total += info.rss
                uss_total += info.uss
                rows.append((name, p.pid, f"{mib(info.rss):.0f}", f"{mib(info.uss):.0f}"))
            rows.append(("total", "", f"{mib(rss_total):.0f}", f"{mib(uss_total):.0f}"))
            print(f"kernel said: {said!r}")
            print(table(rows, ("process", "pid", "RSS MiB", "USS MiB")))
            print(f"whole stack: {mib(rss_total):.0f} MiB RSS ({mib(uss_total):.0f} MiB unique); target well inside 1024 MiB")
            httpx.delete(f"{url}/api/kernels/{kernel_id}", headers=headers, timeout=30)
            print(json.dumps({"rss_mib": round(mib(rss_total)), "uss_mib": round(mib(uss_total))}))
        finally:
            for proc in (lab, gateway):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())

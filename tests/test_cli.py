"""The `llmkit` command: doctor, serve, chat and course, run as a user would.

Every process a test starts runs in a session of its own and is stopped by PID: SIGTERM,
then SIGKILL for its whole process group and every process it started. No test relies on
SIGINT from a terminal (a background job, `nohup make test &`, ignores it).
"""

from __future__ import annotations

import json
import os
import pty
import queue
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import psutil
import pytest

FAKE = "sk-test-" + "f00dfeed" * 4
LLMKIT = [sys.executable, "-m", "llmkit"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60, **kw) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2, **kw)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start(args: list[str], **kw) -> subprocess.Popen:
    """`llmkit ARGS` in a session of its own, no terminal, output merged into one pipe."""
    return subprocess.Popen(LLMKIT + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True, **kw)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 30, read: bool = True) -> tuple[str, list]:
    """Stop `proc` by PID with `sig`; after `grace` s SIGKILL its process group and descendants.
    Returns its output (unless a Lines reads it: read=False) and the descendants it had that
    did not stop with it (killed now)."""
    family = []
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        pass
    if proc.poll() is None:
        proc.send_signal(sig)
    wait = proc.communicate if read and proc.stdout else proc.wait
    try:
        done = wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        done = wait()
    out = done[0] if isinstance(done, tuple) else None
    _, alive = psutil.wait_procs(family, timeout=5)
    for p in alive:
        p.kill()
    return out or "", alive


class Lines:
    """A process's output, read line by line on a thread (so a test can wait for a line)."""

    def __init__(self, proc: subprocess.Popen):
        self.seen: list[str] = []
        self.q: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def until(self, pattern: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.q.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(self.seen))
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def rest(self) -> str:
        lines = []
        while True:
            try:
                line = self.q.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                break
            lines.append(line)
        return "\n".join(lines)


def test_doctor_reports_without_showing_keys(tmp_path):
    env = {**os.environ, "OPENAI_API_KEY": FAKE, "LLMKIT_OFFLINE": ""}
    r = subprocess.run(LLMKIT + ["doctor"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "openai" in r.stdout and "live" in r.stdout and "OPENAI_API_KEY is set" in r.stdout
    assert "anthropic  offline" in r.stdout and "127.0.0.1:11434" in r.stdout
    assert "offline model: llmkit-" in r.stdout
    assert FAKE not in r.stdout + r.stderr


def test_serve_answers_and_requires_its_key(tmp_path):
    port = free_port()
    proc = start(["serve", "--port", str(port), "--api-key", "cli-secret"], cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(base + "/health").json()["status"] == "healthy"
        assert httpx.post(base + "/chat", json={"message": "hi"}).status_code == 401
        r = httpx.post(base + "/chat", json={"message": "What is JSON?", "max_tokens": 20},
                       headers={"Authorization": "Bearer cli-secret"})
        assert r.status_code == 200 and r.json()["response"]
    finally:
        out, left = stop(proc)
    assert proc.returncode is not None and not left
    assert "cli-secret" not in out


def test_chat_command_streams_an_answer():
    r = subprocess.run(LLMKIT + ["chat", "--seed", "1", "What is a token?"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and "token" in r.stdout.lower() and "tokens in" in r.stdout


@pytest.mark.parametrize("how", ["argument", "piped"])
def test_chat_refuses_an_empty_message(how):
    args, piped = (["chat", "   "], None) if how == "argument" else (["chat"], " \n\n")
    r = subprocess.run(LLMKIT + args, input=piped, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL if piped is None else None)
    assert r.returncode == 2
    assert "empty message, nothing sent" in r.stderr
    assert "tokens in" not in r.stdout  # the model was never asked


def test_chat_in_a_terminal_is_a_prompt_that_keeps_the_conversation():
    """stdin a terminal: `you>` prompts, an empty line is refused, Ctrl+D quits."""
    main, side = pty.openpty()
    proc = subprocess.Popen(LLMKIT + ["chat", "--temperature", "0", "--max-tokens", "40"], stdin=side,
                            stdout=side, stderr=side, start_new_session=True, close_fds=True)
    os.close(side)
    seen = b""

    def read_until(marker: bytes, count: int, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while seen.count(marker) < count:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            if select.select([main], [], [], 0.5)[0]:
                try:
                    seen += os.read(main, 4096)
                except OSError:  # the other side closed
                    break

    try:
        read_until(b"you> ", 1)
        os.write(main, b"\n")
        read_until(b"you> ", 2)
        os.write(main, b"What is a token?\n")
        read_until(b"you> ", 3)
        os.write(main, b"And what is JSON?\n")
        read_until(b"you> ", 4)
        os.write(main, b"\x04")  # Ctrl+D
        assert proc.wait(timeout=30) == 0
    finally:
        stop(proc)
        os.close(main)
    text = seen.decode(errors="replace")
    assert "empty message, not sent" in text
    replies = re.findall(r"\[(\d+) tokens in, \d+ out", text)
    assert len(replies) == 2, text
    assert int(replies[1]) > int(replies[0])  # the second question is read with the first exchange


def described(help_text: str) -> dict[str, str]:
    """argparse help: each option or positional of the usage line -> the description it gets."""
    usage, _, body = help_text.partition("\n\n")
    names = re.findall(r"(--[\w-]+|(?<=\[)[a-z_]+(?= \.\.\.\]))", usage)
    found = {}
    lines = body.splitlines()
    for name in names:
        for i, line in enumerate(lines):
            m = re.match(rf"  (?:-\w, )?{re.escape(name)}(?: [A-Z_]+)?(?:\s{{2,}}(.*))?$", line)
            if m:
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                follow = nxt.strip() if re.match(r" {6,}[^ -]", nxt) else ""  # wrapped onto the next line
                found[name] = m.group(1) or follow
    return {name: found.get(name, "") for name in names}


def test_every_chat_option_is_described_in_help():
    r = subprocess.run(LLMKIT + ["chat", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    found = described(r.stdout)
    assert set(found) >= {"message", "--temperature", "--max-tokens", "--seed"}, r.stdout
    assert all(found.values()), {k: v for k, v in found.items() if not v}
    assert "sampling temperature" in found["--temperature"] and "prompt" in r.stdout  # no question: a prompt


def course_args(root, gw_port: int, lab_port: int) -> list[str]:
    return ["course", "--root", str(root), "--port", str(gw_port), "--no-browser", f"--ServerApp.port={lab_port}"]


@pytest.fixture()
def course_env(tmp_path):
    (tmp_path / "notebooks").mkdir()
    return {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
            "JUPYTER_DATA_DIR": str(tmp_path / "data")}


def test_course_starts_gateway_and_jupyterlab_and_sigterm_stops_them_all(tmp_path, course_env):
    gw_port, lab_port = free_port(), free_port()
    proc = start(course_args(tmp_path, gw_port, lab_port), cwd=tmp_path, env=course_env)
    lines = Lines(proc)
    try:
        lines.until(r"^To stop: ")
        url, how = lines.seen[-2:]  # the last lines printed: what to open, how to stop
        assert re.fullmatch(rf"    http://localhost:{lab_port}/lab/tree/notebooks/00_setup\.ipynb\?token=\w+", url)
        assert "Ctrl+C" in how and f"kill {proc.pid}" in how
        token = url.rsplit("=", 1)[1]
        assert wait_for(f"http://127.0.0.1:{gw_port}/health").status_code == 200
        lab = f"http://127.0.0.1:{lab_port}"
        page = httpx.get(f"{lab}/lab?token={token}", timeout=30)
        assert page.status_code == 200 and "JupyterLab" in page.text
        config = json.loads(re.search(r'id="jupyter-config-data" type="application/json">(.*?)</script>',
                                      page.text, re.S).group(1))
        assert "@jupyterlab/apputils-extension:announcements" in config["disabledExtensions"]  # no news pop-up
        auth = {"Authorization": f"token {token}"}
        assert httpx.get(f"{lab}/api/contents/notebooks", headers=auth).json()["type"] == "directory"
        kernel = httpx.post(f"{lab}/api/kernels", json={"name": "python3"}, headers=auth, timeout=60)
        assert kernel.status_code == 201
        deadline = time.monotonic() + 60
        while not any("ipykernel" in " ".join(p.cmdline()) for p in psutil.Process(proc.pid).children(recursive=True)):
            assert time.monotonic() < deadline, "no kernel process"
            time.sleep(0.2)
        family = psutil.Process(proc.pid).children(recursive=True)
    finally:
        out, left = stop(proc, signal.SIGTERM, read=False)  # as root, this only answered because `course` added --allow-root
    assert proc.returncode == 0, "\n".join(lines.seen) + lines.rest()
    assert not left, f"still running after SIGTERM: {[p.info for p in left]}"
    assert len(family) >= 3  # gateway, JupyterLab, the kernel: all gone
    for port in (gw_port, lab_port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_course_on_a_taken_port_says_so_uses_another_and_stops_on_sigint(tmp_path, course_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        proc = start(course_args(tmp_path, busy, free_port()), cwd=tmp_path, env=course_env)
        lines = Lines(proc)
        try:
            said = lines.until(r"is taken")
            port = int(re.search(r"the gateway uses port (\d+) instead", said).group(1))
            assert str(busy) in said and port != busy
            running = lines.until(r"^llmkit course is running")
            assert f"gateway http://127.0.0.1:{port}" in running
            assert wait_for(f"http://127.0.0.1:{port}/health").json()["status"] == "healthy"
            lines.until(r"^To stop: ")
            family = psutil.Process(proc.pid).children(recursive=True)
        finally:
            out, left = stop(proc, signal.SIGINT, read=False)
    assert proc.returncode == 0 and not left
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family)
    assert "ERROR" not in "\n".join(lines.seen) + lines.rest()

"""The `llmkit` command: doctor, serve, chat and course, run as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

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


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


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
    proc = subprocess.Popen(LLMKIT + ["serve", "--port", str(port), "--api-key", "cli-secret"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(base + "/health").json()["status"] == "healthy"
        assert httpx.post(base + "/chat", json={"message": "hi"}).status_code == 401
        r = httpx.post(base + "/chat", json={"message": "What is JSON?", "max_tokens": 20},
                       headers={"Authorization": "Bearer cli-secret"})
        assert r.status_code == 200 and r.json()["response"]
    finally:
        out = stop(proc)
    assert "cli-secret" not in out


def test_chat_command_streams_an_answer():
    r = subprocess.run(LLMKIT + ["chat", "--seed", "1", "What is a token?"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "token" in r.stdout.lower() and "tokens in" in r.stdout


def test_course_starts_gateway_and_jupyterlab(tmp_path):
    (tmp_path / "notebooks").mkdir()
    gw_port, lab_port = free_port(), free_port()
    proc = subprocess.Popen(LLMKIT + ["course", "--root", str(tmp_path), "--port", str(gw_port), "--no-browser",
                                      f"--ServerApp.port={lab_port}", "--IdentityProvider.token=",
                                      "--ServerApp.password="],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                            env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")})
    try:
        assert wait_for(f"http://127.0.0.1:{gw_port}/health").status_code == 200
        lab = wait_for(f"http://127.0.0.1:{lab_port}/lab")
        assert lab.status_code == 200 and "JupyterLab" in lab.text
        api = httpx.get(f"http://127.0.0.1:{lab_port}/api/contents/notebooks").json()
        assert api["type"] == "directory"
    finally:
        stop(proc)  # as root, this only answered because `course` added --allow-root

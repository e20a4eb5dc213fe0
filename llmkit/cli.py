"""The `llmkit` command: serve | doctor | course | chat | train.

    llmkit serve [--host 127.0.0.1] [--port 8000] [--api-key KEY] [--admin-key KEY] [--max-body-bytes N]
                 [--config gateway.toml] [--upstream NAME=URL ...]   routes to real backends, classroom mode
    llmkit classroom add|list|remove|report   students' tokens, quotas and usage (docs/classroom.md)
    llmkit doctor            which providers are live or offline, and why (never a key)
    llmkit course            the gateway plus JupyterLab opened on notebooks/ (Ctrl+C stops both)
    llmkit chat ["question"] the offline model in the terminal: one question, or a prompt
    llmkit engines list|start llama-cpp|transformers|vllm   real servers on the course's model
    llmkit export gguf [--out F] [--type f32|f16|q8_0]      the model as GGUF (llama.cpp)
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path


def _serve(args) -> int:
    from .server.background import serve

    key = args.api_key or os.environ.get("LLMKIT_API_KEY") or None
    gateway = None
    if args.config or args.upstream:  # routes to upstreams, classroom mode
        from .server.gateway_config import ConfigError, from_flags, load

        try:
            gateway = load(args.config, args.upstream) if args.config else from_flags(args.upstream)
        except ConfigError as e:
            print(f"llmkit serve: {e}", file=sys.stderr)
            return 2
        if gateway.classroom is not None and not (args.admin_key or os.environ.get("LLMKIT_ADMIN_KEY")):
            print("llmkit serve: classroom mode needs an admin key (--admin-key or LLMKIT_ADMIN_KEY): /admin/ "
                  "must not be open to students on this machine.", file=sys.stderr)
            return 2
    if not _is_loopback_host(args.host) and not key and not (gateway and gateway.classroom):
        if not args.insecure_no_key:
            print(f"llmkit serve: refusing to serve on {args.host} without an API key: anyone who can reach "
                  "this address could use the gateway and create or delete its models.\n"
                  "  Give one with --api-key KEY (or LLMKIT_API_KEY), bind 127.0.0.1, or, if you really mean "
                  "it, add --insecure-no-key.", file=sys.stderr)
            return 2
        print("=" * 72 + f"\nWARNING: serving on {args.host} WITHOUT AN API KEY (--insecure-no-key):\n"
              "anyone who can reach this address can use this gateway.\n" + "=" * 72, file=sys.stderr, flush=True)
    print(f"llmkit gateway on http://{args.host}:{args.port}  (docs at /docs; Ctrl+C stops)", flush=True)
    if gateway and gateway.router:
        for pattern, up in gateway.router.routes:
            print(f"  route {pattern!r} -> {up.name}: {up.wire} at {up.base_url}", flush=True)
    if gateway and gateway.classroom:
        print(f"  classroom mode: students' usage in {gateway.classroom.db}", flush=True)
    serve(args.host, args.port, api_key=key, log_level=args.log_level, admin_key=args.admin_key,
          max_body_bytes=args.max_body_bytes, gateway=gateway)
    return 0


def _is_loopback_host(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def _doctor(args) -> int:
    """What llmkit sees, in the course's language (LLMKIT_LANG=es: Spanish)."""
    from . import config
    from .lang import t

    env_file = config.load_dotenv_file()
    decisions = config.decide(True if args.offline else None)
    print(f"llmkit {__import__('llmkit').__version__} on Python {sys.version.split()[0]}")
    print(f".env: {env_file or t('none found (keys come from the environment only)')}")
    w = max(len(d.provider) for d in decisions)
    modes = {True: t("live"), False: t("offline")}
    m = max(len(x) for x in modes.values())
    for d in decisions:
        print(f"  {d.provider.ljust(w)}  {modes[d.live].ljust(m)}  {d.why}")
    print(t("real Ollama on 127.0.0.1:11434: {state}",
            state=t("answers") if config.ollama_answers() else t("not running")))
    sdks = []
    for mod in ("openai", "anthropic", "google.genai", "groq", "ollama"):
        from importlib import metadata

        dist = {"google.genai": "google-genai"}.get(mod, mod)
        try:
            sdks.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            sdks.append(f"{dist} {t('MISSING')}")
    print("SDKs: " + ", ".join(sdks))
    try:
        from .engine import get_engine

        eng = get_engine()
        window = getattr(eng, "window", eng.context_length)
        seen = t(" (the network reads the latest {n:,})", n=window) if window < eng.context_length else ""
        print(t("offline model: {name}, {params:,} parameters, context {context:,} tokens{seen}", name=eng.name,
                params=eng.parameters, context=eng.context_length, seen=seen))
    except Exception as e:  # doctor reports, never crashes
        print(t("offline model: FAILED to load ({error}: {e})", error=type(e).__name__, e=e))
        return 1
    return 0


class _Stop(Exception):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) reached `llmkit course`."""


class _StopOnSignal:
    """Turns the first SIGINT, SIGTERM or SIGHUP into _Stop; later ones (during the clean-up) are ignored."""

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __enter__(self):
        self.stopping = False
        self.old = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def _handle(self, signum, _frame):
        if not self.stopping:
            self.stopping = True
            raise _Stop(signum)

    def __exit__(self, *exc):
        for sig, old in self.old.items():
            signal.signal(sig, old)
        return exc[0] is _Stop


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def _any_free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if `llmkit course` itself is killed (even with SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _spawn(cmd: list[str], env: dict, **kw) -> subprocess.Popen:
    """A child in a session of its own (a terminal's Ctrl+C reaches only `llmkit course`, which
    then stops each child in order), reading nothing from the terminal."""
    return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, start_new_session=True, **kw,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


def _stop_children(procs: list[subprocess.Popen], grace: float = 10.0) -> None:
    """SIGTERM each child (JupyterLab then shuts its kernels down), SIGKILL what is left after
    `grace` seconds: the children's process groups and every process they started."""
    import time

    try:
        import psutil  # a dependency of ipykernel
    except ImportError:  # pragma: no cover
        psutil = None
    family = []
    for p in procs:
        try:
            family += psutil.Process(p.pid).children(recursive=True) if psutil and p.poll() is None else []
        except psutil.Error:
            pass
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (OSError, AttributeError):  # AttributeError: Windows has no process groups
                p.kill()
            p.wait()
    if psutil is not None:
        _, alive = psutil.wait_procs(family, timeout=max(0.1, deadline - time.monotonic()))
        for c in alive:
            try:
                c.kill()
            except psutil.Error:
                pass


def _wait_gateway(proc: subprocess.Popen, url: str, timeout: float = 120.0) -> bool:
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2, trust_env=False).status_code == 200:  # never via a proxy
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _wait_lab(proc: subprocess.Popen, timeout: float = 180.0) -> dict | None:
    """JupyterLab's server info (url, token, root_dir), from the file it writes once it listens."""
    import json
    import time

    from jupyter_core.paths import jupyter_runtime_dir

    info = Path(jupyter_runtime_dir()) / f"jpserver-{proc.pid}.json"
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            return json.loads(info.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            time.sleep(0.2)
    return None


LAB_CONFIG = Path(__file__).resolve().parent / "jupyter_config"  # labconfig/: no Jupyter news pop-up


def _course(args) -> int:
    """The gateway and JupyterLab, stopped together by Ctrl+C, SIGTERM or SIGHUP."""
    import secrets
    from urllib.parse import quote

    root = Path(args.root).resolve()
    if args.open is None:  # the edition's first lesson (the Spanish edition is notebooks/es/)
        args.open = "notebooks/es/00_setup.ipynb" if args.lang == "es" else "notebooks/00_setup.ipynb"
    port = args.port or _any_free_port()  # --port 0: any free port
    if not _port_free(port):
        port = _any_free_port()
        print(f"llmkit: port {args.port} is taken (another gateway or program uses it); "
              f"the gateway uses port {port} instead", flush=True)
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(LAB_CONFIG), env.get("JUPYTER_CONFIG_PATH")]))
    if not env.get("JUPYTER_TOKEN") and not any(".token=" in a for a in args.extra):
        env["JUPYTER_TOKEN"] = secrets.token_hex(24)  # ours, so Jupyter prints no banner after our lines
    gw_cmd = [sys.executable, "-m", "llmkit", "serve", "--port", str(port), "--log-level", "warning"]
    lab_cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}",  # warnings and errors only:
               f"--LabApp.default_url=/lab/tree/{args.open}", "--Application.log_level=WARN"]  # our lines come last
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        lab_cmd.append("--allow-root")
    if args.no_browser:
        lab_cmd.append("--no-browser")
    lab_cmd += args.extra  # anything else is for jupyter lab (e.g. --ServerApp.port=8888)

    procs: list[subprocess.Popen] = []
    with _StopOnSignal() as stop:
        try:
            print(f"llmkit: starting the gateway (port {port}) and JupyterLab on {root} ...", flush=True)
            procs.append(_spawn(gw_cmd, env, stdout=subprocess.DEVNULL))  # its banner; errors go to stderr
            procs.append(_spawn(lab_cmd, env))
            gateway, lab = procs
            gw_url = f"http://127.0.0.1:{port}"
            if not _wait_gateway(gateway, gw_url):
                print(f"llmkit: the gateway did not start on port {port} (see the messages above)", file=sys.stderr)
                return 1
            info = _wait_lab(lab)
            if info is None:
                print("llmkit: JupyterLab did not start (see the messages above)", file=sys.stderr)
                return 1
            url = info["url"].rstrip("/") + "/lab/tree/" + quote(args.open)
            if info.get("token"):
                url += "?token=" + info["token"]
            print(f"\nllmkit course is running (gateway {gw_url}, docs at {gw_url}/docs).\n"
                  f"Open this address in your browser{'' if args.no_browser else ' (if it did not open by itself)'}:\n"
                  f"    {url}\n"
                  f"To stop: press Ctrl+C here (or run `kill {os.getpid()}`); the gateway, JupyterLab and its "
                  "kernels stop with it.", flush=True)
            lab.wait()  # until a signal, or File > Shut Down in JupyterLab
        finally:
            stop.stopping = True  # from here on, a second Ctrl+C cannot cut the clean-up short
            if procs:
                print("\nllmkit: stopping JupyterLab, its kernels and the gateway ...", flush=True)
            _stop_children(procs)
    return 0


def _chat(args) -> int:
    """One question (arguments or piped text), or a conversation at a prompt in a terminal."""
    from .engine import SamplingParams

    if args.message or not sys.stdin.isatty():
        question = " ".join(args.message) if args.message else sys.stdin.read()
        if not question.strip():
            print("llmkit chat: empty message, nothing sent: give a question, e.g. llmkit chat \"What is a token?\"",
                  file=sys.stderr)
            return 2
        _answer([{"role": "user", "content": question}], args, SamplingParams)
        return 0
    try:
        import readline  # noqa: F401 - line editing and history for input()
    except ImportError:  # pragma: no cover - Windows
        pass
    print("llmkit chat with the offline model: type a question and press Enter. "
          "Ctrl+D (or 'exit') quits; the conversation is kept until then.", flush=True)
    messages: list[dict] = []
    while True:
        try:
            line = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line.strip() in ("exit", "quit"):
            return 0
        if not line.strip():
            print("(empty message, not sent: type a question, or Ctrl+D to quit)", flush=True)
            continue
        messages.append({"role": "user", "content": line})
        print("model> ", end="", flush=True)
        try:
            messages.append({"role": "assistant", "content": _answer(messages, args, SamplingParams)})
        except KeyboardInterrupt:  # Ctrl+C stops this reply, not the conversation
            print("\n(reply interrupted)")
            messages.pop()


def _answer(messages: list[dict], args, SamplingParams) -> str:
    """Stream the offline model's reply to the terminal; return its text."""
    from .engine import get_engine

    gen = get_engine().generate(messages, SamplingParams(temperature=args.temperature, max_tokens=args.max_tokens,
                                                         seed=args.seed))
    parts = []
    for t in gen:
        parts.append(t.text)
        print(t.text, end="", flush=True)
    print(f"\n[{gen.prompt_tokens} tokens in, {gen.completion_tokens} out, finish: {gen.finish_reason}]", flush=True)
    return "".join(parts)


def _train(args) -> int:
    if args.engine.startswith("transformer-"):  # needs torch: pip install -e '.[train]'
        from .engine.train_transformer import main as train_transformer, train_v3

        if args.engine == "transformer-v3":  # two stages: the v3 corpus, then tool use
            train_v3(args.rest)
        else:
            train_transformer(args.rest)
        return 0
    from .engine.train import main

    main(args.rest)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="llmkit", description="The LLM APIs course's helper: gateway, doctor, course.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the gateway in the foreground")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' (or set LLMKIT_API_KEY)")
    s.add_argument("--admin-key", default=None,
                   help="key for /admin/ routes such as faults (or set LLMKIT_ADMIN_KEY); without one they "
                        "answer only to this machine, and the API key never opens them")
    s.add_argument("--max-body-bytes", type=int, default=None,
                   help="largest request body accepted, in bytes (default 4 MiB, or LLMKIT_MAX_BODY_BYTES); "
                        "larger ones get a 413")
    s.add_argument("--insecure-no-key", action="store_true",
                   help="allow a non-loopback --host without an API key (anyone who can reach it can use it)")
    s.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    s.add_argument("--config", default=None, help="gateway.toml: routes to upstreams and classroom mode "
                                                   "(see docs/local-serving.md, docs/classroom.md)")
    s.add_argument("--upstream", action="append", default=[], metavar="NAME=URL",
                   help="route model NAME (or a glob like 'llama*') to URL: openai+http://HOST:PORT/v1, "
                        "ollama+http://HOST:11434, or openai|anthropic|gemini|groq (key from its variable); "
                        "repeatable, tried before the config's routes")
    s.set_defaults(func=_serve)

    d = sub.add_parser("doctor", help="which providers are live or offline, and why")
    d.add_argument("--offline", action="store_true", help="show what forcing offline would do")
    d.set_defaults(func=_doctor)

    c = sub.add_parser("course", help="start the gateway and JupyterLab on the course notebooks",
                       description="Start the gateway and JupyterLab on the course notebooks; Ctrl+C (or SIGTERM) "
                                   "stops both, and JupyterLab's kernels. Options it does not know go to "
                                   "jupyter lab (e.g. --ServerApp.port=8889).")
    c.add_argument("--root", default=".", help="folder JupyterLab serves (default: here)")
    c.add_argument("--lang", default="en", choices=("en", "es"),
                   help="the edition: en opens notebooks/00_setup.ipynb, es the Spanish notebooks/es/00_setup.ipynb")
    c.add_argument("--open", default=None,
                   help="notebook JupyterLab opens first, relative to --root (default: the edition's first lesson)")
    c.add_argument("--port", type=int, default=8000,
                   help="the gateway's port (default 8000; if it is taken, a free one is used and printed)")
    c.add_argument("--no-browser", action="store_true", help="print the address to open instead of opening a browser")
    c.set_defaults(func=_course)

    ch = sub.add_parser("chat", help="talk to the offline model in the terminal",
                        description="Ask the offline model a question, streamed to the terminal. With no question "
                                    "in a terminal: a prompt, one question per line, the conversation kept until "
                                    "Ctrl+D or 'exit'. With no question and piped input: that text is the question.")
    ch.add_argument("message", nargs="*", help="the question (its words are joined with spaces)")
    ch.add_argument("--temperature", type=float, default=0.7,
                    help="sampling temperature: 0 always picks the most likely token (default %(default)s)")
    ch.add_argument("--max-tokens", type=int, default=256,
                    help="most tokens in a reply; a longer one stops with finish 'length' (default %(default)s)")
    ch.add_argument("--seed", type=int, default=None,
                    help="seed for sampling: the same seed and question give the same reply (default: random)")
    ch.set_defaults(func=_chat)

    t = sub.add_parser("train", help="retrain an offline model from the shipped corpus")
    t.add_argument("engine", nargs="?", default="ngram-v1", choices=("ngram-v1", "transformer-v2", "transformer-v3"),
                   help="ngram-v1 (seconds), transformer-v2 (needs the [train] extra; about an hour on 2 cores) or "
                        "transformer-v3 (v2's network trained on the v3 corpus; see docs/offline-model-v3.md)")
    t.add_argument("rest", nargs=argparse.REMAINDER, help="options passed to the trainer (see its --help)")
    t.set_defaults(func=_train)

    from . import engines as _engines  # stdlib only at import time

    _engines.add_commands(sub)  # `llmkit engines list|start`, `llmkit export gguf`

    from . import classroom as _classroom  # stdlib only at import time

    _classroom.add_commands(sub)  # `llmkit classroom add|list|remove|report`

    from .widgets import standalone as _ui  # stdlib only at import time

    u = sub.add_parser("ui", help="the chat panel as a web page with no notebook code (Voilà)")
    _ui.add_arguments(u)

    args, extra = p.parse_known_args(argv)
    if extra and args.command != "course":
        p.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())

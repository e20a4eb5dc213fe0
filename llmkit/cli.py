"""The `llmkit` command: serve | doctor | course | chat | train.

    llmkit serve [--host 127.0.0.1] [--port 8000] [--api-key KEY] [--admin-key KEY] [--max-body-bytes N]
    llmkit doctor            which providers are live or offline, and why (never a key)
    llmkit course            the gateway plus JupyterLab opened on notebooks/ (Ctrl+C stops both)
    llmkit chat ["question"] the offline model in the terminal: one question, or a prompt
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path


def _serve(args) -> int:
    from .server.background import serve

    key = args.api_key or os.environ.get("LLMKIT_API_KEY") or None
    if not _is_loopback_host(args.host) and not key:
        if not args.insecure_no_key:
            print(f"llmkit serve: refusing to serve on {args.host} without an API key: anyone who can reach "
                  "this address could use the gateway and create or delete its models.\n"
                  "  Give one with --api-key KEY (or LLMKIT_API_KEY), bind 127.0.0.1, or, if you really mean "
                  "it, add --insecure-no-key.", file=sys.stderr)
            return 2
        print("=" * 72 + f"\nWARNING: serving on {args.host} WITHOUT AN API KEY (--insecure-no-key):\n"
              "anyone who can reach this address can use this gateway.\n" + "=" * 72, file=sys.stderr, flush=True)
    print(f"llmkit gateway on http://{args.host}:{args.port}  (docs at /docs; Ctrl+C stops)", flush=True)
    serve(args.host, args.port, api_key=key, log_level=args.log_level, admin_key=args.admin_key,
          max_body_bytes=args.max_body_bytes)
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
    from . import config

    env_file = config.load_dotenv_file()
    decisions = config.decide(True if args.offline else None)
    print(f"llmkit {__import__('llmkit').__version__} on Python {sys.version.split()[0]}")
    print(f".env: {env_file or 'none found (keys come from the environment only)'}")
    w = max(len(d.provider) for d in decisions)
    for d in decisions:
        print(f"  {d.provider.ljust(w)}  {'live   ' if d.live else 'offline'}  {d.why}")
    print(f"real Ollama on 127.0.0.1:11434: {'answers' if config.ollama_answers() else 'not running'}")
    sdks = []
    for mod in ("openai", "anthropic", "google.genai", "groq", "ollama"):
        from importlib import metadata

        dist = {"google.genai": "google-genai"}.get(mod, mod)
        try:
            sdks.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            sdks.append(f"{dist} MISSING")
    print("SDKs: " + ", ".join(sdks))
    try:
        from .engine import get_engine

        eng = get_engine()
        window = getattr(eng, "window", eng.context_length)
        seen = f" (the network reads the latest {window:,})" if window < eng.context_length else ""
        print(f"offline model: {eng.name}, {eng.parameters:,} parameters, context {eng.context_length:,} tokens{seen}")
    except Exception as e:  # doctor reports, never crashes
        print(f"offline model: FAILED to load ({type(e).__name__}: {e})")
        return 1
    return 0


def _course(args) -> int:
    """Gateway in the background on --port, JupyterLab in the foreground."""
    root = Path(args.root).resolve()
    env = dict(os.environ)
    gateway = subprocess.Popen([sys.executable, "-m", "llmkit", "serve", "--port", str(args.port),
                                "--log-level", "warning"], env=env)
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}",
           f"--LabApp.default_url=/lab/tree/{args.open}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    if args.no_browser:
        cmd.append("--no-browser")
    cmd += args.extra  # anything else is for jupyter lab (e.g. --ServerApp.port=8888)
    print(f"llmkit: gateway on http://127.0.0.1:{args.port}, JupyterLab on {root}", flush=True)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        gateway.send_signal(signal.SIGINT)
        try:
            gateway.wait(timeout=5)
        except subprocess.TimeoutExpired:
            gateway.kill()


def _chat(args) -> int:
    from .engine import SamplingParams, get_engine

    question = " ".join(args.message) or sys.stdin.read()
    eng = get_engine()
    gen = eng.generate([{"role": "user", "content": question}],
                       SamplingParams(temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed))
    for t in gen:
        print(t.text, end="", flush=True)
    print(f"\n[{gen.prompt_tokens} tokens in, {gen.completion_tokens} out, finish: {gen.finish_reason}]")
    return 0


def _train(args) -> int:
    if args.engine == "transformer-v2":  # needs torch: pip install -e '.[train]'
        from .engine.train_transformer import main as v2

        v2(args.rest)
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
    s.set_defaults(func=_serve)

    d = sub.add_parser("doctor", help="which providers are live or offline, and why")
    d.add_argument("--offline", action="store_true", help="show what forcing offline would do")
    d.set_defaults(func=_doctor)

    c = sub.add_parser("course", help="start the gateway and JupyterLab on the course notebooks")
    c.add_argument("--root", default=".", help="folder JupyterLab serves (default: here)")
    c.add_argument("--open", default="notebooks/00_setup.ipynb", help="what JupyterLab opens first")
    c.add_argument("--port", type=int, default=8000, help="the gateway's port")
    c.add_argument("--no-browser", action="store_true")
    c.set_defaults(func=_course)

    ch = sub.add_parser("chat", help="ask the offline model one question")
    ch.add_argument("message", nargs="*")
    ch.add_argument("--temperature", type=float, default=0.7)
    ch.add_argument("--max-tokens", type=int, default=256)
    ch.add_argument("--seed", type=int, default=None)
    ch.set_defaults(func=_chat)

    t = sub.add_parser("train", help="retrain an offline model from the shipped corpus")
    t.add_argument("engine", nargs="?", default="ngram-v1", choices=("ngram-v1", "transformer-v2"),
                   help="ngram-v1 (seconds) or transformer-v2 (needs the [train] extra; about an hour on 2 cores)")
    t.add_argument("rest", nargs=argparse.REMAINDER, help="options passed to the trainer (see its --help)")
    t.set_defaults(func=_train)

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

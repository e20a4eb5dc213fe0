"""Run a command in an environment that does not depend on the shell it was started from.

    python tools/hermetic.py [--no-dotenv] CMD ARGS...

`make test` runs each pytest pass under it (and tests/conftest.py and tools/run_notebooks.py
use its `clean()`), so the results on a learner's machine, with real keys exported, models
saved in the default data folder or the course started from a background job, are those of
a clean CI box. The command gets:

- no provider key, base URL or Ollama setting, and no LLMKIT_* setting, from the shell
  (`clean()`), and LLMKIT_OFFLINE=1; loopback never goes through an HTTP proxy;
- with --no-dotenv, no `.env` read by llmkit (LLMKIT_NO_DOTENV=1): a learner's keys file
  must not reach the stored outputs that nbval compares;
- a throw-away data folder (LLMKIT_DATA_DIR), removed afterwards;
- stdin from /dev/null and SIGINT at its default (a background job inherits it ignored);
- SIGTERM and SIGHUP passed on.

Every process started under it carries LLMKIT_TEST_RUN=<id>; when the command ends, any
that is still alive is reported, stopped (SIGTERM, then SIGKILL) and makes the exit status 1.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid

MARKER = "LLMKIT_TEST_RUN"
# what would make a run depend on the shell: provider keys and addresses, SDK settings, llmkit's own
SCRUB = re.compile(r"""^(
      .*_API_KEY | .*_AUTH_TOKEN | .*_BASE_URL
    | OPENAI_.* | ANTHROPIC_.* | GEMINI_.* | GOOGLE_GENAI_.* | GOOGLE_CLOUD_.* | GOOGLE_APPLICATION_CREDENTIALS
    | GROQ_.* | OLLAMA_.* | LLMKIT_.* | PYTHON_DOTENV_.*
)$""", re.X)
KEEP = {MARKER, "LLMKIT_BINDER_TEST_ONLINE"}  # opt-in switches of the test suite itself
LOOPBACK = "127.0.0.1,localhost,::1"


def clean(environ=os.environ) -> dict[str, str]:
    """A copy of `environ` without the shell's provider and llmkit settings; loopback bypasses proxies."""
    env = {k: v for k, v in environ.items() if k in KEEP or not SCRUB.match(k)}
    for var in ("NO_PROXY", "no_proxy"):
        env[var] = ",".join(x for x in (env.get(var), LOOPBACK) if x)
    return env


def _ancestors() -> set[int]:
    import psutil

    me = psutil.Process()
    return {me.pid} | {p.pid for p in me.parents()}


def survivors(run_id: str, extra=(), grace: float = 3.0) -> list:
    """Processes (psutil.Process) carrying MARKER=run_id, other than this one and its parents, plus
    `extra`, that are still alive after `grace` seconds (time for those already stopping to finish)."""
    import psutil

    mine = _ancestors()
    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        if proc.pid in mine or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if proc.environ().get(MARKER) == run_id:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    found += [p for p in extra if p.pid not in {f.pid for f in found}]
    _, alive = psutil.wait_procs(found, timeout=grace)
    return alive


def stop_all(procs, grace: float = 5.0) -> list[str]:
    """SIGTERM each process, SIGKILL those still alive after `grace` seconds; their command lines."""
    import psutil

    described = []
    for proc in procs:
        try:
            described.append(f"pid {proc.pid}: {' '.join(proc.cmdline())[:200]}")
            proc.terminate()
        except psutil.Error:
            pass
    from llmkit.engines_watch import kill_left  # (imports nothing heavy)

    kill_left(procs, grace)
    return described


def main(argv: list[str]) -> int:
    no_dotenv = bool(argv) and argv[0] == "--no-dotenv"
    cmd = argv[1:] if no_dotenv else argv
    if not cmd:
        print(__doc__, file=sys.stderr)
        return 2
    run_id = uuid.uuid4().hex
    data = tempfile.mkdtemp(prefix="llmkit-test-data-")
    env = clean()
    env.update({MARKER: run_id, "LLMKIT_OFFLINE": "1", "LLMKIT_DATA_DIR": data})
    if no_dotenv:
        env["LLMKIT_NO_DOTENV"] = "1"
    proc = None

    def forward(sig, _frame):
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)

    # a handler (not SIG_IGN) for SIGINT: the command starts with it at its default, so Python's
    # KeyboardInterrupt works there even in a background job; Ctrl+C reaches it from the terminal
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    try:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)
        while True:
            try:
                rc = proc.wait()
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for clarity
                continue
        left = stop_all(survivors(run_id))
    finally:
        shutil.rmtree(data, ignore_errors=True)
    if left:
        print(f"\nhermetic: {len(left)} process(es) outlived `{' '.join(cmd[:4])} ...`, now stopped:",
              *left, sep="\n  ", file=sys.stderr)
        return rc or 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

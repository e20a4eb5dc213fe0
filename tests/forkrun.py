"""Run Python scripts as `python script.py` would, each in a process of its own, forked from one that
has already imported the SDKs.

A fresh interpreter that imports openai, anthropic, groq and ollama costs about a second of CPU; the
SDK examples' test runs forty scripts, so it forks each from a server that paid that once. The child
is a new process as far as the script can tell: its own working folder (the script's), `sys.argv`,
`sys.path[0]`, stdin from /dev/null, stdout and stderr to files, `__name__ == "__main__"`, and the
exit status Python gives (1 and a traceback for an uncaught exception, SystemExit's code). Nothing it
does reaches the server or the next script.

    with ForkRunner(env) as runner:
        rc, out, err = runner.run(path, timeout=120)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PRELOAD = ("asyncio", "json", "pydantic", "httpx", "openai", "anthropic", "groq", "ollama")

_SERVER = r"""
import json, os, signal, sys
for name in sys.argv[1].split(","):
    __import__(name)
import runpy, traceback

def child(path, out, err, timeout):
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    fo, fe = os.open(out, os.O_WRONLY), os.open(err, os.O_WRONLY)
    os.dup2(fo, 1)
    os.dup2(fe, 2)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(timeout)
    folder, name = os.path.split(path)
    os.chdir(folder)
    sys.argv = [name]
    sys.path[0] = folder
    code = 0
    try:
        runpy.run_path(name, run_name="__main__")
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)

for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(job["path"], job["out"], job["err"], job["timeout"])
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class ForkRunner:
    def __init__(self, env: dict, preload: tuple[str, ...] = PRELOAD):
        self.env, self.preload = env, preload
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "ForkRunner":
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, ",".join(self.preload)], env=self.env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def run(self, path: Path, out_dir: Path, timeout: int = 120) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) of `python path.name` run in path's folder; a script still
        running after `timeout` seconds is killed (SIGALRM: status -14)."""
        out, err = out_dir / "stdout", out_dir / "stderr"
        out.write_text("")
        err.write_text("")
        job = {"path": str(Path(path).resolve()), "out": str(out), "err": str(err), "timeout": timeout}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server died (exit {self.proc.poll()})")
        return json.loads(line)["returncode"], out.read_text(), err.read_text()

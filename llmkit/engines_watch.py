"""The watchdog an engine server runs under: it dies with the process that started it.

    python -m llmkit.engines_watch PARENT_PID PARENT_START -- python -m llama_cpp.server ...

A notebook kernel that is restarted is killed with SIGKILL: nothing in it runs to stop the
llama.cpp (or vLLM, transformers) server it started, which then holds its port and memory
until someone finds it. Linux's "parent death signal" (prctl / `setpriv --pdeathsig`) does
not help here: it fires when the *thread* that forked the child ends, and lessons start
engines from short-lived background threads. So this small process sits between the two:
it starts the real server as its child, checks twice a second that the starting process is
still there (still our parent, and the same process: same start time in /proc, not a zombie,
not a new process that reused its pid), and when it is gone stops the server (SIGTERM, then
SIGKILL after a few seconds, its descendants included) and exits. SIGTERM and SIGINT sent to
the watchdog go on to the server; when the server exits, so does the watchdog, with its
status. It imports nothing heavy: it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

POLL = 0.5  # seconds between checks that the starting process is alive
GRACE = 5.0  # seconds the server gets to stop after SIGTERM before SIGKILL


def start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, /proc/PID/stat field 22), None where
    there is no /proc (macOS) or no such process: with the pid, it names one process for good."""
    stat = _stat(pid)
    return stat[19] if stat else None


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields from the third (state) on: the name before them may hold spaces."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()


def alive(pid: int, started: str | None, was_parent: bool = False) -> bool:
    """Whether process `pid`, started at `started`, still runs (a zombie does not)."""
    if was_parent and os.getppid() != pid:  # orphans are handed to init or a subreaper at once
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # there is a process, someone else's: not the one we watch
        return False
    stat = _stat(pid)
    if stat is None:  # no /proc: the pid answering is all we can know
        return True
    return stat[0] != "Z" and (started is None or stat[19] == started)


def _stop(child: subprocess.Popen, grace: float = GRACE) -> None:
    """SIGTERM to the server, SIGKILL after `grace` s to it and to whatever it started."""
    try:
        import psutil  # a dependency of ipykernel: always there with the course
        family = psutil.Process(child.pid).children(recursive=True)
    except Exception:  # no psutil, or the server is already gone
        psutil, family = None, []
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if psutil is not None:
        kill_left(family, 1)


def kill_left(family: list, timeout: float) -> None:
    """Wait up to `timeout` s for these psutil processes to end; SIGKILL those still there."""
    import psutil

    _, left = psutil.wait_procs(family, timeout=timeout)
    for p in left:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=timeout)


def _exit_status(returncode: int) -> int:
    return returncode if returncode >= 0 else 128 - returncode  # killed by signal N: 128+N, as a shell says


def watch(parent: int, started: str | None, argv: list[str]) -> int:
    """Run `argv` until it exits, a forwarded signal stops it, or `parent` is gone."""
    was_parent = os.getppid() == parent
    child: subprocess.Popen | None = None
    asked: list[tuple[int, float]] = []  # (signal, when) received and passed on

    def forward(signum, frame):
        asked.append((signum, time.monotonic()))
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    if not alive(parent, started, was_parent):  # it died while we started: start nothing
        return 1
    child = subprocess.Popen(argv)  # same stdio (the log), same process group as us
    if asked and child.poll() is None:  # a signal came before the child existed
        child.send_signal(asked[-1][0])
    while True:
        try:
            return _exit_status(child.wait(timeout=POLL))
        except subprocess.TimeoutExpired:
            pass
        if asked and time.monotonic() - asked[0][1] > 2 * GRACE:  # told to stop, and it does not
            _stop(child, grace=0)
            return _exit_status(child.wait())
        if not alive(parent, started, was_parent):
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)  # nothing may cut the stop short now
            _stop(child)
            return _exit_status(child.returncode)


def wrap(argv: list[str]) -> list[str]:
    """`argv` run under a watchdog of this process (the command line engines.start runs)."""
    me = os.getpid()
    return [sys.executable, "-m", "llmkit.engines_watch", str(me), start_time(me) or "-", "--", *argv]


def main(args: list[str]) -> int:
    if len(args) < 4 or args[2] != "--" or not args[0].isdigit():
        print("usage: python -m llmkit.engines_watch PARENT_PID PARENT_START|- -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    return watch(int(args[0]), None if args[1] == "-" else args[1], args[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Every lesson, exercise and solution notebook executes offline under papermill.

Notebooks are found by glob (notebooks/**, exercises/**, solutions/**: a new day or a
translation such as notebooks/es/ is picked up with no edit). Each runs once per test session
in a fresh kernel, with the parameter OFFLINE=True, LLMKIT_OFFLINE=1 and recognisable fake
keys in the environment: test_canary.py reads the same executions and checks that no key
reached any output. Solution notebooks run with LLMKIT_CHECKS_STRICT=1 and must show every
check Correct; exercise notebooks must run to the end with every check Not attempted (in the
notebook's language).

The executions start as soon as the tests are collected and run in the background, WORKERS at
a time, while the rest of the suite runs (tests/conftest.py puts the tests that read them last).
Each worker has a gateway process of its own, started once and handed to its kernels through
LLMKIT_GATEWAY_URL (so a kernel does not start one and load the model itself, and a fault a
notebook injects reaches no other notebook); its faults are cleared between notebooks. Each
execution's CPU (its kernel plus its gateway's work for it) and wall time are printed at the
end of the session, slowest first: figures, not a pass mark (the CI machines differ twofold in
speed; bench/notebooks.py measures the 20 s target on an idle machine). Only a notebook that
waits past LIMIT_WALL fails here.

The lesson notebooks' stored outputs are compared separately by nbval (`make test` runs
`pytest --nbval --nbval-sanitize-with notebooks/sanitize.cfg notebooks`).
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import run_notebooks  # noqa: E402

sys.path.remove(str(ROOT / "tools"))

LESSONS = run_notebooks.find(ROOT / "notebooks")
EXERCISES = run_notebooks.find(ROOT / "exercises")
SOLUTIONS = run_notebooks.find(ROOT / "solutions")
NOTEBOOKS = LESSONS + EXERCISES + SOLUTIONS
DAYS = [p.stem for p in LESSONS]

WORKERS = int(os.environ.get("LLMKIT_TEST_NOTEBOOK_WORKERS", "2"))  # kernels at once (measured: see Runs)
LIMIT_WALL = 300.0  # seconds, wall: only a notebook that waits (sleeps, hangs) fails here, however busy the machine


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def kind(path: Path) -> str:
    """'notebooks', 'exercises' or 'solutions', whatever subfolder (an edition) it is in."""
    return path.relative_to(ROOT).parts[0]


# -- one execution per notebook, shared with test_canary.py -------------------------------

# Fake keys, random per session, in each provider's own shape: no 12 characters of one can
# appear anywhere by chance.
CANARY_KEYS = {
    "OPENAI_API_KEY": "sk-proj-" + secrets.token_hex(20),
    "ANTHROPIC_API_KEY": "sk-ant-api03-" + secrets.token_hex(20),
    "GEMINI_API_KEY": "AIza" + secrets.token_hex(18),
    "GOOGLE_API_KEY": "AIza" + secrets.token_hex(18),
    "GROQ_API_KEY": "gsk_" + secrets.token_hex(20),
    "LLMKIT_API_KEY": "llmkit-" + secrets.token_hex(16),
}


# what other tests (or a setup() in this process) may have set, that a fresh kernel must not inherit
SESSION_VARIABLES = {"LLMKIT_CHECKS_STRICT", "LLMKIT_GATEWAY_URL", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL",
                     "GOOGLE_GEMINI_BASE_URL", "GROQ_BASE_URL", "OLLAMA_HOST", "LLMKIT_MODEL"}


def kernel_env() -> dict[str, str]:
    """A kernel's environment as a learner's: the session's (hermetic), the canary keys, offline forced."""
    env = {k: v for k, v in os.environ.items() if k not in SESSION_VARIABLES}
    env.update(CANARY_KEYS)
    env["LLMKIT_OFFLINE"] = "1"
    return env


def stored_duration(path: Path) -> float:
    """How long the notebook took when its outputs were stored (papermill's record); 0 for one
    stored without outputs (exercises, solutions)."""
    try:
        return float(json.loads(path.read_text())["metadata"].get("papermill", {}).get("duration") or 0)
    except (OSError, ValueError, KeyError):
        return 0.0


class GatewayProcess:
    """A gateway in a process of its own, in the kernels' environment; `log` gathers what it prints."""

    CODE = ("import sys; from llmkit.server.background import Gateway; g = Gateway().start(); "
            "print(g.url, flush=True); sys.stdin.read(); g.stop()")

    def __init__(self, env: dict[str, str], log: Path):
        import psutil

        self.log_path = log
        self.log = open(log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-c", self.CODE], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log)
        self.url = self.proc.stdout.readline().decode().strip()  # a closed stdin (our end) stops it
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError(f"the test gateway did not start: {log.read_text(errors='replace')[-2000:]}")
        self.ps = psutil.Process(self.proc.pid)
        self.read = 0

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def new_output(self) -> str:
        """What it printed since the last call."""
        with open(self.log_path, "rb") as f:
            f.seek(self.read)
            data = f.read()
        self.read += len(data)
        return data.decode(errors="replace")

    def clear_faults(self) -> None:
        """With urllib, not httpx: this runs in a background thread, and the checks tested in the
        foreground meanwhile record every httpx request sent in this process (checks/recording.py)."""
        import urllib.request

        request = urllib.request.Request(self.url + "/admin/faults", method="DELETE")
        with urllib.request.urlopen(request, timeout=60):  # a busy machine: seconds; an error raises
            pass

    def stop(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Runs:
    """Notebook executions, each done at most once, `workers` at a time, in background threads.

    Measured on the 2-core machine (docs in the report of issue 11): papermill in this process
    instead of a `python -m papermill` per notebook saves its start (~2 s CPU: nbformat's import
    alone builds a grammar), and a gateway per worker instead of one per kernel saves the
    server's import and the model's load (~1 s CPU) in each notebook."""

    def __init__(self, out_dir: Path, workers: int = WORKERS):
        self.out_dir = out_dir
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="papermill")
        self.futures: dict[Path, object] = {}
        self.lock = threading.Lock()
        self.env = kernel_env()
        self.idle: queue.SimpleQueue = queue.SimpleQueue()  # gateways not serving a notebook now
        self.gateways: list[GatewayProcess] = []

    def start(self, paths) -> None:
        """Queue `paths`, the longest first (the stored lessons' own run times): the heavy lessons then
        run at the start, beside nbval's light first days, and no long one is left for the end."""
        with self.lock:
            for path in sorted(paths, key=stored_duration, reverse=True):
                if path not in self.futures:
                    self.futures[path] = self.pool.submit(self._run, path)

    def get(self, path: Path) -> dict:
        """{'nb': executed notebook or None, 'error', 'log', 'out': output path, 'wall', 'cpu'}."""
        self.start([path])
        return self.futures[path].result()

    def _gateway(self) -> GatewayProcess:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            gw = GatewayProcess(self.env, self.out_dir / f"gateway-{len(self.gateways)}.log")
            with self.lock:
                self.gateways.append(gw)
            return gw

    def _run(self, path: Path) -> dict:
        out = self.out_dir / rel(path).replace(os.sep, "__")
        gw = self._gateway()
        try:
            env = dict(self.env, LLMKIT_GATEWAY_URL=gw.url)
            if kind(path) == "solutions":
                env["LLMKIT_CHECKS_STRICT"] = "1"
            before = gw.cpu()
            run = run_notebooks.execute(path, out, env, parameters={"OFFLINE": True})
            gateway_cpu = gw.cpu() - before
            run["log"] += gw.new_output()
        except BaseException:
            self.idle.put(gw)
            raise
        try:
            gw.clear_faults()
            self.idle.put(gw)
        except Exception:  # noqa: BLE001 - a gateway that cannot be reset serves no other notebook
            gw.stop()
        run["cpu"] = None if run["cpu"] is None else run["cpu"] + gateway_cpu
        run["nb"] = nbformat.read(out, as_version=4) if out.exists() else None
        run["out"] = out
        return run

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        for gw in self.gateways:
            gw.stop()

    def report(self) -> list[str]:
        """'wall  cpu  path' per finished execution, slowest CPU first."""
        done = [(f.result()["cpu"] or 0.0, f.result()["wall"], rel(p)) for p, f in self.futures.items()
                if f.done() and not f.cancelled() and f.exception() is None]
        return [f"{wall:6.1f}s wall {cpu:6.1f}s cpu  {name}" for cpu, wall, name in sorted(done, reverse=True)]


_runs: Runs | None = None
last_report: list[str] = []  # Runs.report() of the session's executions, for the terminal summary


def runs() -> Runs:
    """The session's executions (created on first use; tests/conftest.py starts them after collection)."""
    global _runs
    if _runs is None:
        _runs = Runs(Path(tempfile.mkdtemp(prefix="llmkit-test-notebooks-")))
    return _runs


def close_runs() -> None:
    """Stop the executions and the gateways (tests/conftest.py, at the end of the session)."""
    global _runs, last_report
    if _runs is not None:
        _runs.close()
        last_report = _runs.report()
        import shutil

        shutil.rmtree(_runs.out_dir, ignore_errors=True)
        _runs = None


def wanted(items) -> list[Path]:
    """The notebooks the collected tests will ask for, in the order they ask."""
    found = []
    for item in items:
        path = getattr(getattr(item, "callspec", None), "params", {}).get("path")
        if isinstance(path, Path) and path.suffix == ".ipynb" and "notebook_runs" in item.fixturenames \
                and path not in found:
            found.append(path)
    return found


@pytest.fixture(scope="session")
def notebook_runs(request) -> Runs:
    """The session's executions; any that this session's tests need and that has not started, starts."""
    r = runs()
    r.start(wanted(request.session.items))
    return r


def code_outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def output_text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join([output.get("ename", ""), output.get("evalue", "")] + output.get("traceback", []))
    return "\n".join(v if isinstance(v, str) else json.dumps(v) for v in output.get("data", {}).values())


KINDS = ("Correct", "Incorrect", "Not attempted", "Hint", "Solution")


def _labels() -> dict[str, str]:
    """Each check label as shown, in every language of the course -> its English kind."""
    labels = {k: k for k in KINDS}
    try:
        from llmkit import lang
    except ImportError:  # an English-only course
        return labels
    for code in lang.LANGS:
        labels.update({lang.translate(k, code): k for k in KINDS})
    return labels


def check_results(nb) -> list[tuple[str, str]]:
    """(problem, outcome) for every check shown: '[q1] Correct: ...' -> ('q1', 'Correct');
    a translated label ('[q1] Correcto: ...') gives the same."""
    labels = _labels()
    pattern = r"^\[(q\d+)\] (" + "|".join(map(re.escape, sorted(labels, key=len, reverse=True))) + "):"
    found = []
    for o in code_outputs(nb):
        text = o.get("data", {}).get("text/plain", "") if o.get("output_type") != "stream" else o.get("text", "")
        for m in re.finditer(pattern, text, re.M):
            found.append((m[1], labels[m[2]]))
    return found


# -- every notebook runs -------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=[rel(p) for p in NOTEBOOKS])
def test_notebook_executes_offline(path, notebook_runs):
    run = notebook_runs.get(path)
    assert run["nb"] is not None, run["log"][-3000:]
    errors = [output_text(o) for o in code_outputs(run["nb"]) if o.get("output_type") == "error"]
    assert not errors, "\n\n".join(errors)[-3000:]
    assert run["error"] is None, (run["error"] + "\n" + run["log"])[-3000:]
    meta = run["nb"].metadata.get("papermill", {})
    assert meta.get("exception") in (None, False)
    assert meta.get("parameters") == {"OFFLINE": True}
    assert run["wall"] <= LIMIT_WALL, f"{run['wall']:.1f} s"


def _problems(day: str) -> list[str]:
    mod = importlib.import_module(f"llmkit.checks.day{day[:2]}")
    return sorted((n for n in vars(mod) if re.fullmatch(r"q\d+", n)), key=lambda n: int(n[1:]))


def _check_cells(nb) -> list[str]:
    return [m for c in nb.cells if c.cell_type == "code"
            for m in re.findall(r"^check\.(q\d+)\.check\(\)", c.source, re.M)]


@pytest.mark.parametrize("path", SOLUTIONS, ids=[rel(p) for p in SOLUTIONS])
def test_solution_checks_are_all_correct(path, notebook_runs):
    nb = notebook_runs.get(path)["nb"]
    problems = _problems(path.stem)
    assert 3 <= len(problems) <= 5
    assert _check_cells(nb) == problems, "each problem of the day's checks module is checked once, in order"
    assert check_results(nb) == [(q, "Correct") for q in problems]


@pytest.mark.parametrize("path", EXERCISES, ids=[rel(p) for p in EXERCISES])
def test_exercise_checks_are_not_attempted(path, notebook_runs):
    nb = notebook_runs.get(path)["nb"]
    problems = _problems(path.stem)
    assert _check_cells(nb) == problems
    assert check_results(nb) == [(q, "Not attempted") for q in problems]


# -- exercises are generated from solutions --------------------------------------------------

def test_committed_exercises_are_what_the_generator_writes():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_exercises
    finally:
        sys.path.pop(0)
    stale = [rel(p) for p, text in make_exercises.planned().items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert not stale, f"run `python tools/make_exercises.py`: {stale}"
    def names(found, folder):
        return [str(p.relative_to(ROOT / folder)) for p in found]

    assert names(EXERCISES, "exercises") == names(SOLUTIONS, "solutions") == names(LESSONS, "notebooks")


def test_exercise_generation_replaces_solutions_and_comments_try_lines():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_exercises
    finally:
        sys.path.pop(0)
    source = ("def f(x):\n    \"\"\"Doc.\"\"\"\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION\n"
              "# BEGIN SOLUTION => answer = ____\nanswer = 42\n# END SOLUTION\nprint(f(1))  # try it")
    assert make_exercises.exercise_source(source) == (
        "def f(x):\n    \"\"\"Doc.\"\"\"\n    raise NotImplementedError(\"your code here\")\n"
        "answer = ____\n# print(f(1))  # try it")
    with pytest.raises(ValueError):
        make_exercises.exercise_source("for x in y:\n    print(f(x))  # try it")  # leaves an empty loop
    with pytest.raises(ValueError):
        make_exercises.exercise_source("# BEGIN SOLUTION\nx = 1\n")


# -- lesson structure --------------------------------------------------------------------------

@pytest.mark.parametrize("path", LESSONS, ids=[rel(p) for p in LESSONS])
def test_lesson_shape(path):
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    assert cells[0].cell_type == "markdown" and cells[-1].cell_type == "markdown"
    assert "parameters" in cells[1].metadata.get("tags", []) and cells[1].source.startswith("OFFLINE = None")
    assert cells[2].source.strip() == "import llmkit\nllmkit.setup(offline=OFFLINE)"
    if path.parent == ROOT / "notebooks":  # the English edition's headings (a translation has its own words)
        assert "By the end of it you will" in cells[0].source, "objectives first"
        assert any(c.cell_type == "markdown" and "## Try it" in c.source for c in cells)
        assert "## Summary" in cells[-1].source
    exercises = ROOT / "exercises" / path.relative_to(ROOT / "notebooks")
    assert f"({os.path.relpath(exercises, path.parent)})" in cells[-1].source, "the summary links the exercises"
    for cell in cells:
        assert not {"nbval-skip", "raises-exception"} & set(cell.metadata.get("tags", [])), cell.source[:80]
        if "nbval-ignore-output" in cell.metadata.get("tags", []):  # (a translation: "no son deterministas")
            assert re.search(r"non-deterministic|determinist", cell.source), \
                "only timings may skip nbval, and the cell says so"
    code = [c for c in cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "lessons are committed executed (make notebooks)"


@pytest.mark.parametrize("path", LESSONS, ids=[rel(p) for p in LESSONS])
def test_lesson_stored_outputs_show_no_unsanitized_port_or_key(path):
    """What nbval compares must be stable: every loopback address goes through sanitize.cfg's
    rules, and no stored output holds anything shaped like a real key."""
    import configparser

    rules = configparser.ConfigParser(interpolation=None)
    rules.read(ROOT / "notebooks" / "sanitize.cfg")
    nb = nbformat.read(path, as_version=4)
    for o in code_outputs(nb):
        text = output_text(o)
        for section in rules.sections():
            text = re.sub(rules[section]["regex"], rules[section]["replace"], text)
        assert not re.search(r"127\.0\.0\.1:\d", text), text[:300]
        assert not re.search(r"\b(sk-[A-Za-z0-9_-]{20,}|gsk_[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{30,})", text)

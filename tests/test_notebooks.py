"""Every lesson, exercise and solution notebook executes offline under papermill.

Each notebook runs once per test session in a fresh kernel (a `papermill` process of its
own, two at a time), with the parameter OFFLINE=True, LLMKIT_OFFLINE=1 and recognisable
fake keys in the environment: test_canary.py reads the same executions and checks that no
key reached any output. Solution notebooks run with LLMKIT_CHECKS_STRICT=1 and must show
every check Correct; exercise notebooks must run to the end with every check Not attempted.

The lesson notebooks' stored outputs are compared separately by nbval (`make test` runs
`pytest --nbval --nbval-sanitize-with notebooks/sanitize.cfg notebooks`).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import secrets
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
NOTEBOOKS = LESSONS + EXERCISES + SOLUTIONS
DAYS = [p.stem for p in LESSONS]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


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


class Runs:
    """papermill executions of notebooks, each done at most once, several at a time."""

    def __init__(self, out_dir: Path, workers: int = 2):
        self.out_dir = out_dir
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="papermill")
        self.futures: dict[Path, object] = {}
        self.lock = threading.Lock()

    def start(self, paths) -> None:
        with self.lock:
            for path in paths:
                if path not in self.futures:
                    self.futures[path] = self.pool.submit(self._run, path)

    def get(self, path: Path) -> dict:
        """{'nb': executed notebook, 'returncode', 'log', 'out': output path}."""
        self.start([path])
        return self.futures[path].result()

    def _run(self, path: Path) -> dict:
        out = self.out_dir / f"{path.parent.name}__{path.name}"
        env = {k: v for k, v in os.environ.items() if k not in SESSION_VARIABLES}  # a kernel as a learner's
        env.update(CANARY_KEYS)
        env["LLMKIT_OFFLINE"] = "1"
        if path.parent.name == "solutions":
            env["LLMKIT_CHECKS_STRICT"] = "1"
        cmd = [sys.executable, "-m", "papermill", str(path), str(out), "-p", "OFFLINE", "True", "-k", "python3",
               "--cwd", str(path.parent), "--no-progress-bar", "--execution-timeout", "120"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        nb = nbformat.read(out, as_version=4) if out.exists() else None
        return {"nb": nb, "returncode": proc.returncode, "log": proc.stdout + proc.stderr, "out": out}


_runs: Runs | None = None


@pytest.fixture(scope="session")
def notebook_runs(request, tmp_path_factory) -> Runs:
    """The session's executions; the notebooks that this session's tests need start at once."""
    global _runs
    if _runs is None:
        _runs = Runs(tmp_path_factory.mktemp("executed"))
        wanted = []
        for item in request.session.items:
            path = getattr(getattr(item, "callspec", None), "params", {}).get("path")
            if isinstance(path, Path) and path.suffix == ".ipynb" and path not in wanted:
                wanted.append(path)
        _runs.start(wanted)
    return _runs


def code_outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def output_text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join([output.get("ename", ""), output.get("evalue", "")] + output.get("traceback", []))
    return "\n".join(v if isinstance(v, str) else json.dumps(v) for v in output.get("data", {}).values())


def check_results(nb) -> list[tuple[str, str]]:
    """(problem, outcome) for every check shown: '[q1] Correct: ...' -> ('q1', 'Correct')."""
    found = []
    for o in code_outputs(nb):
        text = o.get("data", {}).get("text/plain", "") if o.get("output_type") != "stream" else o.get("text", "")
        for m in re.finditer(r"^\[(q\d+)\] (Correct|Incorrect|Not attempted|Hint|Solution):", text, re.M):
            found.append((m[1], m[2]))
    return found


# -- every notebook runs -------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=[rel(p) for p in NOTEBOOKS])
def test_notebook_executes_offline(path, notebook_runs):
    run = notebook_runs.get(path)
    assert run["nb"] is not None, run["log"][-3000:]
    errors = [output_text(o) for o in code_outputs(run["nb"]) if o.get("output_type") == "error"]
    assert not errors, "\n\n".join(errors)[-3000:]
    assert run["returncode"] == 0, run["log"][-3000:]
    meta = run["nb"].metadata.get("papermill", {})
    assert meta.get("exception") in (None, False)
    assert meta.get("parameters") == {"OFFLINE": True}


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
    assert [p.name for p in EXERCISES] == [p.name for p in SOLUTIONS] == [p.name for p in LESSONS]


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
    assert cells[0].cell_type == "markdown" and "By the end of it you will" in cells[0].source, "objectives first"
    assert "parameters" in cells[1].metadata.get("tags", []) and cells[1].source.startswith("OFFLINE = None")
    assert cells[2].source.strip() == "import llmkit\nllmkit.setup(offline=OFFLINE)"
    assert any(c.cell_type == "markdown" and "## Try it" in c.source for c in cells)
    assert cells[-1].cell_type == "markdown" and "## Summary" in cells[-1].source
    assert f"../exercises/{path.name}" in cells[-1].source
    for cell in cells:
        assert not {"nbval-skip", "raises-exception"} & set(cell.metadata.get("tags", [])), cell.source[:80]
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            assert "non-deterministic" in cell.source, "only timings may skip nbval, and the cell says so"
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

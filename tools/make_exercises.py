"""Generate the exercise notebooks from the solution notebooks, so the two never drift.

    python tools/make_exercises.py           # rewrite exercises/ (and tidy solutions/)
    python tools/make_exercises.py --check   # exit 1 if anything would change

solutions/NN_name.ipynb is the source; exercises/NN_name.ipynb is generated from it, and likewise
solutions/es/NN_name.ipynb -> exercises/es/NN_name.ipynb for the Spanish edition (EDITIONS):

- in code cells, the lines from `# BEGIN SOLUTION` to `# END SOLUTION` become one line at
  the marker's indentation: `raise NotImplementedError("your code here")`, or the text
  after `# BEGIN SOLUTION => ` when there is one (e.g. `# BEGIN SOLUTION => answer = ____`);
- a line ending in `# try it` is commented out (it calls what the learner has not written);
- cells tagged `solution-only` are left out;
- outputs, execution counts and execution metadata are cleared (in solutions/ too).
"""

from __future__ import annotations

import ast
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
EDITIONS = ["", "es"]  # "" is English (solutions/, exercises/); each other is a language's subfolder
BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?:\s*=>\s*(?P<replacement>.*))?\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
TRY = re.compile(r"^(?P<indent>\s*)(?P<code>\S.*#\s*try it\b.*)$")
PLACEHOLDER = 'raise NotImplementedError("your code here")'


def exercise_source(source: str, where: str = "") -> str:
    """A solution cell's source as the exercise shows it."""
    out: list[str] = []
    inside = False
    for n, line in enumerate(source.splitlines(), 1):
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise ValueError(f"{where} line {n}: BEGIN SOLUTION inside another")
            inside = True
            out.append(begin["indent"] + (begin["replacement"] or PLACEHOLDER).rstrip())
        elif END.match(line):
            if not inside:
                raise ValueError(f"{where} line {n}: END SOLUTION without BEGIN")
            inside = False
        elif not inside:
            m = TRY.match(line)
            out.append(f"{m['indent']}# {m['code']}" if m else line)
    if inside:
        raise ValueError(f"{where}: BEGIN SOLUTION without END")
    text = "\n".join(out)
    python = "\n".join("" if ln.lstrip().startswith(("!", "%")) else ln for ln in out)  # IPython-only lines
    try:
        compile(python, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as e:
        raise ValueError(f"{where}: the exercise's code does not compile ({e.msg}, line {e.lineno}): keep "
                         "'# try it' lines and solution blocks where removing them leaves valid code") from None
    return text


def clean(nb):
    """No outputs, no execution counts, no execution metadata: only what is authored."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        keep = {k: v for k, v in cell.metadata.items() if k in ("tags",) and v}
        cell.metadata = nbformat.NotebookNode(keep)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def exercise_notebook(solution, name: str = "notebook"):
    nb = clean(solution)
    nb.cells = [c for c in nb.cells if "solution-only" not in c.metadata.get("tags", [])]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source = exercise_source(cell.source, f"{name} cell {i}")
    return nb


def planned() -> dict[Path, str]:
    """Every file this script writes, with its content."""
    out = {}
    for edition in EDITIONS:
        for path in sorted((SOLUTIONS / edition).glob("*.ipynb")):
            solution = nbformat.read(path, as_version=4)
            out[path] = nbformat.writes(clean(solution)) + "\n"
            out[EXERCISES / edition / path.name] = nbformat.writes(exercise_notebook(solution, path.name)) + "\n"
    return out


def extra() -> list[Path]:
    """Exercise notebooks with no solution notebook to generate them from."""
    return sorted(p for e in EDITIONS for p in (EXERCISES / e).glob("*.ipynb")
                  if not (SOLUTIONS / e / p.name).exists())


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in planned().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    orphans = extra()
    for path in stale:
        print(("out of date: " if check else "wrote ") + str(path.relative_to(ROOT)))
    for path in orphans:
        print(f"no solution notebook for {path.relative_to(ROOT)}")
    return 1 if (check and stale) or orphans else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
